#define _POSIX_C_SOURCE 200809L
/* test_graph_collapse.c — graphs people can read: bm_tensor_mark_param for
 * hand-built graphs, and the collapsed graph (one box per layer) of a model
 * in DOT and JSON: boxes, their edges, merged edges, gradient flow. (The
 * golden collapsed files of `bmnn dot --collapse` are test_cli.sh's.) */
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "test_graph_util.h"

START_TEST(mark_param_marks_and_names)
{
    bm_error err = {0};
    ck_assert_int_eq(bm_tensor_mark_param(NULL, "w", &err), BM_ERR_NULL);
    ck_assert_ptr_nonnull(strstr(err.msg, "bm_tensor_mark_param"));
    ck_assert_int_eq(bm_tensor_mark_param(NULL, NULL, NULL), BM_ERR_NULL);

    size_t ws[2] = {2, 3}, xs[2] = {4, 2};
    bm_tensor *W = bm_tensor_new(BM_F32, 2, ws, NULL);
    ck_assert_ptr_nonnull(W);
    ck_assert_ptr_null(W->grad);
    ck_assert_int_eq(bm_tensor_mark_param(W, "W", &err), BM_OK);
    ck_assert(W->flags & BM_PARAM);
    ck_assert(W->flags & BM_REQUIRES_GRAD);
    ck_assert_ptr_nonnull(W->grad);
    ck_assert_str_eq(W->name, "W");
    /* NULL name keeps the one it has; marking twice is harmless */
    ck_assert_int_eq(bm_tensor_mark_param(W, NULL, &err), BM_OK);
    ck_assert_str_eq(W->name, "W");

    bm_tape *t = bm_tape_new();
    bm_tensor *x = bm_tape_leaf(t, BM_F32, 2, xs, 0);
    ck_assert_int_eq(bm_tensor_mark_param(x, "x", &err), BM_ERR_STATE);
    ck_assert(!(x->flags & BM_PARAM));
    bm_tensor *y = bm_matmul(t, x, W);
    ck_assert_ptr_nonnull(y);
    ck_assert_int_eq(bm_tensor_mark_param(y, "y", &err), BM_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "[4,3]"));
    ck_assert(!(y->flags & BM_PARAM));

    /* drawn as a parameter, under its name */
    char *dot = bm_test_export_ok(t, y, NULL, 0);
    ck_assert_ptr_nonnull(strstr(dot, "p0 [label=\"W\\n[2,3] f32\""));
    free(dot);
    bm_tape_free(t);
    bm_tensor_free(W);
}
END_TEST


/* A model dense 3-5, relu, dense 5-2 with mse, recorded for a batch of 4:
 * its tape, loss and the graph options that group by layer. */
typedef struct small_model {
    bm_model *m;
    bm_tape *t;
    bm_tensor *loss;
    bm_graph_opts o;
} small_model;

static void build_model(small_model *s)
{
    bm_error err = {0};
    s->m = bm_model_new(BM_F64, 3, &err);
    ck_assert_ptr_nonnull(s->m);
    bm_layer_spec d1 = bm_dense_spec(3, 5), relu = bm_activation_spec(BM_LAYER_RELU),
                  d2 = bm_dense_spec(5, 2);
    ck_assert_int_eq(bm_model_add(s->m, &d1, &err), BM_OK);
    ck_assert_int_eq(bm_model_add(s->m, &relu, &err), BM_OK);
    ck_assert_int_eq(bm_model_add(s->m, &d2, &err), BM_OK);
    ck_assert_int_eq(bm_model_set_loss(s->m, BM_LOSS_MSE, &err), BM_OK);
    ck_assert_int_eq(bm_model_init(s->m, 1, &err), BM_OK);
    size_t xs[2] = {4, 3}, ys[2] = {4, 2};
    s->t = bm_tape_new();
    bm_tensor *x = bm_tape_leaf(s->t, BM_F64, 2, xs, 0);
    bm_tensor *y = bm_tape_leaf(s->t, BM_F64, 2, ys, 0);
    ck_assert_ptr_nonnull(y);
    x->name = "x";
    y->name = "y";
    s->loss = bm_model_record(s->m, s->t, x, y, 1, NULL);
    ck_assert_msg(s->loss != NULL, "%s", bm_tape_error(s->t));
    s->o = bm_graph_defaults();
    s->o.collapse = 1;
    s->o.group = bm_model_group;
    s->o.group_ud = s->m;
}

static void free_model(small_model *s)
{
    bm_tape_free(s->t);
    bm_model_free(s->m);
}

/* The node of id in a parsed graph, NULL when absent. */
static const cJSON *node_of(const cJSON *g, const char *id)
{
    const cJSON *n;
    cJSON_ArrayForEach(n, cJSON_GetObjectItem(g, "nodes"))
        if (strcmp(cJSON_GetObjectItem(n, "id")->valuestring, id) == 0)
            return n;
    return NULL;
}

