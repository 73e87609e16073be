/* torch_check_nn.c — for each case of issue 10's network ops (conv2d,
 * conv1d, pooling, batch_norm in training and evaluation, group_norm,
 * attention) on fixed f64 inputs in_k[i] = 1.5·sin(0.7·i + 1.3·k + 0.1),
 * prints the value, the gradients of every input for the seed 1 + 0.01·i,
 * the second derivatives d/d(inputs) Σ_k v_k·grad_k (v = 1 − 0.01·i) and,
 * for batch_norm, the running statistics after the forward;
 * tests/torch_check_nn.py compares all of them with PyTorch. */
#include <bmnn.h>
#include <math.h>
#include <string.h>
#include <stdio.h>

enum { MAX_IN = 3 };

typedef struct tcase {
    const char *name;
    int n_in;
    int rank[MAX_IN];
    size_t shape[MAX_IN][4];
    int stats; /* batch_norm: running statistics of this many channels */
    int training;
} tcase;

/* Running statistics of the current batch_norm case (initial values
 * 0.1·c and 1 + 0.2·c; updated by the forward in training). */
typedef struct bn_stats {
    bm_tensor *mean, *var;
} bn_stats;

static bm_tensor *build(bm_tape *t, const tcase *c, bm_tensor **in, bn_stats *st)
{
    const char *n = c->name;
    bm_conv_opts co = bm_conv_defaults();
    bm_pool_opts po = bm_pool_defaults(3, 3);
    po.stride[0] = po.stride[1] = 2, po.pad[0] = po.pad[1] = 1;
    bm_sdpa_opts so = bm_sdpa_defaults();
    if (!strcmp(n, "conv2d")) {
        co.stride[0] = 2, co.pad[0] = 1, co.pad[1] = 2, co.dilation[1] = 2, co.groups = 2;
        return bm_conv2d(t, in[0], in[1], in[2], &co);
    }
    if (!strcmp(n, "conv1d"))
        return bm_conv1d(t, in[0], in[1], in[2], 2, 1, 2, 2);
    if (!strcmp(n, "max_pool2d"))
        return bm_max_pool2d(t, in[0], &po);
    if (!strcmp(n, "avg_pool2d"))
        return bm_avg_pool2d(t, in[0], &po);
    if (!strcmp(n, "avg_pool2d_exclude")) {
        po = bm_pool_defaults(3, 2);
        po.stride[0] = 1, po.pad[0] = po.pad[1] = 1, po.count_include_pad = 0;
        return bm_avg_pool2d(t, in[0], &po);
    }
    if (!strcmp(n, "adaptive_avg_pool2d"))
        return bm_adaptive_avg_pool2d(t, in[0], 3, 2);
    if (!strcmp(n, "global_avg_pool"))
        return bm_adaptive_avg_pool2d(t, in[0], 1, 1);
    if (!strncmp(n, "batch_norm", 10))
        return bm_batch_norm(t, in[0], st->mean, st->var, c->n_in > 1 ? in[1] : NULL,
                             c->n_in > 2 ? in[2] : NULL, c->training, 0.1, 1e-5);
    if (!strcmp(n, "group_norm"))
        return bm_group_norm(t, in[0], 3, in[1], in[2], 1e-5);
    so.causal = strstr(n, "causal") != NULL;
    so.recompute = strstr(n, "recompute") != NULL;
    if (strstr(n, "scaled"))
        so.scale = 0.6;
    return bm_scaled_dot_product_attention(t, in[0], in[1], in[2], &so);
}

