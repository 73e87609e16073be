/* cmd_train.c — `bmnn train MODEL.json --data FILE ... -o OUT.json`. */
#define _GNU_SOURCE
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "plot.h"
#include "train_controls.h"
#include "train_dist.h"

/* Epochs when neither the command line nor the model file says. */
#define DEFAULT_EPOCHS 1000
/* Plain progress lines per run when --print-every is not given. */
#define DEFAULT_PRINT_LINES 10
/* Longest PREFIX-suffix file name for plots. */
#define PLOT_PATH_MAX 4096

static const char help[] =
    "usage: bmnn train MODEL.json --data FILE [options] [-o OUT.json]\n\n"
    "Train a model spec (initialised from its seed) or continue a checkpoint exactly\n"
    "where it stopped. Data is CSV (label last) or IDX images (with labels).\n\n"
    "  -d, --data FILE      training data (.csv, or IDX images)\n"
    "      --labels FILE    IDX label file for --data (default: derived from the name)\n"
    "      --val FILE       validation data (same format)\n"
    "      --val-split F    hold out the last fraction F of the training rows instead\n"
    "  -e, --epochs N       epochs to run now [the file's training.epochs left, else 1000]\n"
    "  -b, --batch B        batch size, 0 = full batch [file's, else 0]\n"
    "  -s, --seed S         re-initialise the weights from seed S (specs only)\n"
    "      --shuffle        reshuffle the rows every epoch (model RNG)\n"
    "  -p, --print-every N  a plain progress line every N epochs (when not a terminal)\n"
    "  -q, --quiet          no progress output\n"
    "  -o, --output FILE    save the trained model (atomic write)\n"
    "      --checkpoint-every N\n"
    "                       also save to the -o file (atomically) every N epochs: a\n"
    "                       checkpoint that continues exactly, to this run's end without\n"
    "                       --epochs; on NaN/Inf the last good one is kept\n"
    "      --detect-anomaly check every op's values and gradients for NaN/Inf and name\n"
    "                       the op that made the first one (slower)\n"
    "      --profile        after training, print the time per op kind, forward and\n"
    "                       backward: calls, seconds, share and GFLOP/s\n"
    "      --plan-memory    let buffers whose lifetimes do not overlap share memory\n"
    "                       (less memory, the same bits)\n"
    "  -j, --threads N      run the matrix products on N threads [1]; results are\n"
    "                       bit-identical for any N\n"
    "      --plot PREFIX    write PREFIX-loss.png and, for 2-D data, PREFIX-boundary.png\n"
    "                       (PREFIX-history.csv without cairo)\n"
    "      --plot-log       draw the loss on a log scale [when it spans 2 decades]\n"
    "      --plot-linear    draw the loss on a linear scale\n"
    "      --history FILE   write one CSV row per epoch, full precision: epoch, loss,\n"
    "                       data_loss, reg_loss, accuracy (within_tol for regression),\n"
    "                       val_loss, val_accuracy, lr, time_s (seconds since the start);\n"
    "                       also when training fails, up to its last epoch\n"
    "\nTraining controls (override the model file's optimizer; saved with the model):\n"
    "      --lr X           base learning rate of every parameter group\n"
    "      --weight-decay X weight decay of every group (L2; adamw: decoupled)\n"
    "      --clip-norm X    clip the gradients' global 2-norm to X (0: off)\n"
    "      --clip-value X   clamp each gradient to [-X, X] (0: off)\n"
    "      --schedule KIND[:key=value,...]\n"
    "                       learning-rate schedule per optimizer step: constant,\n"
    "                       step:step_size=N,gamma=G, exponential:gamma=G,\n"
    "                       cosine:t_max=N[,eta_min=E]; any with warmup_steps=N,\n"
    "                       warmup_start=F (the model file's optimizer.schedule keys)\n"
    "      --warmup N       linear warm-up over N steps (of the file's or --schedule's)\n"
    "      --early-stop N   stop after N epochs without a lower validation loss (needs\n"
    "                       --val or --val-split)\n"
    "      --best FILE      save the model of the lowest validation loss there\n"
    "                       (atomically, a checkpoint; needs --val or --val-split)\n"
    "\nData-parallel (README, \"Data-parallel training\"):\n"
    "      --shards S       split each batch into S equal shards summed by a fixed tree:\n"
    "                       mpirun -np N (N dividing S) gives the same bits [the ranks]\n"
    "      --allreduce      sum the ranks' gradients with MPI_Allreduce: faster, not\n"
    "                       bit-reproducible\n"
    "  -h, --help           this text\n";

