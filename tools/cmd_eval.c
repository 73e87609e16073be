/* cmd_eval.c — `bmnn eval` (loss, accuracy, confusion matrix) and
 * `bmnn predict` (one CSV line per sample). */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "cli.h"

/* Largest class count printed as a confusion matrix. */
#define MAX_CONFUSION_CLASSES 32

static const char eval_help[] =
    "usage: bmnn eval MODEL.json --data FILE [--labels FILE] [--json]\n\n"
    "Print the model's loss (the data loss, without regularisation) and accuracy on the\n"
    "data and, for classification, the confusion matrix (rows: true class, columns:\n"
    "predicted class). For regression the accuracy is within_tol: the fraction of\n"
    "predictions within std(y)/250 of the target.\n\n"
    "  -d, --data FILE    data (.csv, or IDX images)\n"
    "      --labels FILE  IDX label file (default: derived from the images name)\n"
    "      --json         one JSON object instead, numbers in full precision: model, data,\n"
    "                     samples, loss_function, loss, accuracy or within_tol, and\n"
    "                     confusion_matrix (classification; null past 32 classes)\n"
    "  -h, --help         this text\n";

static const char predict_help[] =
    "usage: bmnn predict MODEL.json --data FILE [-o OUT.csv]\n\n"
    "One CSV line per sample: for classification the predicted class, then the class\n"
    "probabilities; for regression the predicted values. Labels are not needed: a CSV\n"
    "with as many columns as the model has inputs is all features; one with one column\n"
    "more has the training layout, its last column (the label) ignored; any other count\n"
    "is an error. IDX: the images alone (no label file is read).\n\n"
    "  -d, --data FILE    data (.csv, or IDX images)\n"
    "      --labels FILE  accepted for old scripts and ignored: predict reads no labels\n"
    "  -o, --output FILE  write there (atomically) instead of standard output\n"
    "  -h, --help         this text\n";

typedef struct io_args {
    const char *model, *data, *labels, *out;
    int json;
} io_args;

/* Parse MODEL --data FILE [--labels FILE] [-o FILE]; -1 after --help. */
static int parse(const char *cmd, const char *help, int argc, char **argv, io_args *a)
{
    enum { O_LABELS = 256, O_JSON };
    static const struct option opts[] = {{"data", required_argument, NULL, 'd'},
                                         {"labels", required_argument, NULL, O_LABELS},
                                         {"json", no_argument, NULL, O_JSON},
                                         {"output", required_argument, NULL, 'o'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    memset(a, 0, sizeof *a);
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': a->data = optarg; break;
        case O_LABELS: /* predict reads no labels: it accepts --labels, as it did, unused */
            a->labels = optarg;
            break;
        case O_JSON:
            if (help != eval_help)
                return cli_usage_error(cmd, "--json is an option of bmnn eval");
            a->json = 1;
            break;
        case 'o': a->out = optarg; break;
        case 'h': fputs(help, stdout); return -1;
        default: return cli_usage_error(cmd, "bad option");
        }
    }
    if (optind != argc - 1)
        return cli_usage_error(cmd, "give exactly one MODEL.json");
    a->model = argv[optind];
    if (!a->data)
        return cli_usage_error(cmd, "--data FILE is required");
    return CLI_OK;
}

static size_t argmax_row(const bm_tensor *t, size_t r)
{
    size_t C = t->shape[1], best = 0;
    for (size_t j = 1; j < C; j++)
        if (bm_tensor_get(t, r * C + j) > bm_tensor_get(t, r * C + best))
            best = j;
    return best;
}

/* Predicted class of row r for a classification loss. */
static size_t predicted_class(bm_loss_kind loss, const bm_tensor *p, size_t r)
{
    if (loss == BM_LOSS_BCE && p->shape[1] == 1)
        return bm_tensor_get(p, r) > BM_BINARY_THRESHOLD;
    return argmax_row(p, r);
}

/* The confusion matrix of m on ds into *cm (K×K counts, calloc'd; rows: true class) and
 * its size into *k; *cm stays NULL for regression, or past MAX_CONFUSION_CLASSES. */
static int confusion(bm_model *m, const bm_dataset *ds, size_t **cm, size_t *k, bm_error *err)
{
    bm_loss_kind loss = bm_model_loss(m);
    *cm = NULL;
    *k = 0;
    if (cli_is_regression(m) || ds->y->rank != 1)
        return CLI_OK;
    size_t K = bm_model_n_outputs(m);
    if (loss == BM_LOSS_BCE && K == 1)
        K = 2;
    *k = K;
    if (K > MAX_CONFUSION_CLASSES)
        return CLI_OK;
    bm_tensor *p = NULL;
    if (bm_model_predict(m, ds->x, &p, err) != BM_OK)
        return cli_fail("eval", "%s", err->msg);
    if (!(*cm = calloc(K * K, sizeof **cm))) {
        bm_tensor_free(p);
        return cli_fail("eval", "out of memory");
    }
    for (size_t r = 0; r < ds->x->shape[0]; r++) {
        size_t t = (size_t)bm_tensor_get(ds->y, r), q = predicted_class(loss, p, r);
        if (t < K)
            (*cm)[t * K + q]++;
    }
    bm_tensor_free(p);
    return CLI_OK;
}

