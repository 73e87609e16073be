/* cmd_gradcheck.c — `bmnn gradcheck [--op NAME | --all] [--model MODEL.json]`:
 * a table per op example, or per parameter of a whole model on a small batch. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Rows of the batch a model is checked on. */
#define DEFAULT_CHECK_BATCH 4
/* Parameters larger than this are checked by random projections. */
#define EXHAUSTIVE_LIMIT 4096
/* Tolerances of --order 2 (differences of an exact first gradient). */
#define SECOND_ORDER_ATOL 1e-5
#define SECOND_ORDER_RTOL 1e-4
/* Seed of the random batch when no --data is given. */
#define CHECK_SEED 2024

static const char help[] =
    "usage: bmnn gradcheck [--op NAME | --all] [--model MODEL.json [--data FILE] [--batch N]]\n"
    "                      [--order 1|2]\n\n"
    "Compare every gradient with central differences in f64 and print a table: max\n"
    "absolute error, max relative error, pass/fail. Exit status 1 on any failure.\n\n"
    "      --op NAME      the built-in examples of one op (see --list)\n"
    "      --all          every op in ops.def (the default)\n"
    "      --list         list the ops\n"
    "  -m, --model FILE   instead, every parameter of this model (converted to f64)\n"
    "  -d, --data FILE    the model's batch: the first rows of this data [random]\n"
    "  -b, --batch N      rows in the model's batch [4]\n"
    "      --order N      1: first derivatives; 2: also second derivatives\n"
    "                     (gradgradcheck) [1]\n"
    "  -h, --help         this text\n";

static void print_header(const char *what)
{
    printf("%-20s %-20s %-11s %12s %12s  %s\n", what, "shape", "mode", "max abs err",
           "max rel err", "result");
}

static void print_row(const char *name, const char *shape, const char *mode,
                      const bm_gradcheck_result *r)
{
    printf("%-20s %-20s %-11s %12.3e %12.3e  %s\n", name, shape, mode, r->max_abs_err,
           r->max_rel_err, r->passed ? "pass" : "FAIL");
    if (!r->passed)
        printf("  -> %s\n", r->message);
}

static int check_ops(const char *name, int order)
{
    bm_error err = {0};
    size_t n = 0;
    if (bm_op_selfcheck(name, order, NULL, 0, &n, &err) != BM_OK)
        return cli_usage_error("gradcheck", "%s", err.msg);
    bm_op_check *res = calloc(n, sizeof *res);
    if (!res)
        return cli_fail("gradcheck", "out of memory");
    int rc = CLI_OK;
    if (bm_op_selfcheck(name, order, res, n, &n, &err) != BM_OK) {
        rc = cli_fail("gradcheck", "%s", err.msg);
    } else {
        size_t failed = 0;
        print_header("op");
        for (size_t i = 0; i < n; i++) {
            print_row(res[i].op, res[i].shapes, "exhaustive", &res[i].exhaustive);
            print_row("", "", "projection", &res[i].projection);
            if (order == 2)
                print_row("", "", "2nd order", &res[i].second);
            failed += !res[i].passed;
        }
        printf("%zu examples of %s (order %d): %zu passed, %zu failed\n", n,
               name ? name : "every op", order, n - failed, failed);
        rc = failed ? CLI_FAIL : CLI_OK;
    }
    free(res);
    return rc;
}

/* Fill a random batch: features N(0,1), targets fitting the loss. */
static void random_batch(bm_model *m, bm_tensor *x, bm_tensor *y)
{
    bm_rng r;
    bm_rng_seed(&r, CHECK_SEED);
    for (size_t i = 0; i < x->size; i++)
        bm_tensor_set(x, i, bm_rng_normal(&r));
    bm_loss_kind loss = bm_model_loss(m);
    size_t K = bm_model_n_outputs(m) / bm_model_n_positions(m);
    for (size_t i = 0; i < y->size; i++) {
        double v = loss == BM_LOSS_MSE || loss == BM_LOSS_MAE ? bm_rng_normal(&r)
                   : loss == BM_LOSS_BCE                      ? (double)(bm_rng_next(&r) & 1)
                                                              : (double)bm_rng_below(&r, K);
        bm_tensor_set(y, i, v);
    }
}