typedef struct train_args {
    const char *model, *data, *labels, *val, *out, *plot, *history;
    plot_scale plot_scale;
    double val_split;
    train_controls ctl;
    train_dist dist;
    const char *best;
    uint64_t epochs, batch, seed, print_every, checkpoint_every, threads, early_stop;
    int has_epochs, has_batch, has_seed, quiet, shuffle, detect_anomaly, profile, plan_memory;
} train_args;

static int parse(int argc, char **argv, train_args *a)
{
    enum { O_LABELS = 256, O_VAL, O_VAL_SPLIT, O_PLOT, O_SHUFFLE, O_CHECKPOINT, O_ANOMALY,
           O_PLOT_LOG, O_PLOT_LINEAR, O_HISTORY, O_PROFILE, O_EARLY_STOP, O_BEST, O_PLAN_MEMORY };
    static const struct option opts[] = {
        {"data", required_argument, NULL, 'd'},      {"labels", required_argument, NULL, O_LABELS},
        {"val", required_argument, NULL, O_VAL},     {"val-split", required_argument, NULL, O_VAL_SPLIT},
        {"epochs", required_argument, NULL, 'e'},    {"batch", required_argument, NULL, 'b'},
        {"seed", required_argument, NULL, 's'},      {"print-every", required_argument, NULL, 'p'},
        {"quiet", no_argument, NULL, 'q'},           {"output", required_argument, NULL, 'o'},
        {"plot", required_argument, NULL, O_PLOT},   {"shuffle", no_argument, NULL, O_SHUFFLE},
        {"checkpoint-every", required_argument, NULL, O_CHECKPOINT},
        {"detect-anomaly", no_argument, NULL, O_ANOMALY},
        {"profile", no_argument, NULL, O_PROFILE},
        {"plan-memory", no_argument, NULL, O_PLAN_MEMORY},
        {"threads", required_argument, NULL, 'j'},
        {"plot-log", no_argument, NULL, O_PLOT_LOG}, {"plot-linear", no_argument, NULL, O_PLOT_LINEAR},
        {"history", required_argument, NULL, O_HISTORY},
        {"early-stop", required_argument, NULL, O_EARLY_STOP},
        {"best", required_argument, NULL, O_BEST},
        {"shards", required_argument, NULL, TD_SHARDS}, {"allreduce", no_argument, NULL, TD_ALLREDUCE},
        {"help", no_argument, NULL, 'h'}};
    enum { N_OPTS = sizeof opts / sizeof opts[0] };
    struct option all[N_OPTS + TC_N_OPTIONS + 1]; /* cmd_train's, then the controls' */
    memcpy(all, opts, sizeof opts);
    memcpy(all + N_OPTS, train_control_options, sizeof all - sizeof opts);
    int c;
    memset(a, 0, sizeof *a);
    optind = 1;
    a->threads = 1;
    while ((c = getopt_long(argc, argv, "d:e:b:s:p:qo:j:h", all, NULL)) != -1) {
        switch (c) {
        case 'd': a->data = optarg; break;
        case O_LABELS: a->labels = optarg; break;
        case O_VAL: a->val = optarg; break;
        case O_VAL_SPLIT:
            if (cli_parse_double("train", "--val-split", optarg, &a->val_split))
                return CLI_USAGE;
            break;
        case 'e':
            if (cli_parse_uint("train", "--epochs", optarg, 0, BM_MODEL_MAX_INT, &a->epochs))
                return CLI_USAGE;
            a->has_epochs = 1;
            break;
        case 'b':
            if (cli_parse_uint("train", "--batch", optarg, 0, BM_MODEL_MAX_INT, &a->batch))
                return CLI_USAGE;
            a->has_batch = 1;
            break;
        case 's':
            if (cli_parse_uint("train", "--seed", optarg, 0, BM_MODEL_MAX_INT, &a->seed))
                return CLI_USAGE;
            a->has_seed = 1;
            break;
        case 'p':
            if (cli_parse_uint("train", "--print-every", optarg, 0, BM_MODEL_MAX_INT, &a->print_every))
                return CLI_USAGE;
            break;
        case 'q': a->quiet = 1; break;
        case 'o': a->out = optarg; break;
        case O_PLOT: a->plot = optarg; break;
        case O_PLOT_LOG: a->plot_scale = PLOT_SCALE_LOG; break;
        case O_PLOT_LINEAR: a->plot_scale = PLOT_SCALE_LINEAR; break;
        case O_HISTORY: a->history = optarg; break;
        case O_SHUFFLE: a->shuffle = 1; break;
        case O_CHECKPOINT:
            if (cli_parse_uint("train", "--checkpoint-every", optarg, 1, BM_MODEL_MAX_INT,
                               &a->checkpoint_every))
                return CLI_USAGE;
            break;
        case O_ANOMALY: a->detect_anomaly = 1; break;
        case O_PROFILE: a->profile = 1; break;
        case O_PLAN_MEMORY: a->plan_memory = 1; break;
        case 'j':
            if (cli_parse_uint("train", "--threads", optarg, 1, BM_MAX_THREADS, &a->threads))
                return CLI_USAGE;
            break;
        case O_EARLY_STOP:
            if (cli_parse_uint("train", "--early-stop", optarg, 1, BM_MODEL_MAX_INT, &a->early_stop))
                return CLI_USAGE;
            if (a->early_stop == 0)
                return cli_usage_error("train", "--early-stop must be at least 1");
            break;
        case O_BEST: a->best = optarg; break;
        case TC_LR: case TC_WEIGHT_DECAY: case TC_CLIP_NORM: case TC_CLIP_VALUE:
        case TC_SCHEDULE: case TC_WARMUP:
            if (train_controls_take(&a->ctl, c, optarg))
                return CLI_USAGE;
            break;
        case TD_SHARDS: case TD_ALLREDUCE:
            if (train_dist_take(&a->dist, c, optarg))
                return CLI_USAGE;
            break;
        case 'h': fputs(help, stdout); return -1;
        default: return cli_usage_error("train", "bad option");
        }
    }
    if (optind != argc - 1)
        return cli_usage_error("train", "give exactly one MODEL.json");
    a->model = argv[optind];
    if (!a->data)
        return cli_usage_error("train", "--data FILE is required");
    if (a->val && a->val_split > 0)
        return cli_usage_error("train", "--val and --val-split exclude each other");
    if ((a->early_stop || a->best) && !a->val && !(a->val_split > 0))
        return cli_usage_error("train", "%s needs validation data: --val FILE or --val-split F",
                               a->early_stop ? "--early-stop" : "--best");
    if (a->best && a->out && strcmp(a->best, a->out) == 0)
        return cli_usage_error("train", "--best and -o name the same file, %s", a->best);
    if (a->checkpoint_every && !a->out)
        return cli_usage_error("train", "--checkpoint-every needs -o FILE to save to");
    if (!(a->val_split >= 0 && a->val_split < 1))
        return cli_usage_error("train", "--val-split %g must be in [0, 1)", a->val_split);
    return CLI_OK;
}

