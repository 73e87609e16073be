/* cmd_dot.c — `bmnn dot MODEL.json [--backward] [--collapse] [--json] [-o FILE]`: the graph
 * of one training step as DOT (rendered to SVG/PNG in-process with Graphviz's
 * libgvc when built with it) or JSON. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#ifdef BM_HAVE_GVC
#include <gvc.h>
#endif

/* Rows of the batch drawn when the model file names no batch size. */
#define DEFAULT_DOT_BATCH 32
/* Longest derived output path. */
#define DOT_PATH_MAX 4096

static const char help[] =
    "usage: bmnn dot MODEL.json [--backward] [--collapse] [--json] [--batch N] [-o FILE]\n\n"
    "Draw the computation graph of one training step: inputs, parameters, every op with\n"
    "its shape, layers as clusters. Node names come from tape positions, so output diffs\n"
    "cleanly. FILE.dot (default: standard output), FILE.svg or FILE.png (rendered with\n"
    "Graphviz when bmnn was built with it), or JSON with --json / FILE.json.\n\n"
    "      --backward   add the gradient flow (gradient nodes show their shapes)\n"
    "      --collapse   one box per layer (its name, kind and output shape), edges\n"
    "                   between layers once each: a large model on one screen\n"
    "      --json       write the graph as JSON (nodes, edges, shapes)\n"
    "  -b, --batch N    batch rows shown in the shapes [the file's batch size, else 32]\n"
    "  -o, --output F   where to write (atomically)\n"
    "  -h, --help       this text\n";

/* Render DOT text to path in format fmt ("svg"/"png") through the atomic
 * writer; CLI_OK, CLI_FAIL (a write failed: message printed) or -1 (Graphviz
 * could not render: why in msg, nothing printed, nothing written). */
static int render(const char *text, const char *path, const char *fmt, char *msg, size_t len)
{
#ifdef BM_HAVE_GVC
    GVC_t *gvc = gvContext();
    Agraph_t *g = gvc ? agmemread(text) : NULL;
    char *data = NULL;
    unsigned int n = 0;
    int rendered = 0;
    if (g && gvLayout(gvc, g, "dot") == 0) {
        rendered = gvRenderData(gvc, g, fmt, &data, &n) == 0 && data;
        gvFreeLayout(gvc, g);
    }
    int rc = rendered ? cli_write_file("dot", path, data, n) : -1;
    if (data)
        gvFreeRenderData(data);
    if (g)
        agclose(g);
    if (gvc)
        gvFreeContext(gvc);
    if (rc < 0)
        snprintf(msg, len, "%s: Graphviz could not render the graph as %s", path, fmt);
    return rc;
#else
    (void)text, (void)path, (void)fmt;
    snprintf(msg, len, "built without Graphviz");
    return -1;
#endif
}

/* Output the graph text according to the file name. */
static int emit(const char *out, const char *text, size_t n, int json)
{
    char msg[BM_ERR_LEN];
    if (!out)
        return cli_write_file("dot", NULL, text, n);
    const char *fmt = cli_ends_with(out, ".svg") ? "svg" : cli_ends_with(out, ".png") ? "png" : NULL;
    if (!fmt || json) {
        if (cli_write_file("dot", out, text, n) != CLI_OK)
            return CLI_FAIL;
        printf("wrote %s\n", out);
        return CLI_OK;
    }
    int rc = render(text, out, fmt, msg, sizeof msg);
    if (rc >= 0) {
        if (rc == CLI_OK)
            printf("wrote %s\n", out);
        return rc;
    }
    char dot[DOT_PATH_MAX];
    snprintf(dot, sizeof dot, "%.*s.dot", (int)(strlen(out) - strlen(fmt) - 1), out);
    if (cli_write_file("dot", dot, text, n) != CLI_OK)
        return CLI_FAIL;
    printf("%s: wrote %s instead; render it with: dot -T%s %s -o %s\n", msg, dot, fmt, dot, out);
    return CLI_OK;
}

int cmd_dot(int argc, char **argv)
{
    enum { O_BACKWARD = 256, O_JSON, O_COLLAPSE };
    static const struct option opts[] = {{"backward", no_argument, NULL, O_BACKWARD},
                                         {"collapse", no_argument, NULL, O_COLLAPSE},
                                         {"json", no_argument, NULL, O_JSON},
                                         {"batch", required_argument, NULL, 'b'},
                                         {"output", required_argument, NULL, 'o'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *out = NULL;
    int backward = 0, collapse = 0, json = 0, c;
    uint64_t batch = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "b:o:h", opts, NULL)) != -1) {
        switch (c) {
        case O_BACKWARD: backward = 1; break;
        case O_COLLAPSE: collapse = 1; break;
        case O_JSON: json = 1; break;
        case 'b':
            if (cli_parse_uint("dot", "--batch", optarg, 1, BM_MAX_ELEMENTS, &batch))
                return CLI_USAGE;
            break;
        case 'o': out = optarg; break;
        case 'h': fputs(help, stdout); return CLI_OK;
        default: return cli_usage_error("dot", "bad option");
        }
    }
    if (optind != argc - 1)
        return cli_usage_error("dot", "give exactly one MODEL.json");
    if (out && cli_ends_with(out, ".json"))
        json = 1;
    const char *path = argv[optind];
    bm_error err = {0};
    bm_train_settings set;
    memset(&set, 0, sizeof set);
    bm_model *m = bm_model_load(path, &set, &err);
    if (!m)
        return cli_fail("dot", "%s", err.msg);
    if (!batch)
        batch = set.has_batch_size && set.batch_size ? set.batch_size : DEFAULT_DOT_BATCH;
    bm_loss_kind loss = bm_model_loss(m);
    int cls = loss == BM_LOSS_CCE || loss == BM_LOSS_SOFTMAX_CCE;
    size_t T = bm_model_n_positions(m); /* > 1: targets [B,T] of a sequence model */
    size_t xs[2] = {(size_t)batch, bm_model_n_inputs(m)},
           ys[2] = {(size_t)batch, T > 1 ? T : bm_model_n_outputs(m)};
    bm_tape *t = bm_tape_new();
    bm_tensor *x = t ? bm_tape_leaf(t, bm_model_dtype(m), 2, xs, 0) : NULL;
    bm_tensor *y = x ? bm_tape_leaf(t, bm_model_dtype(m), cls && T == 1 ? 1 : 2, ys, 0) : NULL;
    bm_tensor *loss_t = NULL;
    char *text = NULL;
    size_t n = 0;
    int rc = CLI_FAIL;
    if (y) {
        x->name = "x";
        y->name = "y";
        loss_t = bm_model_record(m, t, x, y, 1, NULL);
    }
    if (!loss_t) {
        rc = cli_fail("dot", "%s", t ? bm_tape_error(t) : "out of memory");
        goto out;
    }
    FILE *f = open_memstream(&text, &n);
    bm_graph_opts go = bm_graph_defaults();
    go.backward = backward;
    go.collapse = collapse;
    go.title = path;
    go.group = bm_model_group;
    go.group_ud = m;
    bm_status s = !f ? BM_ERR_NOMEM
                  : json ? bm_graph_write_json(t, loss_t, f, &go, &err)
                         : bm_graph_write_dot(t, loss_t, f, &go, &err);
    if (f)
        fclose(f);
    rc = s == BM_OK ? emit(out, text, n, json) : cli_fail("dot", "%s", f ? err.msg : "out of memory");
out:
    free(text);
    bm_tape_free(t);
    bm_model_free(m);
    return rc;
}