/* Does the edge list `key` hold from -> to (once)? Returns how often. */
static int edge_count(const cJSON *g, const char *key, const char *from, const char *to)
{
    int k = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(g, key))
        k += strcmp(cJSON_GetObjectItem(e, "from")->valuestring, from) == 0 &&
             strcmp(cJSON_GetObjectItem(e, "to")->valuestring, to) == 0;
    return k;
}

START_TEST(three_layers_collapse_to_three_boxes)
{
    small_model s;
    build_model(&s);
    s.o.backward = 1;
    char *text = bm_test_export_ok(s.t, s.loss, &s.o, 1);
    cJSON *g = cJSON_Parse(text);
    ck_assert_msg(g != NULL, "collapsed JSON does not parse:\n%s", text);
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(g, "collapsed")));
    /* x, three layer boxes, y and the loss: parameters are inside the boxes */
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(g, "nodes")), 6);
    const char *box[3] = {"L0", "L1", "L2"};
    const char *name[3] = {"layers[0]: dense", "layers[1]: relu", "layers[2]: dense"};
    const int width[3] = {5, 5, 2}, ops[3] = {1, 1, 1}, params[3] = {2, 0, 2};
    for (int i = 0; i < 3; i++) {
        const cJSON *n = node_of(g, box[i]);
        ck_assert_msg(n != NULL, "no box %s", box[i]);
        ck_assert_str_eq(cJSON_GetObjectItem(n, "kind")->valuestring, "layer");
        ck_assert_str_eq(cJSON_GetObjectItem(n, "name")->valuestring, name[i]);
        const cJSON *shape = cJSON_GetObjectItem(n, "shape");
        ck_assert_int_eq(cJSON_GetArraySize(shape), 2);
        ck_assert_int_eq(cJSON_GetArrayItem(shape, 0)->valueint, 4);
        ck_assert_int_eq(cJSON_GetArrayItem(shape, 1)->valueint, width[i]);
        ck_assert_int_eq(cJSON_GetObjectItem(n, "ops")->valueint, ops[i]);
        ck_assert_int_eq(cJSON_GetObjectItem(n, "params")->valueint, params[i]);
    }
    ck_assert_ptr_null(node_of(g, "p0"));
    ck_assert_ptr_nonnull(node_of(g, "in0"));
    ck_assert_ptr_nonnull(node_of(g, "t0"));
    const cJSON *out = cJSON_GetObjectItem(g, "output");
    ck_assert(cJSON_IsString(out));
    const cJSON *loss = node_of(g, out->valuestring);
    ck_assert_ptr_nonnull(loss);
    ck_assert_str_eq(cJSON_GetObjectItem(loss, "op")->valuestring, "mse");
    /* the chain and nothing else: 5 edges, the target's not differentiable */
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(g, "edges")), 5);
    ck_assert_int_eq(edge_count(g, "edges", "in0", "L0"), 1);
    ck_assert_int_eq(edge_count(g, "edges", "L0", "L1"), 1);
    ck_assert_int_eq(edge_count(g, "edges", "L1", "L2"), 1);
    ck_assert_int_eq(edge_count(g, "edges", "L2", out->valuestring), 1);
    ck_assert_int_eq(edge_count(g, "edges", "t0", out->valuestring), 1);
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(g, "edges")) {
        int from_target = strcmp(cJSON_GetObjectItem(e, "from")->valuestring, "t0") == 0;
        ck_assert_int_eq(cJSON_IsTrue(cJSON_GetObjectItem(e, "differentiable")), !from_target);
    }
    /* gradients flow back box to box, never to x or y */
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(g, "grad_edges")), 3);
    ck_assert_int_eq(edge_count(g, "grad_edges", out->valuestring, "L2"), 1);
    ck_assert_int_eq(edge_count(g, "grad_edges", "L2", "L1"), 1);
    ck_assert_int_eq(edge_count(g, "grad_edges", "L1", "L0"), 1);
    cJSON_Delete(g);
    free(text);
    free_model(&s);
}
END_TEST

/* Number of times needle occurs in s. */
static int occurrences(const char *s, const char *needle)
{
    int k = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
        k++;
    return k;
}