static void print_confusion(const size_t *cm, size_t K)
{
    if (!cm) {
        if (K)
            printf("(%zu classes: confusion matrix omitted)\n", K);
        return;
    }
    printf("confusion matrix (rows: true class, columns: predicted)\n      ");
    for (size_t j = 0; j < K; j++)
        printf(" %6zu", j);
    putchar('\n');
    for (size_t i = 0; i < K; i++) {
        printf("%6zu", i);
        for (size_t j = 0; j < K; j++)
            printf(" %6zu", cm[i * K + j]);
        putchar('\n');
    }
}

/* `bmnn eval --json`: one object; cJSON prints numbers so they read back exactly. */
static int print_json(const io_args *a, bm_model *m, size_t n, double loss, double acc,
                      const size_t *cm, size_t K)
{
    cJSON *o = cJSON_CreateObject(), *rows = NULL;
    int ok = o && cJSON_AddStringToObject(o, "model", a->model) &&
             cJSON_AddStringToObject(o, "data", a->data) &&
             cJSON_AddNumberToObject(o, "samples", (double)n) &&
             cJSON_AddStringToObject(o, "loss_function", bm_loss_name(bm_model_loss(m))) &&
             cJSON_AddNumberToObject(o, "loss", loss) &&
             cJSON_AddNumberToObject(o, cli_metric_name(m), acc);
    if (ok && cm) {
        ok = (rows = cJSON_AddArrayToObject(o, "confusion_matrix")) != NULL;
        for (size_t i = 0; ok && i < K; i++) {
            cJSON *row = cJSON_CreateArray();
            ok = row && cJSON_AddItemToArray(rows, row);
            for (size_t j = 0; ok && j < K; j++)
                ok = cJSON_AddItemToArray(row, cJSON_CreateNumber((double)cm[i * K + j]));
        }
    } else if (ok && !cli_is_regression(m)) {
        ok = cJSON_AddNullToObject(o, "confusion_matrix") != NULL;
    }
    char *text = ok ? cJSON_Print(o) : NULL;
    cJSON_Delete(o);
    if (!text)
        return cli_fail("eval", "out of memory writing JSON");
    puts(text);
    cJSON_free(text);
    return CLI_OK;
}

int cmd_eval(int argc, char **argv)
{
    io_args a;
    int rc = parse("eval", eval_help, argc, argv, &a);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    bm_error err = {0};
    bm_model *m = bm_model_load(a.model, NULL, &err);
    if (!m)
        return cli_fail("eval", "%s", err.msg);
    bm_dataset ds = {0};
    double loss, acc;
    size_t *cm = NULL, K = 0;
    if (cli_load_data(a.data, a.labels, m, &ds, &err) != BM_OK ||
        bm_model_evaluate(m, &ds, &loss, &acc, &err) != BM_OK) {
        rc = cli_fail("eval", "%s", err.msg);
    } else if ((rc = confusion(m, &ds, &cm, &K, &err)) == CLI_OK) {
        if (a.json) {
            rc = print_json(&a, m, ds.x->shape[0], loss, acc, cm, K);
        } else {
            printf("samples: %zu\nloss: %.6g (%s, mean over the samples)\n%s: %.4f\n",
                   ds.x->shape[0], loss, bm_loss_name(bm_model_loss(m)), cli_metric_name(m), acc);
            print_confusion(cm, K);
        }
    }
    free(cm);
    bm_dataset_free(&ds);
    bm_model_free(m);
    return rc;
}

static void write_predictions(cli_out *o, bm_loss_kind loss, const bm_tensor *p)
{
    size_t N = p->shape[0], C = p->shape[1];
    int classes = loss != BM_LOSS_MSE && loss != BM_LOSS_MAE;
    cli_out_printf(o, "%s", classes ? "class" : "");
    for (size_t j = 0; j < C; j++)
        cli_out_printf(o, "%s%s%zu", classes || j ? "," : "", classes ? "p" : "y", j);
    cli_out_printf(o, "\n");
    for (size_t r = 0; r < N; r++) {
        if (classes)
            cli_out_printf(o, "%zu", predicted_class(loss, p, r));
        for (size_t j = 0; j < C; j++)
            cli_out_printf(o, "%s%.9g", classes || j ? "," : "", bm_tensor_get(p, r * C + j));
        cli_out_printf(o, "\n");
    }
}

int cmd_predict(int argc, char **argv)
{
    io_args a;
    int rc = parse("predict", predict_help, argc, argv, &a);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    bm_error err = {0};
    bm_model *m = bm_model_load(a.model, NULL, &err);
    if (!m)
        return cli_fail("predict", "%s", err.msg);
    bm_dataset ds = {0};
    bm_tensor *p = NULL;
    rc = CLI_OK;
    if (cli_load_features(a.data, m, &ds, &err) != BM_OK ||
        bm_model_predict(m, ds.x, &p, &err) != BM_OK) {
        rc = cli_fail("predict", "%s", err.msg);
    } else {
        /* rows of the loss's view: one per sample, or per position of a sequence
         * model's output [T, classes]; the values are contiguous, so only the
         * shape changes */
        size_t T = bm_model_n_positions(m), rows = p->shape[0] * T;
        p->shape[1] = p->size / rows;
        p->shape[0] = rows;
        for (int ax = 2; ax < p->rank; ax++)
            p->shape[ax] = 1; /* unused trailing entries are 1 */
        p->rank = 2;
        cli_out o;
        rc = cli_out_open(&o, "predict", a.out);
        if (rc == CLI_OK) {
            write_predictions(&o, bm_model_loss(m), p);
            rc = cli_out_close(&o, "predict");
        }
    }
    bm_tensor_free(p);
    bm_dataset_free(&ds);
    bm_model_free(m);
    return rc;
}