static int check_model(const char *path, const char *data, uint64_t batch, int order)
{
    bm_error err = {0};
    bm_model *m = bm_model_load(path, NULL, &err), *c = NULL;
    bm_tape *t = NULL;
    bm_dataset ds = {0};
    int rc = CLI_FAIL;
    if (!m || !(c = bm_model_clone(m, BM_F64, &err)))
        goto fail;
    /* the data must fit the model as for training (the same check): a row
     * shorter than the model's inputs would be read past its end */
    if (data && (cli_load_data(data, NULL, c, &ds, &err) != BM_OK ||
                 bm_model_check_data(c, &ds, data, &err) != BM_OK))
        goto fail;
    size_t B = (size_t)batch;
    if (data && ds.x->shape[0] < B)
        B = ds.x->shape[0];
    bm_loss_kind loss = bm_model_loss(c);
    /* class numbers [B] for cce/softmax_cce, unless the data has one-hot rows */
    int labels = (loss == BM_LOSS_CCE || loss == BM_LOSS_SOFTMAX_CCE) && !(data && ds.y->rank == 2);
    size_t T = bm_model_n_positions(c);
    size_t xs[2] = {B, bm_model_n_inputs(c)}, ys[2] = {B, T > 1 ? T : bm_model_n_outputs(c)};
    t = bm_tape_new();
    bm_tensor *x = t ? bm_tape_leaf(t, BM_F64, 2, xs, 0) : NULL;
    bm_tensor *y = x ? bm_tape_leaf(t, BM_F64, labels && T == 1 ? 1 : 2, ys, 0) : NULL;
    if (!y) {
        bm_error_set(&err, BM_ERR_NOMEM, "out of memory for the batch");
        goto fail;
    }
    if (data) {
        memcpy(x->data, ds.x->data, x->size * sizeof(double));
        for (size_t i = 0; i < y->size; i++)
            bm_tensor_set(y, i, bm_tensor_get(ds.y, i));
    } else {
        random_batch(c, x, y);
    }
    bm_tensor *out = bm_model_record(c, t, x, y, 1, NULL);
    if (!out) {
        bm_error_set(&err, bm_tape_status(t), "%s", bm_tape_error(t));
        goto fail;
    }
    size_t failed = 0, checked = 0;
    print_header("parameter");
    for (size_t i = 0; i < bm_model_n_layers(c); i++) {
        size_t np = bm_model_node_shares(c, i) ? 0 : bm_model_node_n_params(c, i);
        bm_tensor *p[BM_LAYER_MAX_PARAMS];
        size_t n = 0;
        for (size_t k = 0; k < np; k++) /* the trained ones (no state) */
            if (bm_model_node_param_desc(c, i, k)->role != BM_ROLE_STATE)
                p[n++] = bm_model_node_param(c, i, k);
        for (size_t k = 0; k < n; k++) {
            bm_gradcheck_opts o = bm_gradcheck_defaults();
            bm_gradcheck_result r;
            char shp[32];
            if (p[k]->size > EXHAUSTIVE_LIMIT)
                o.mode = BM_GRADCHECK_PROJECTION;
            if (bm_gradcheck(t, out, &p[k], 1, &o, &r) != BM_OK) {
                bm_error_set(&err, BM_ERR_STATE, "%s: %s", p[k]->name, r.message);
                goto fail;
            }
            print_row(p[k]->name, bm_shape_str(p[k], shp, sizeof shp),
                      o.mode == BM_GRADCHECK_PROJECTION ? "projection" : "exhaustive", &r);
            if (r.warning[0]) /* reached only through no-grad constants, or not at all */
                fprintf(stderr, "bmnn gradcheck: warning: %s: %s\n", p[k]->name, r.warning);
            failed += !r.passed;
            checked++;
            if (order == 2) {
                o.atol = SECOND_ORDER_ATOL;
                o.rtol = SECOND_ORDER_RTOL;
                if (bm_gradgradcheck(t, out, &p[k], 1, &o, &r) != BM_OK) {
                    bm_error_set(&err, BM_ERR_STATE, "%s: %s", p[k]->name, r.message);
                    goto fail;
                }
                print_row("", "", "2nd order", &r);
                failed += !r.passed;
                checked++;
            }
        }
    }
    printf("%zu checks of %s's parameters (order %d) on a batch of %zu: %zu passed, %zu failed\n",
           checked, path, order, B, checked - failed, failed);
    rc = failed ? CLI_FAIL : CLI_OK;
    goto out;
fail:
    rc = cli_fail("gradcheck", "%s", err.msg);
out:
    bm_tape_free(t);
    bm_dataset_free(&ds);
    bm_model_free(c);
    bm_model_free(m);
    return rc;
}

int cmd_gradcheck(int argc, char **argv)
{
    enum { O_ALL = 256, O_LIST, O_ORDER };
    static const struct option opts[] = {
        {"op", required_argument, NULL, 'o'},  {"all", no_argument, NULL, O_ALL},
        {"list", no_argument, NULL, O_LIST},   {"model", required_argument, NULL, 'm'},
        {"data", required_argument, NULL, 'd'}, {"batch", required_argument, NULL, 'b'},
        {"order", required_argument, NULL, O_ORDER},
        {"help", no_argument, NULL, 'h'},      {NULL, 0, NULL, 0}};
    const char *op = NULL, *model = NULL, *data = NULL;
    uint64_t batch = DEFAULT_CHECK_BATCH, order = 1;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:m:d:b:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': op = optarg; break;
        case O_ALL: op = NULL; break;
        case O_LIST:
            for (size_t i = 0; i < bm_op_count(); i++)
                printf("%-12s %-26s %s\n", bm_op_name(i), bm_op_inputs(i), bm_op_gradient(i));
            return CLI_OK;
        case 'm': model = optarg; break;
        case 'd': data = optarg; break;
        case 'b':
            if (cli_parse_uint("gradcheck", "--batch", optarg, 1, BM_MAX_ELEMENTS, &batch))
                return CLI_USAGE;
            break;
        case O_ORDER:
            if (cli_parse_uint("gradcheck", "--order", optarg, 0, UINT64_MAX, &order))
                return CLI_USAGE;
            if (order != 1 && order != 2)
                return cli_usage_error("gradcheck", "--order must be 1 or 2, got %s", optarg);
            break;
        case 'h': fputs(help, stdout); return CLI_OK;
        default: return cli_usage_error("gradcheck", "bad option");
        }
    }
    if (optind != argc)
        return cli_usage_error("gradcheck", "unexpected argument '%s'", argv[optind]);
    if (model && op)
        return cli_usage_error("gradcheck", "--op and --model exclude each other");
    if (!model && data)
        return cli_usage_error("gradcheck", "--data needs --model");
    return model ? check_model(model, data, batch, (int)order) : check_ops(op, (int)order);
}
