#define _POSIX_C_SOURCE 200809L
/* test_graph.c — DOT and JSON export of a recorded tape: a golden DOT file,
 * byte-for-byte determinism, the backward variant, clusters, rendering by
 * Graphviz (when installed), JSON that cJSON parses, and the error cases. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "test_graph_util.h"

/* The golden DOT of the small graph. Set BM_UPDATE_GOLDEN=1 to rewrite it. */
#define GOLDEN_DOT BM_TEST_GOLDEN "/small_graph.dot"
/* Graphviz, used to check that the DOT renders without a warning. */
#define DOT_PROGRAM "/usr/bin/dot"
/* Longest line of Graphviz diagnostics we keep. */
enum { DIAG_LEN = 4096 };

/* The small graph: loss = softmax_cce(relu(x·W + b), y). */
typedef struct small_graph {
    bm_tape *tape;
    bm_tensor *x, *W, *b, *y;
    bm_tensor *z, *h, *a, *loss;
} small_graph;

static void build_small(small_graph *g)
{
    size_t xs[2] = {4, 2}, ws[2] = {2, 3}, bs[2] = {1, 3}, ys[1] = {4};
    double xv[8] = {0.5, -1, 1.5, 2, -0.5, 0.25, 1, -2};
    double wv[6] = {0.1, -0.2, 0.3, 0.4, 0.5, -0.6};
    double yv[4] = {0, 2, 1, 2};
    g->tape = bm_tape_new();
    ck_assert_ptr_nonnull(g->tape);
    g->x = bm_tape_leaf(g->tape, BM_F32, 2, xs, 0);
    g->W = bm_tape_leaf(g->tape, BM_F32, 2, ws, BM_PARAM | BM_REQUIRES_GRAD);
    g->b = bm_tape_leaf(g->tape, BM_F32, 2, bs, BM_PARAM | BM_REQUIRES_GRAD);
    g->y = bm_tape_leaf(g->tape, BM_F32, 1, ys, 0);
    ck_assert_ptr_nonnull(g->y);
    ck_assert_int_eq(bm_tensor_load(g->x, xv, 8, NULL), BM_OK);
    ck_assert_int_eq(bm_tensor_load(g->W, wv, 6, NULL), BM_OK);
    ck_assert_int_eq(bm_tensor_load(g->y, yv, 4, NULL), BM_OK);
    g->x->name = "x";
    g->W->name = "W";
    g->b->name = "b";
    g->y->name = "y";
    g->z = bm_matmul(g->tape, g->x, g->W);
    g->h = bm_add(g->tape, g->z, g->b);
    g->a = bm_relu(g->tape, g->h);
    g->loss = bm_softmax_cce(g->tape, g->a, g->y);
    ck_assert_msg(g->loss != NULL, "%s", bm_tape_error(g->tape));
    g->loss->name = "loss";
}

/* The whole of a file (malloc'd, NUL-terminated), NULL if unreadable. */
static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    int c;
    while ((c = fgetc(f)) != EOF)
        fputc(c, m);
    fclose(f);
    fclose(m);
    return buf;
}

/* Groups for the cluster test: the dense layer and its activation. */
static const char *layer_of(void *ud, const bm_tensor *t)
{
    const small_graph *g = ud;
    if (t == g->W || t == g->b || t == g->z || t == g->h)
        return "layer 0: dense";
    if (t == g->a)
        return "layer 0: relu";
    return NULL;
}

/* Render DOT text with Graphviz; returns its exit status, diagnostics in diag. */
static int render(const char *dot, char *diag, size_t len)
{
    char path[] = "/tmp/bm_graph_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w");
    ck_assert_ptr_nonnull(f);
    fputs(dot, f);
    ck_assert_int_eq(fclose(f), 0);
    char cmd[256];
    snprintf(cmd, sizeof cmd, DOT_PROGRAM " -Tsvg -o /dev/null %s 2>&1", path);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t n = fread(diag, 1, len - 1, p);
    diag[n] = '\0';
    int rc = pclose(p);
    unlink(path);
    return rc;
}