typedef struct train_ctx {
    cli_progress progress;
    plot_history history;
    int history_failed;
    /* --checkpoint-every: save m to path every `every` epochs of this run */
    bm_model *m;
    const char *path;
    uint64_t every, start;
    bm_train_settings set;     /* the file's "training": epochs = this run's end */
    uint64_t saved_epoch;      /* epochs in the last checkpoint written (0 = none) */
    double t0;                 /* cli_now() when training started */
    const char *best_path;     /* --best FILE */
    uint64_t best_epoch;       /* epochs in the best model (0 = none yet) */
    double best_val;           /* its validation loss */
    int best_failed;           /* save_err is from saving --best FILE */
    bm_error save_err;         /* why a checkpoint failed (code BM_OK: none did) */
} train_ctx;

static int on_epoch(void *ud, const bm_epoch_stats *s)
{
    train_ctx *c = ud;
    cli_progress_update(&c->progress, s);
    if (!c->history_failed && plot_history_push_at(&c->history, s, cli_now() - c->t0) != 0)
        c->history_failed = 1;
    /* bm_model_epoch(m) already counts epoch s->epoch: the file resumes after it */
    uint64_t done = bm_model_epoch(c->m);
    if (c->every && (done - c->start) % c->every == 0) {
        if (bm_model_save(c->m, c->path, &c->set, &c->save_err) != BM_OK)
            return 1; /* stop: cmd_train reports it */
        c->saved_epoch = done;
    }
    return 0;
}

