/* cli.h — helpers shared by the `bmnn` subcommands (tools/ only). */
#ifndef BM_CLI_H
#define BM_CLI_H

#include <stdint.h>
#include <stdio.h>

#include <bmnn.h>

/* Exit statuses of every subcommand. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

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
/* Parse a non-negative integer option value; 0 on success, -1 (message
 * printed) when it is not one. */
int cli_parse_u64(const char *cmd, const char *opt, const char *s, uint64_t *out);
/* Parse a finite number. */
int cli_parse_double(const char *cmd, const char *opt, const char *s, double *out);
/* Load a data set for model m: CSV by extension ".csv", else IDX images
 * (labels from `labels`, or the images path with "images" -> "labels" and
 * "idx3" -> "idx1"). Regression targets when the model's loss is mse/mae. */
bm_status cli_load_data(const char *path, const char *labels, const bm_model *m,
                        bm_dataset *ds, bm_error *err);
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
