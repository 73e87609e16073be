/* cli.c — option parsing, data loading, progress display for `bmnn`. */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

/* Redraw the progress bar at most this often (seconds). */
#define PROGRESS_REDRAW_S 0.1
/* Width of the bar in characters. */
#define PROGRESS_BAR_WIDTH 24
/* Longest path we derive for an IDX label file. */
#define LABEL_PATH_MAX 4096

/* The signal that asked bmnn to stop, 0 while none did. The program's one
 * global: a signal handler can only set a volatile sig_atomic_t, and the
 * library reads it through the pointer in bm_fit_opts.stop (no globals
 * there). */
static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig) { stop_requested = sig; }

const volatile sig_atomic_t *cli_catch_stop_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND | SA_RESTART; /* a second signal kills at once */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    return &stop_requested;
}

int cli_stop_signal(void) { return (int)stop_requested; }

void cli_hold_signals(sigset_t *old)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, old);
}

void cli_release_signals(const sigset_t *old) { pthread_sigmask(SIG_SETMASK, old, NULL); }

const char *cli_signal_name(int sig) { return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "a signal"; }

int cli_fail(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bmnn %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return CLI_FAIL;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bmnn %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'bmnn %s --help'.\n", cmd);
    va_end(ap);
    return CLI_USAGE;
}