START_TEST(dot_matches_golden)
{
    small_graph g;
    build_small(&g);
    bm_graph_opts o = bm_graph_defaults();
    o.title = "small graph";
    char *dot = bm_test_export_ok(g.tape, g.loss, &o, 0);
    if (getenv("BM_UPDATE_GOLDEN")) {
        FILE *f = fopen(GOLDEN_DOT, "wb");
        ck_assert_ptr_nonnull(f);
        fputs(dot, f);
        ck_assert_int_eq(fclose(f), 0);
    }
    char *want = read_all(GOLDEN_DOT);
    ck_assert_msg(want != NULL, "cannot read %s", GOLDEN_DOT);
    size_t i = 0;
    while (dot[i] && dot[i] == want[i])
        i++;
    ck_assert_msg(dot[i] == want[i], "DOT differs from %s at byte %zu:\n%s", GOLDEN_DOT, i,
                  dot + i);
    free(want);
    free(dot);
    bm_tape_free(g.tape);
}
END_TEST

START_TEST(export_is_deterministic)
{
    /* Two tapes: other pointers, same graph, same bytes. */
    small_graph g1, g2;
    build_small(&g1);
    build_small(&g2);
    bm_graph_opts o = bm_graph_defaults();
    o.backward = 1;
    for (int json = 0; json <= 1; json++) {
        char *a = bm_test_export_ok(g1.tape, g1.loss, &o, json);
        char *b = bm_test_export_ok(g1.tape, g1.loss, &o, json);
        char *c = bm_test_export_ok(g2.tape, g2.loss, &o, json);
        ck_assert_str_eq(a, b);
        ck_assert_str_eq(a, c);
        free(a);
        free(b);
        free(c);
    }
    bm_tape_free(g1.tape);
    bm_tape_free(g2.tape);
}
END_TEST

START_TEST(dot_backward_has_gradient_flow)
{
    small_graph g;
    build_small(&g);
    bm_graph_opts o = bm_graph_defaults();
    char *fwd = bm_test_export_ok(g.tape, g.loss, &o, 0);
    ck_assert_ptr_null(strstr(fwd, "g_n"));
    o.backward = 1;
    char *dot = bm_test_export_ok(g.tape, g.loss, &o, 0);
    /* each gradient node shows the gradient's shape (its tensor's) */
    ck_assert_ptr_nonnull(strstr(dot, "g_p0 [label=\"\xE2\x88\x82W\\n[2,3]\""));
    ck_assert_ptr_nonnull(strstr(dot, "g_n3 [label=\"\xE2\x88\x82loss\\n[]\""));
    ck_assert_ptr_nonnull(strstr(dot, "g_n2 [label=\"\xE2\x88\x82(2: relu)\\n[4,3]\""));
    ck_assert_ptr_nonnull(strstr(dot, "n3 -> g_n3 [style=dotted"));
    const char *edges[] = {"g_n3 -> g_n2", "g_n2 -> g_n1", "g_n1 -> g_n0", "g_n1 -> g_p1",
                           "g_n0 -> g_p0"};
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++)
        ck_assert_msg(strstr(dot, edges[i]) != NULL, "missing %s", edges[i]);
    /* x needs no gradient and y is a target: no gradient reaches them. */
    ck_assert_ptr_null(strstr(dot, "g_in0"));
    ck_assert_ptr_null(strstr(dot, "g_t0"));
    /* The forward part is unchanged. */
    ck_assert_int_eq(strncmp(fwd, dot, strlen(fwd) - 2), 0);
    free(fwd);
    free(dot);
    bm_tape_free(g.tape);
}
END_TEST

START_TEST(dot_clusters)
{
    small_graph g;
    build_small(&g);
    bm_graph_opts o = bm_graph_defaults();
    o.group = layer_of;
    o.group_ud = &g;
    char *dot = bm_test_export_ok(g.tape, g.loss, &o, 0);
    ck_assert_ptr_nonnull(
        strstr(dot, "subgraph cluster_0 {\n    label=\"layer 0: dense\";"));
    ck_assert_ptr_nonnull(strstr(dot, " p0; n0; p1; n1;\n  }"));
    ck_assert_ptr_nonnull(strstr(dot, "label=\"layer 0: relu\";"));
    ck_assert_ptr_nonnull(strstr(dot, " n2;\n  }"));
    ck_assert_ptr_null(strstr(dot, "cluster_2"));
    free(dot);
    bm_tape_free(g.tape);
}
END_TEST

/* Is Graphviz's dot there to render with? */
static int have_graphviz(void) { return access(DOT_PROGRAM, X_OK) == 0; }