static const tcase cases[] = {
    {"conv2d", 3, {4, 4, 1}, {{2, 4, 7, 6}, {6, 2, 3, 3}, {6}}, 0, 0},
    {"conv1d", 3, {3, 3, 1}, {{2, 4, 9}, {6, 2, 3}, {6}}, 0, 0},
    {"max_pool2d", 1, {4}, {{2, 3, 7, 6}}, 0, 0},
    {"avg_pool2d", 1, {4}, {{2, 3, 7, 6}}, 0, 0},
    {"avg_pool2d_exclude", 1, {4}, {{2, 3, 5, 6}}, 0, 0},
    {"adaptive_avg_pool2d", 1, {4}, {{2, 3, 7, 5}}, 0, 0},
    {"global_avg_pool", 1, {4}, {{2, 3, 4, 5}}, 0, 0},
    {"batch_norm_train", 3, {4, 1, 1}, {{4, 3, 3, 2}, {3}, {3}}, 3, 1},
    {"batch_norm_train_2d", 1, {2}, {{6, 4}}, 4, 1},
    {"batch_norm_eval", 3, {4, 1, 1}, {{4, 3, 3, 2}, {3}, {3}}, 3, 0},
    {"group_norm", 3, {4, 1, 1}, {{2, 6, 3, 2}, {6}, {6}}, 0, 0},
    {"sdpa", 3, {4, 4, 4}, {{2, 2, 4, 3}, {2, 2, 5, 3}, {2, 2, 5, 2}}, 0, 0},
    {"sdpa_causal", 3, {4, 4, 4}, {{2, 2, 5, 4}, {2, 2, 5, 4}, {2, 2, 5, 3}}, 0, 0},
    {"sdpa_causal_long", 3, {4, 4, 4}, {{1, 2, 70, 3}, {1, 2, 70, 3}, {1, 2, 70, 2}}, 0, 0},
    {"sdpa_causal_recompute_scaled", 3, {4, 4, 4}, {{1, 3, 6, 2}, {1, 3, 6, 2}, {1, 3, 6, 4}}, 0,
     0},
};

static void print_all(const bm_tensor *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        printf(" %.17g", t ? bm_tensor_get(t, i) : 0.0);
}

int main(void)
{
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
        const tcase *c = &cases[ci];
        bm_tape *t = bm_tape_new();
        bm_tensor *in[MAX_IN] = {NULL}, *g[MAX_IN] = {NULL}, *h[MAX_IN] = {NULL};
        for (int k = 0; k < c->n_in; k++) {
            in[k] = bm_tape_leaf(t, BM_F64, c->rank[k], c->shape[k], BM_REQUIRES_GRAD);
            for (size_t i = 0; in[k] && i < in[k]->size; i++)
                bm_tensor_set(in[k], i, 1.5 * sin(0.7 * (double)i + 1.3 * k + 0.1));
        }
        bn_stats st = {NULL, NULL};
        if (c->stats) {
            size_t C = (size_t)c->stats;
            st.mean = bm_tape_leaf(t, BM_F64, 1, &C, 0);
            st.var = bm_tape_leaf(t, BM_F64, 1, &C, 0);
            for (size_t i = 0; i < C; i++) {
                bm_tensor_set(st.mean, i, 0.1 * (double)i);
                bm_tensor_set(st.var, i, 1 + 0.2 * (double)i);
            }
        }
        bm_tensor *y = build(t, c, in, &st);
        if (!y) {
            fprintf(stderr, "%s: %s\n", c->name, bm_tape_error(t));
            return 1;
        }
        printf("%s", c->name);
        print_all(y, y->size);
        printf(" |");
        if (c->stats) { /* right after the one forward */
            print_all(st.mean, st.mean->size);
            print_all(st.var, st.var->size);
        }
        bm_tensor *s = bm_tape_leaf(t, BM_F64, y->rank, y->shape, 0);
        for (size_t i = 0; i < s->size; i++)
            bm_tensor_set(s, i, 1 + 0.01 * (double)i);
        if (bm_grad(t, &y, 1, in, (size_t)c->n_in, &s, 1, g) != BM_OK) {
            fprintf(stderr, "%s: %s\n", c->name, bm_tape_error(t));
            return 1;
        }
        bm_tensor *gv = NULL;
        for (int k = 0; k < c->n_in; k++) {
            bm_tensor *v = bm_tape_leaf(t, BM_F64, in[k]->rank, in[k]->shape, 0);
            for (size_t i = 0; i < v->size; i++)
                bm_tensor_set(v, i, 1 - 0.01 * (double)i);
            bm_tensor *term = bm_sum(t, bm_mul(t, g[k], v), BM_AXIS_ALL, 0);
            gv = gv ? bm_add(t, gv, term) : term;
        }
        if (gv && (gv->flags & BM_REQUIRES_GRAD) &&
            bm_grad(t, &gv, 1, in, (size_t)c->n_in, NULL, 0, h) != BM_OK) {
            fprintf(stderr, "%s: %s\n", c->name, bm_tape_error(t));
            return 1;
        }
        printf(" |");
        for (int k = 0; k < c->n_in; k++)
            print_all(g[k], in[k]->size);
        printf(" |");
        for (int k = 0; k < c->n_in; k++)
            print_all(h[k], in[k]->size);
        printf("\n");
        bm_tape_free(t);
    }
    return 0;
}