int cli_parse_uint(const char *cmd, const char *opt, const char *s, uint64_t lo, uint64_t hi,
                   uint64_t *out)
{
    /* digits only: strtoull would skip spaces and take a sign ("' -1'" is 2^64-1) */
    size_t n = s ? strspn(s, "0123456789") : 0;
    char *end = NULL;
    errno = 0;
    unsigned long long v = n && !s[n] ? strtoull(s, &end, 10) : 0;
    if (!n || s[n] || errno == ERANGE || v < lo || v > hi) {
        cli_usage_error(cmd, "%s: '%s' is not an integer in [%" PRIu64 ", %" PRIu64 "]", opt,
                        s ? s : "", lo, hi);
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

int cli_parse_double(const char *cmd, const char *opt, const char *s, double *out)
{
    char *end = NULL;
    errno = 0;
    /* strtod would skip leading spaces: refuse them as the integers do */
    double v = s && *s && !isspace((unsigned char)*s) ? strtod(s, &end) : NAN;
    if (!s || !*s || !end || *end || errno == ERANGE || !isfinite(v)) {
        cli_usage_error(cmd, "%s: '%s' is not a finite number", opt, s ? s : "");
        return -1;
    }
    *out = v;
    return 0;
}

int cli_ends_with(const char *path, const char *suffix)
{
    size_t n = strlen(path), k = strlen(suffix);
    return n >= k && strcmp(path + n - k, suffix) == 0;
}

/* Replace the last `from` in s by `to` into buf; 0 when found. */
static int replace_last(const char *s, const char *from, const char *to, char *buf, size_t len)
{
    const char *hit = NULL;
    for (const char *p = strstr(s, from); p; p = strstr(p + 1, from))
        hit = p;
    if (!hit)
        return -1;
    int n = snprintf(buf, len, "%.*s%s%s", (int)(hit - s), s, to, hit + strlen(from));
    return n > 0 && (size_t)n < len ? 0 : -1;
}

int cli_is_regression(const bm_model *m)
{
    bm_loss_kind loss = bm_model_loss(m);
    return loss == BM_LOSS_MSE || loss == BM_LOSS_MAE;
}

const char *cli_metric_name(const bm_model *m)
{
    return cli_is_regression(m) ? "within_tol" : "accuracy";
}

/* A sequence model's CSV (`bmnn data text --sequence`): F feature columns,
 * then T target columns (class numbers, one per position): x [N,F], y [N,T],
 * n_classes the output's classes. */
static bm_status load_sequence_csv(const char *path, const bm_model *m, bm_dataset *ds,
                                   bm_error *err)
{
    bm_csv_opts o = bm_csv_defaults();
    o.no_label = 1;
    bm_dataset all = {0};
    bm_status s = bm_data_load_csv(&all, path, &o, bm_model_dtype(m), err);
    if (s != BM_OK)
        return s;
    size_t N = all.x->shape[0], C = all.x->shape[1], F = bm_model_n_inputs(m);
    size_t T = bm_model_n_positions(m);
    if (C != F + T) {
        bm_dataset_free(&all);
        return bm_error_set(err, BM_ERR_SHAPE, "%s: %zu columns, but the sequence model takes "
                            "%zu features and %zu targets, one per position (write them with "
                            "`bmnn data text --sequence`)", path, C, F, T);
    }
    size_t xs[2] = {N, F}, ys[2] = {N, T};
    ds->x = bm_tensor_new(bm_model_dtype(m), 2, xs, err);
    ds->y = ds->x ? bm_tensor_new(bm_model_dtype(m), 2, ys, err) : NULL;
    if (!ds->y) {
        bm_dataset_free(&all);
        bm_dataset_free(ds);
        return err ? err->code : BM_ERR_NOMEM;
    }
    size_t esz = bm_dtype_size(bm_model_dtype(m));
    for (size_t r = 0; r < N; r++) {
        const char *row = (const char *)all.x->data + r * C * esz;
        memcpy((char *)ds->x->data + r * F * esz, row, F * esz);
        memcpy((char *)ds->y->data + r * T * esz, row + F * esz, T * esz);
    }
    ds->n_classes = bm_model_n_outputs(m) / T;
    bm_dataset_free(&all);
    return BM_OK;
}

bm_status cli_load_data(const char *path, const char *labels, const bm_model *m,
                        bm_dataset *ds, bm_error *err)
{
    if (cli_ends_with(path, ".csv") || cli_ends_with(path, ".CSV")) {
        if (bm_model_n_positions(m) > 1)
            return load_sequence_csv(path, m, ds, err);
        bm_csv_opts o = bm_csv_defaults();
        o.regression = cli_is_regression(m);
        return bm_data_load_csv(ds, path, &o, bm_model_dtype(m), err);
    }
    char derived[LABEL_PATH_MAX], tmp[LABEL_PATH_MAX];
    if (!labels) {
        if (replace_last(path, "images", "labels", tmp, sizeof tmp) != 0 ||
            replace_last(tmp, "idx3", "idx1", derived, sizeof derived) != 0)
            return bm_error_set(err, BM_ERR_ARG,
                                "%s: not a .csv file; for IDX images give --labels FILE "
                                "(or name them *images*idx3* and *labels*idx1*)",
                                path);
        labels = derived;
    }
    return bm_data_load_idx(ds, path, labels, BM_IDX_UNIT, bm_model_dtype(m), err);
}

/* The first `keep` columns of ds->x in place of it. */
static bm_status keep_columns(bm_dataset *ds, size_t keep, bm_error *err)
{
    size_t N = ds->x->shape[0], C = ds->x->shape[1], shape[2] = {N, keep};
    bm_tensor *x = bm_tensor_new(ds->x->dtype, 2, shape, err);
    if (!x)
        return err->code;
    size_t esz = bm_dtype_size(x->dtype);
    for (size_t r = 0; r < N; r++)
        memcpy((char *)x->data + r * keep * esz, (const char *)ds->x->data + r * C * esz,
               keep * esz);
    bm_tensor_free(ds->x);
    ds->x = x;
    return BM_OK;
}

bm_status cli_load_features(const char *path, const bm_model *m, bm_dataset *ds,
                            bm_error *err)
{
    if (!(cli_ends_with(path, ".csv") || cli_ends_with(path, ".CSV")))
        return bm_data_load_idx(ds, path, NULL, BM_IDX_UNIT, bm_model_dtype(m), err);
    bm_csv_opts o = bm_csv_defaults();
    o.no_label = 1;
    bm_status s = bm_data_load_csv(ds, path, &o, bm_model_dtype(m), err);
    if (s != BM_OK)
        return s;
    size_t C = ds->x->shape[1], F = bm_model_n_inputs(m);
    size_t T = bm_model_n_positions(m);
    if (C == F + (T > 1 ? T : 1))
        return keep_columns(ds, F, err); /* the training layout: the label(s) last, unused */
    if (C == F)
        return BM_OK;
    bm_dataset_free(ds);
    return bm_error_set(err, BM_ERR_SHAPE, "%s: %zu columns, but the model takes %zu features "
                        "(give %zu columns, or %zu with a label last)", path, C, F, F, F + 1);
}

int cli_out_open(cli_out *o, const char *cmd, const char *path)
{
    bm_error err = {0};
    memset(o, 0, sizeof *o);
    o->name = path ? path : "standard output";
    if (!path)
        return CLI_OK;
    cli_hold_signals(&o->held);
    if (!(o->w = bm_writer_open(path, &err))) {
        cli_release_signals(&o->held);
        return cli_fail(cmd, "%s", err.msg);
    }
    return CLI_OK;
}

void cli_out_printf(cli_out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (!o->w)
        o->failed |= vfprintf(stdout, fmt, ap) < 0;
    else
        bm_writer_vprintf(o->w, fmt, ap); /* sticky: commit reports it */
    va_end(ap);
}

int cli_out_close(cli_out *o, const char *cmd)
{
    bm_error err = {0};
    if (!o->w) {
        if (fflush(stdout) != 0 || o->failed)
            return cli_fail(cmd, "writing to standard output failed: %s", strerror(errno));
        return CLI_OK;
    }
    bm_status s = bm_writer_commit(o->w, &err);
    cli_release_signals(&o->held);
    return s == BM_OK ? CLI_OK : cli_fail(cmd, "%s", err.msg);
}

int cli_write_file(const char *cmd, const char *path, const void *data, size_t len)
{
    bm_error err = {0};
    if (!path) {
        if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0)
            return cli_fail(cmd, "writing to standard output failed: %s", strerror(errno));
        return CLI_OK;
    }
    sigset_t held;
    cli_hold_signals(&held);
    bm_status s = bm_file_write(path, data, len, &err);
    cli_release_signals(&held);
    return s == BM_OK ? CLI_OK : cli_fail(cmd, "%s", err.msg);
}

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void cli_progress_start(cli_progress *p, FILE *f, int quiet, uint64_t print_every,
                        uint64_t first_epoch, const char *metric)
{
    memset(p, 0, sizeof *p);
    p->f = f;
    p->tty = isatty(fileno(f));
    p->quiet = quiet;
    p->print_every = print_every;
    p->first_epoch = first_epoch;
    p->metric = metric ? metric : "accuracy";
    p->t0 = cli_now();
}

static void fmt_secs(double s, char *buf, size_t len)
{
    if (!isfinite(s) || s < 0)
        snprintf(buf, len, "--");
    else if (s < 60)
        snprintf(buf, len, "%.1fs", s);
    else
        snprintf(buf, len, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
}

void cli_progress_update(cli_progress *p, const bm_epoch_stats *s)
{
    if (p->quiet)
        return;
    double now = cli_now(), elapsed = now - p->t0;
    uint64_t done = s->epoch + 1 - p->first_epoch, total = s->epochs_total - p->first_epoch;
    int last = s->epoch + 1 == s->epochs_total;
    if (p->tty) {
        if (!last && now - p->last_draw < PROGRESS_REDRAW_S)
            return;
        p->last_draw = now;
        double frac = total ? (double)done / (double)total : 1.0;
        int fill = (int)(frac * PROGRESS_BAR_WIDTH);
        char el[32], eta[32];
        fmt_secs(elapsed, el, sizeof el);
        fmt_secs(done ? elapsed / (double)done * (double)(total - done) : NAN, eta, sizeof eta);
        /* epochs done over the model's lifetime / the epoch count this run ends at */
        fprintf(p->f, "\r\033[Kepoch %llu/%llu [", (unsigned long long)s->epoch + 1,
                (unsigned long long)s->epochs_total);
        for (int i = 0; i < PROGRESS_BAR_WIDTH; i++)
            fputc(i < fill ? '#' : '.', p->f);
        fprintf(p->f, "] loss %.4g %s %.3f", s->loss, p->metric, s->accuracy);
        if (!isnan(s->val_loss))
            fprintf(p->f, " val %.4g/%.3f", s->val_loss, s->val_accuracy);
        fprintf(p->f, " lr %.4g %s eta %s", s->lr, el, eta);
        fflush(p->f);
        return;
    }
    if (p->print_every && (done == 1 || last || (s->epoch % p->print_every) == 0)) {
        fprintf(p->f, "epoch: %llu, loss: %.4g, %s: %.3f, data_loss: %.4g, reg_loss: %.4g, lr: %.6g",
                (unsigned long long)s->epoch, s->loss, p->metric, s->accuracy, s->data_loss,
                s->reg_loss, s->lr);
        if (!isnan(s->val_loss))
            fprintf(p->f, ", val_loss: %.4g, val_%s: %.3f", s->val_loss, p->metric,
                    s->val_accuracy);
        fprintf(p->f, ", elapsed: %.2fs\n", elapsed);
    }
}

void cli_progress_finish(cli_progress *p)
{
    if (p->tty && !p->quiet)
        fputc('\n', p->f);
}