/* In case "graphviz", only where have_graphviz(). */
START_TEST(dot_renders_with_graphviz)
{
    ck_assert(have_graphviz());
    small_graph g;
    build_small(&g);
    g.W->name = "W \"odd\" \\name\nline 2";
    bm_graph_opts o = bm_graph_defaults();
    o.title = "title with \"quotes\" and \\";
    char diag[DIAG_LEN];
    for (int variant = 0; variant < 3; variant++) {
        o.backward = variant >= 1;
        o.group = variant == 2 ? layer_of : NULL;
        o.group_ud = &g;
        char *dot = bm_test_export_ok(g.tape, variant == 2 ? NULL : g.loss, &o, 0);
        int rc = render(dot, diag, sizeof diag);
        ck_assert_msg(rc == 0 && diag[0] == '\0', "dot failed (%d) on variant %d: %s\n%s", rc,
                      variant, diag, dot);
        free(dot);
    }
    bm_tape_free(g.tape);
}
END_TEST

START_TEST(dot_escapes_names)
{
    small_graph g;
    build_small(&g);
    g.W->name = "W \"odd\" \\name";
    char *dot = bm_test_export_ok(g.tape, g.loss, NULL, 0);
    ck_assert_ptr_nonnull(strstr(dot, "p0 [label=\"W \\\"odd\\\" \\\\name\\n[2,3] f32\""));
    free(dot);
    bm_tape_free(g.tape);
}
END_TEST

/* Node of the JSON array with this id. */
static cJSON *json_node(cJSON *nodes, const char *id)
{
    cJSON *n;
    cJSON_ArrayForEach(n, nodes)
    {
        cJSON *i = cJSON_GetObjectItemCaseSensitive(n, "id");
        if (cJSON_IsString(i) && strcmp(i->valuestring, id) == 0)
            return n;
    }
    return NULL;
}

START_TEST(json_parses_and_counts)
{
    small_graph g;
    build_small(&g);
    g.W->name = "W \"odd\" \\name\n\x01";
    bm_graph_opts o = bm_graph_defaults();
    o.backward = 1;
    o.title = "small";
    o.group = layer_of;
    o.group_ud = &g;
    char *js = bm_test_export_ok(g.tape, g.loss, &o, 1);
    cJSON *root = cJSON_Parse(js);
    ck_assert_msg(root != NULL, "invalid JSON:\n%s", js);
    cJSON *nodes = cJSON_GetObjectItemCaseSensitive(root, "nodes");
    cJSON *edges = cJSON_GetObjectItemCaseSensitive(root, "edges");
    cJSON *grads = cJSON_GetObjectItemCaseSensitive(root, "grad_edges");
    ck_assert_int_eq(cJSON_GetArraySize(nodes), 8); /* 4 ops, x, W, b, y */
    ck_assert_int_eq(cJSON_GetArraySize(edges), 7);
    ck_assert_int_eq(cJSON_GetArraySize(grads), 5);
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(root, "output")->valuestring, "n3");
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(root, "title")->valuestring, "small");

    cJSON *p0 = json_node(nodes, "p0");
    ck_assert_ptr_nonnull(p0);
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(p0, "kind")->valuestring, "param");
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(p0, "name")->valuestring, g.W->name);
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(p0, "group")->valuestring,
                     "layer 0: dense");
    cJSON *shape = cJSON_GetObjectItemCaseSensitive(p0, "shape");
    ck_assert_int_eq(cJSON_GetArraySize(shape), 2);
    ck_assert_int_eq(cJSON_GetArrayItem(shape, 1)->valueint, 3);
    cJSON *n0 = json_node(nodes, "n0");
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(n0, "op")->valuestring, "matmul");
    ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(n0, "index")->valueint, 0);
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(n0, "requires_grad")));
    cJSON *t0 = json_node(nodes, "t0");
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(t0, "kind")->valuestring, "target");
    ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(t0, "group")));
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(json_node(nodes, "in0"), "kind")->valuestring,
                     "input");
    ck_assert_int_eq(cJSON_GetArraySize(
                         cJSON_GetObjectItemCaseSensitive(json_node(nodes, "n3"), "shape")),
                     0);
    /* The last edge reads the target: not differentiable. */
    cJSON *last = cJSON_GetArrayItem(edges, 6);
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(last, "from")->valuestring, "t0");
    ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(last, "to")->valuestring, "n3");
    ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(last, "input")->valueint, 1);
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(last, "differentiable")));
    cJSON_Delete(root);
    free(js);
    bm_tape_free(g.tape);
}
END_TEST