/* A new lowest validation loss: save the model to --best FILE. */
static int on_best(void *ud, const bm_epoch_stats *s)
{
    train_ctx *c = ud;
    c->best_epoch = bm_model_epoch(c->m);
    c->best_val = s->val_loss;
    if (c->best_path && bm_model_save(c->m, c->best_path, &c->set, &c->save_err) != BM_OK) {
        c->best_failed = 1;
        return 1; /* stop: cmd_train reports it */
    }
    return 0;
}

/* The run was stopped by SIGINT/SIGTERM: say what is on disk; returns
 * CLI_SIGNAL_BASE + the signal. Nothing is saved now: the model is between
 * two checkpoints (bm_model_fit). */
static int interrupted(const train_args *a, const train_ctx *c, uint64_t epoch)
{
    int sig = cli_stop_signal();
    const char *why = cli_signal_name(sig);
    if (c->saved_epoch)
        cli_fail("train", "interrupted by %s in epoch %llu; kept the last checkpoint %s (epoch %llu)",
                 why, (unsigned long long)epoch, a->out, (unsigned long long)c->saved_epoch);
    else
        cli_fail("train", "interrupted by %s in epoch %llu; nothing was saved%s", why,
                 (unsigned long long)epoch, a->out ? " (no checkpoint was due yet)" : "");
    return CLI_SIGNAL_BASE + sig;
}

/* --history FILE: the epochs so far as CSV; returns CLI_OK or CLI_FAIL (message printed). */
static int write_history(const char *path, const train_ctx *c)
{
    char err[BM_ERR_LEN];
    if (c->history_failed)
        return cli_fail("train", "out of memory keeping the history for %s", path);
    if (plot_curves_csv(path, &c->history, err, sizeof err) != 0)
        return cli_fail("train", "%s", err);
    printf("wrote %s\n", path);
    return CLI_OK;
}

/* Write the plots for PREFIX; returns CLI_OK or CLI_FAIL. */
static int write_plots(const char *prefix, plot_scale scale, const train_ctx *c, bm_model *m,
                       const bm_dataset *train)
{
    char path[PLOT_PATH_MAX], err[BM_ERR_LEN];
    if (c->history_failed)
        return cli_fail("train", "out of memory keeping the history for plots");
    if (!plot_available()) {
        snprintf(path, sizeof path, "%s-history.csv", prefix);
        if (plot_curves_csv(path, &c->history, err, sizeof err) != 0)
            return cli_fail("train", "%s", err);
        printf("built without cairo: no PNG plots; wrote the curves to %s\n", path);
        return CLI_OK;
    }
    snprintf(path, sizeof path, "%s-loss.png", prefix);
    if (plot_curves_png(path, &c->history, scale, err, sizeof err) != 0)
        return cli_fail("train", "%s", err);
    printf("wrote %s\n", path);
    if (train->x->shape[1] == 2 && train->n_classes >= 2) {
        double loss, acc;
        bm_error e = {0};
        char title[96];
        if (bm_model_evaluate(m, train, &loss, &acc, &e) != BM_OK)
            return cli_fail("train", "%s", e.msg);
        snprintf(title, sizeof title, "decision regions (training accuracy %.3f)", acc);
        snprintf(path, sizeof path, "%s-boundary.png", prefix);
        if (plot_boundary_png(path, m, train, title, err, sizeof err) != 0)
            return cli_fail("train", "%s", err);
        printf("wrote %s\n", path);
    }
    return CLI_OK;
}