START_TEST(collapsed_dot_draws_boxes)
{
    small_model s;
    build_model(&s);
    char *full = bm_test_export_ok(s.t, s.loss, &(bm_graph_opts){.group = bm_model_group, .group_ud = s.m}, 0);
    s.o.backward = 1;
    char *dot = bm_test_export_ok(s.t, s.loss, &s.o, 0);
    ck_assert_int_eq(occurrences(dot, "fillcolor=\"#d5e8d4\""), 3);
    ck_assert_ptr_nonnull(strstr(dot, "L0 [label=\"layers[0]: dense\\n[4,5]\""));
    ck_assert_ptr_nonnull(strstr(dot, "L2 [label=\"layers[2]: dense\\n[4,2]\""));
    ck_assert_ptr_nonnull(strstr(dot, "g_L1 [label=\"\xE2\x88\x82layers[1]: relu\\n[4,5]\""));
    ck_assert_ptr_nonnull(strstr(dot, "g_L1 -> g_L0 ["));
    /* no clusters, no parameters, no op of a layer: those are the full graph's */
    ck_assert_ptr_nonnull(strstr(full, "subgraph cluster_0"));
    ck_assert_ptr_null(strstr(dot, "subgraph"));
    ck_assert_ptr_null(strstr(dot, "p0"));
    ck_assert_ptr_null(strstr(dot, "linear"));
    ck_assert_int_eq(occurrences(dot, "in0 -> L0;"), 1);
    free(full);
    free(dot);
    free_model(&s);
}
END_TEST

/* Grouping for the merge test: everything but the loss is block 0. */
typedef struct residual {
    bm_tensor *x, *W, *z, *h;
} residual;

static const char *block_of(void *ud, const bm_tensor *t)
{
    const residual *r = ud;
    return t == r->W || t == r->z || t == r->h ? "block: residual" : NULL;
}

START_TEST(merged_edges_are_counted_once)
{
    /* x feeds the block twice (matmul and the skip add): one edge, count 2 */
    bm_tape *t = bm_tape_new();
    size_t xs[2] = {4, 2}, ws[2] = {2, 2};
    residual r;
    r.x = bm_tape_leaf(t, BM_F32, 2, xs, BM_REQUIRES_GRAD);
    r.W = bm_tape_leaf(t, BM_F32, 2, ws, BM_REQUIRES_GRAD);
    ck_assert_int_eq(bm_tensor_mark_param(r.W, "W", NULL), BM_OK);
    r.z = bm_matmul(t, r.x, r.W);
    r.h = bm_add(t, r.z, r.x);
    bm_tensor *loss = bm_sum(t, r.h, BM_AXIS_ALL, 0);
    ck_assert_msg(loss != NULL, "%s", bm_tape_error(t));
    bm_graph_opts o = bm_graph_defaults();
    o.collapse = 1;
    o.backward = 1;
    o.group = block_of;
    o.group_ud = &r;
    char *text = bm_test_export_ok(t, loss, &o, 1);
    cJSON *g = cJSON_Parse(text);
    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(g, "nodes")), 3); /* in0, L0, n2 */
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(g, "edges")), 2);
    const cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItem(g, "edges"), 0);
    ck_assert_str_eq(cJSON_GetObjectItem(e, "from")->valuestring, "in0");
    ck_assert_str_eq(cJSON_GetObjectItem(e, "to")->valuestring, "L0");
    ck_assert_int_eq(cJSON_GetObjectItem(e, "count")->valueint, 2);
    /* the box's output is its last op, the add: [4,2] */
    const cJSON *box = node_of(g, "L0");
    ck_assert_ptr_nonnull(box);
    ck_assert_int_eq(cJSON_GetObjectItem(box, "ops")->valueint, 2);
    ck_assert_int_eq(cJSON_GetObjectItem(box, "params")->valueint, 1);
    /* x needs a gradient: both of its gradient paths merge into L0 -> in0 */
    ck_assert_int_eq(edge_count(g, "grad_edges", "L0", "in0"), 1);
    ck_assert_int_eq(edge_count(g, "grad_edges", "n2", "L0"), 1);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(g, "grad_edges")), 2);
    cJSON_Delete(g);
    free(text);
    /* no output: every node drawn, the same boxes, "output": null */
    text = bm_test_export_ok(t, NULL, &o, 1);
    g = cJSON_Parse(text);
    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(g, "nodes")), 3);
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(g, "output")));
    cJSON_Delete(g);
    free(text);
    /* without a group function nothing merges: the collapsed graph has every op */
    o.group = NULL;
    char *dot = bm_test_export_ok(t, loss, &o, 0);
    ck_assert_ptr_nonnull(strstr(dot, "n0 [label=\"0: matmul"));
    ck_assert_ptr_null(strstr(dot, "L0"));
    free(dot);
    bm_tape_free(t);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("graph_collapse");
    TCase *tc = tcase_create("readable");
    tcase_add_test(tc, mark_param_marks_and_names);
    tcase_add_test(tc, three_layers_collapse_to_three_boxes);
    tcase_add_test(tc, collapsed_dot_draws_boxes);
    tcase_add_test(tc, merged_edges_are_counted_once);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return bm_test_run(make_suite()); }