START_TEST(output_selects_ancestors)
{
    small_graph g;
    build_small(&g);
    /* A side computation the loss does not depend on, recorded after it. */
    bm_tensor *side = bm_sum(g.tape, g.a, BM_AXIS_ALL, 0);
    ck_assert_ptr_nonnull(side);
    char *dot = bm_test_export_ok(g.tape, g.loss, NULL, 0);
    ck_assert_ptr_null(strstr(dot, "n4"));
    free(dot);
    /* Up to relu only: no loss, no target. */
    dot = bm_test_export_ok(g.tape, g.a, NULL, 0);
    ck_assert_ptr_null(strstr(dot, "n3"));
    ck_assert_ptr_null(strstr(dot, "t0"));
    free(dot);
    /* NULL output: every node, nothing highlighted. */
    char *js = bm_test_export_ok(g.tape, NULL, NULL, 1);
    cJSON *root = cJSON_Parse(js);
    ck_assert_ptr_nonnull(root);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(root, "nodes")), 9);
    ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(root, "output")));
    ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(root, "grad_edges"));
    cJSON_Delete(root);
    free(js);
    bm_tape_free(g.tape);
}
END_TEST

START_TEST(errors_are_reported)
{
    small_graph g, other;
    build_small(&g);
    build_small(&other);
    bm_error err = {0};
    bm_status st;
    char *s;
    for (int json = 0; json <= 1; json++) {
        ck_assert_int_eq(json ? bm_graph_write_json(g.tape, g.loss, NULL, NULL, &err)
                              : bm_graph_write_dot(g.tape, g.loss, NULL, NULL, &err),
                         BM_ERR_NULL);
        ck_assert_ptr_nonnull(strstr(err.msg, "file is NULL"));
        s = bm_test_export_str(NULL, NULL, NULL, json, &st, &err);
        ck_assert_int_eq(st, BM_ERR_NULL);
        ck_assert_ptr_nonnull(strstr(err.msg, "tape is NULL"));
        free(s);
        s = bm_test_export_str(g.tape, other.loss, NULL, json, &st, &err);
        ck_assert_int_eq(st, BM_ERR_ARG);
        ck_assert_ptr_nonnull(strstr(err.msg, "not recorded on this tape"));
        ck_assert_ptr_nonnull(strstr(err.msg, json ? "bm_graph_write_json" : "bm_graph_write_dot"));
        ck_assert_str_eq(s, ""); /* nothing written */
        free(s);
        s = bm_test_export_str(g.tape, g.x, NULL, json, &st, &err); /* a leaf */
        ck_assert_int_eq(st, BM_ERR_ARG);
        free(s);
        /* Empty (reset) tape. */
        bm_tape_reset(other.tape);
        s = bm_test_export_str(other.tape, NULL, NULL, json, &st, &err);
        ck_assert_int_eq(st, BM_ERR_STATE);
        ck_assert_ptr_nonnull(strstr(err.msg, "empty"));
        free(s);
        /* NULL err is fine. */
        s = bm_test_export_str(other.tape, NULL, NULL, json, &st, NULL);
        ck_assert_int_eq(st, BM_ERR_STATE);
        free(s);
        /* A stream that cannot be written. */
        FILE *ro = fopen("/dev/null", "r");
        ck_assert_ptr_nonnull(ro);
        st = json ? bm_graph_write_json(g.tape, g.loss, ro, NULL, &err)
                  : bm_graph_write_dot(g.tape, g.loss, ro, NULL, &err);
        ck_assert_int_eq(st, BM_ERR_IO);
        ck_assert_ptr_nonnull(strstr(err.msg, "write failed"));
        fclose(ro);
    }
    bm_tape_free(g.tape);
    bm_tape_free(other.tape);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("graph");
    TCase *tc = tcase_create("export");
    tcase_add_test(tc, dot_matches_golden);
    tcase_add_test(tc, export_is_deterministic);
    tcase_add_test(tc, dot_backward_has_gradient_flow);
    tcase_add_test(tc, dot_clusters);
    tcase_add_test(tc, dot_escapes_names);
    tcase_add_test(tc, json_parses_and_counts);
    tcase_add_test(tc, output_selects_ancestors);
    tcase_add_test(tc, errors_are_reported);
    suite_add_tcase(s, tc);
    if (have_graphviz()) { /* else the graph_graphviz test reports a skip */
        TCase *gv = bm_test_case_needing("graphviz");
        tcase_add_test(gv, dot_renders_with_graphviz);
        suite_add_tcase(s, gv);
    }
    return s;
}

int main(void)
{
    if (bm_test_missing("graphviz", have_graphviz(), "Graphviz (" DOT_PROGRAM ")"))
        return BM_TEST_SKIP;
    return bm_test_run(make_suite());
}