int cmd_train(int argc, char **argv)
{
    train_args a;
    int rc = parse(argc, argv, &a);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    int rank = train_dist_begin(&a.dist); /* under mpirun: rank 0 alone prints and saves */
    if (rank < 0)
        return train_dist_end(&a.dist, CLI_FAIL);
    if (rank > 0) {
        a.out = a.best = a.history = a.plot = NULL;
        a.checkpoint_every = 0;
        a.quiet = 1;
    }
    bm_error err = {0};
    bm_train_settings set;
    memset(&set, 0, sizeof set);
    bm_model *m = bm_model_load(a.model, &set, &err);
    if (!m)
        return cli_fail("train", "%s", err.msg);
    if (bm_model_set_threads(m, (int)a.threads, &err) != BM_OK) {
        bm_model_free(m);
        return cli_fail("train", "%s", err.msg);
    }
    bm_dataset train = {0}, val = {0};
    train_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    rc = CLI_FAIL;
    uint64_t start = bm_model_epoch(m);
    if (a.has_seed) {
        if (start > 0) {
            cli_fail("train", "%s is a checkpoint at epoch %llu: --seed would discard it",
                     a.model, (unsigned long long)start);
            goto out;
        }
        if (bm_model_reset_params(m, a.seed, &err) != BM_OK)
            goto fail;
        set.seed = a.seed;
        set.has_seed = 1;
    }
    if (train_controls_apply(&a.ctl, m, &err) != BM_OK)
        goto fail;
    uint64_t epochs = a.has_epochs ? a.epochs
                      : set.has_epochs ? (set.epochs > start ? set.epochs - start : 0)
                                       : DEFAULT_EPOCHS;
    if (epochs > BM_MODEL_MAX_INT - start) { /* the epoch counter must stay saveable */
        rc = cli_usage_error("train", "--epochs %llu: %s is at epoch %llu, and a model file "
                             "counts at most 2^53 epochs", (unsigned long long)epochs, a.model,
                             (unsigned long long)start);
        goto out;
    }
    if (cli_load_data(a.data, a.labels, m, &train, &err) != BM_OK ||
        (a.val && cli_load_data(a.val, NULL, m, &val, &err) != BM_OK))
        goto fail;
    bm_fit_opts fo = bm_fit_defaults();
    fo.epochs = epochs;
    fo.batch_size = a.has_batch ? (size_t)a.batch : set.has_batch_size ? set.batch_size : 0;
    fo.shuffle = a.shuffle;
    fo.val = a.val ? &val : NULL;
    fo.val_split = a.val_split;
    fo.detect_anomaly = a.detect_anomaly;
    fo.profile = a.profile;
    fo.plan_memory = a.plan_memory;
    fo.callback = on_epoch;
    fo.callback_ud = &ctx;
    fo.early_stop = a.early_stop;
    if (a.early_stop || a.best) {
        fo.on_best = on_best;
        fo.on_best_ud = &ctx;
    }
    ctx.best_path = a.best;
    fo.stop = cli_catch_stop_signals(); /* until the end: saves finish, then we exit */
    ctx.m = m;
    ctx.path = a.out;
    ctx.every = a.checkpoint_every;
    ctx.start = start;
    ctx.set = set;
    ctx.set.epochs = start + epochs; /* a checkpoint without --epochs runs to this end */
    ctx.set.has_epochs = 1;
    ctx.set.batch_size = fo.batch_size;
    ctx.set.has_batch_size = 1;
    uint64_t every = a.print_every ? a.print_every
                                   : (epochs / DEFAULT_PRINT_LINES ? epochs / DEFAULT_PRINT_LINES : 1);
    const char *metric = cli_metric_name(m);
    ctx.history.metric = metric;
    if (epochs == 0 && !a.has_epochs)
        printf("no epochs left to train: %s is at epoch %llu, its training.epochs; "
               "give --epochs N to train further\n",
               a.model, (unsigned long long)start);
    else if (epochs == 0)
        printf("--epochs 0: nothing trained (%s stays at epoch %llu)\n", a.model,
               (unsigned long long)start);
    cli_progress_start(&ctx.progress, stderr, a.quiet, every, start, metric);
    ctx.t0 = cli_now();
    bm_status s = train_dist_fit(&a.dist, m, &train, &fo, &err);
    cli_progress_finish(&ctx.progress);
    if (s != BM_OK && a.history && ctx.history.n) /* the epochs up to a failure, to look at */
        write_history(a.history, &ctx);
    if (ctx.save_err.code != BM_OK) {
        rc = cli_fail("train", "%s at epoch %llu: %s", ctx.best_failed ? "best model" : "checkpoint",
                      (unsigned long long)bm_model_epoch(m), ctx.save_err.msg);
        goto out;
    }
    if (s == BM_ERR_INTERRUPTED) {
        rc = interrupted(&a, &ctx, bm_model_epoch(m));
        goto out;
    }
    if (s == BM_ERR_NUMERIC && a.checkpoint_every) { /* keep the last good file */
        if (ctx.saved_epoch)
            rc = cli_fail("train", "%s; kept the last good checkpoint %s (epoch %llu); the "
                          "diverged model was not saved", err.msg, a.out,
                          (unsigned long long)ctx.saved_epoch);
        else
            rc = cli_fail("train", "%s; no checkpoint was written (none was due yet)", err.msg);
        goto out;
    }
    if (s != BM_OK)
        goto fail;
    double loss = NAN, acc = NAN;
    if (bm_model_evaluate(m, &train, &loss, &acc, &err) != BM_OK)
        goto fail;
    uint64_t done = bm_model_epoch(m) - start;
    if (done)
        printf("trained epochs %llu..%llu (%llu) in %.2fs\n", (unsigned long long)start,
               (unsigned long long)bm_model_epoch(m) - 1, (unsigned long long)done,
               cli_now() - ctx.t0);
    if (a.early_stop && done < epochs)
        printf("early stop: val_loss did not fall below %.6g (epoch %llu) for %llu epochs\n",
               ctx.best_val, (unsigned long long)ctx.best_epoch - 1,
               (unsigned long long)a.early_stop);
    if (a.best && ctx.best_epoch)
        printf("saved %s: the lowest val_loss, %.6g, after epoch %llu\n", a.best, ctx.best_val,
               (unsigned long long)ctx.best_epoch - 1);
    /* not the epoch lines' loss: that one averages the batches as they trained */
    printf("final model on the training set: data loss %.6g, %s %.4f (evaluation mode: "
           "after the last update, no dropout, no regularisation term)\n",
           loss, metric, acc);
    if (a.profile && bm_model_profile_print(m, stdout) != BM_OK) {
        rc = cli_fail("train", "could not print the profile");
        goto out;
    }
    set.epochs = bm_model_epoch(m);
    set.has_epochs = 1;
    set.batch_size = fo.batch_size;
    set.has_batch_size = 1;
    if (a.out) {
        if (bm_model_save(m, a.out, &set, &err) != BM_OK)
            goto fail;
        printf("saved %s\n", a.out);
    }
    if (a.history && write_history(a.history, &ctx) != CLI_OK)
        goto out;
    rc = a.plot ? write_plots(a.plot, a.plot_scale, &ctx, m, &train) : CLI_OK;
    if (rc == CLI_OK && cli_stop_signal()) { /* it came after the last step: all is saved */
        cli_fail("train", "interrupted by %s after training finished%s%s",
                 cli_signal_name(cli_stop_signal()), a.out ? "; saved " : "", a.out ? a.out : "");
        rc = CLI_SIGNAL_BASE + cli_stop_signal();
    }
    goto out;
fail:
    rc = cli_fail("train", "%s", err.msg);
out:
    plot_history_free(&ctx.history);
    bm_dataset_free(&train);
    bm_dataset_free(&val);
    bm_model_free(m);
    return train_dist_end(&a.dist, rc);
}
