/* cli.h — helpers shared by the `bmnn` subcommands (tools/ only). */
#ifndef BM_CLI_H
#define BM_CLI_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include <bmnn.h>

/* Exit statuses of every subcommand. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };
/* A run stopped by signal S exits with CLI_SIGNAL_BASE + S (130 SIGINT, 143 SIGTERM). */
enum { CLI_SIGNAL_BASE = 128 };

/* One subcommand: `bmnn NAME ...`. */
typedef struct cli_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
} cli_command;

/* Print "bmnn CMD: message" to stderr; returns CLI_FAIL. */
int cli_fail(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Print "bmnn CMD: message" and a hint to run --help; returns CLI_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* The one parser of integer option values: decimal digits only (no space,
 * sign or prefix), no overflow, within [lo, hi]; 0 on success, -1 with the
 * usage message printed ("--epochs: ' -1' is not an integer in [0, ...]"). */
int cli_parse_uint(const char *cmd, const char *opt, const char *s, uint64_t lo, uint64_t hi,
                   uint64_t *out);
/* Parse a finite number (no leading space, no trailing text, no overflow);
 * the caller checks its range before any work starts. */
int cli_parse_double(const char *cmd, const char *opt, const char *s, double *out);
/* Load a data set for model m: CSV by extension ".csv", else IDX images
 * (labels from `labels`, or the images path with "images" -> "labels" and
 * "idx3" -> "idx1"). Regression targets when the model's loss is mse/mae. */
bm_status cli_load_data(const char *path, const char *labels, const bm_model *m,
                        bm_dataset *ds, bm_error *err);
/* Load features to predict on for model m into ds (y NULL): a CSV of
 * exactly the model's inputs columns, or of one more (a label last,
 * dropped; a sequence model's T target columns likewise); IDX images alone
 * (no label file read). */
bm_status cli_load_features(const char *path, const bm_model *m, bm_dataset *ds,
                            bm_error *err);

/* Where a command's output goes: the file named by -o, written through the
 * library's atomic writer (bm_file.h), or standard output when there is none. */
typedef struct cli_out {
    bm_writer *w; /* the file's writer, NULL for standard output */
    const char *name;
    int failed;   /* a write to standard output failed */
    sigset_t held; /* the signal mask before cli_hold_signals */
} cli_out;

/* Start the output to path (NULL: standard output); CLI_OK or CLI_FAIL
 * with the message printed. */
int cli_out_open(cli_out *o, const char *cmd, const char *path);
/* printf to the output (a failure is sticky and reported by cli_out_close). */
void cli_out_printf(cli_out *o, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Finish: commit the file (or flush standard output); CLI_OK, or CLI_FAIL
 * with the reason printed; the old file is kept on failure. */
int cli_out_close(cli_out *o, const char *cmd);
/* Write len bytes to path atomically, or to standard output when path is
 * NULL; CLI_OK or CLI_FAIL with the reason printed. */
int cli_write_file(const char *cmd, const char *path, const void *data, size_t len);

/* From now on SIGINT and SIGTERM only set a flag (the one returned, for
 * bm_fit_opts.stop) that the training loop polls before every step, so an
 * interrupted run finishes or removes the file it is writing and keeps its
 * last checkpoint. A second signal kills at once (SA_RESETHAND). */
const volatile sig_atomic_t *cli_catch_stop_signals(void);
/* The signal that asked to stop (0 while none did). */
int cli_stop_signal(void);
/* Hold SIGINT and SIGTERM back while a file is written (outside `train`,
 * whose handler waits for the write anyway), so a signal cannot leave its
 * temporary behind; old gets the mask to give back to cli_release_signals,
 * after which a held signal acts as usual. */
void cli_hold_signals(sigset_t *old);
void cli_release_signals(const sigset_t *old);
/* "SIGINT" or "SIGTERM". */
const char *cli_signal_name(int sig);

/* Is the model's loss a regression loss (mse, mae)? */
int cli_is_regression(const bm_model *m);
/* The name of the model's accuracy figure in lines, CSV and JSON: "accuracy", or for
 * regression "within_tol" (the fraction of predictions within std(y)/250 of the target,
 * the walk-through's regression accuracy; bm_accuracy). */
const char *cli_metric_name(const bm_model *m);
/* Seconds since an arbitrary start (monotonic). */
double cli_now(void);
/* Does path end with suffix? */
int cli_ends_with(const char *path, const char *suffix);

int cmd_data(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_gradcheck(int argc, char **argv);
int cmd_dot(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_layers(int argc, char **argv);
int cmd_convert(int argc, char **argv);

/* Progress of a training run: a bar on a terminal, plain lines otherwise. */
typedef struct cli_progress {
    FILE *f;
    int tty;
    int quiet;
    uint64_t print_every;
    uint64_t first_epoch;
    const char *metric; /* cli_metric_name */
    double t0, last_draw;
} cli_progress;

/* Start reporting to f (stderr for the bar); metric names the accuracy figure. */
void cli_progress_start(cli_progress *p, FILE *f, int quiet, uint64_t print_every,
                        uint64_t first_epoch, const char *metric);
/* Report one epoch. */
void cli_progress_update(cli_progress *p, const bm_epoch_stats *s);
/* End the bar's line. */
void cli_progress_finish(cli_progress *p);

#endif
