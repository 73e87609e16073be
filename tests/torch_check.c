/* torch_check.c — prints, for each listed op on a fixed f64 input, the
 * value, the gradient for the seed 1 + 0.1·i and the second derivative
 * d/dx Σ v·grad (v = 1 − 0.05·i); tests/torch_check.py compares all three
 * with PyTorch. */
#include <bmnn.h>
#include <stdio.h>
#include <string.h>

static bm_tensor *sq(bm_tape *t, bm_tensor *x) { return bm_softmax(t, x); }
static bm_tensor *ln(bm_tape *t, bm_tensor *x) { return bm_layer_norm(t, x, NULL, NULL, 1e-5); }
static bm_tensor *rms(bm_tape *t, bm_tensor *x) { return bm_rms_norm(t, x, NULL, 1e-6); }
/* A constant of x's tape: n values. */
static bm_tensor *konst(bm_tape *t, int rank, const size_t *shape, const double *v)
{
    bm_tensor *c = bm_tape_leaf(t, BM_F64, rank, shape, 0);
    for (size_t i = 0; c && i < c->size; i++)
        bm_tensor_set(c, i, v[i]);
    return c;
}
static bm_tensor *ce(bm_tape *t, bm_tensor *x)
{
    return bm_cross_entropy(t, x, konst(t, 1, (size_t[]){3}, (double[]){1, 3, 0}), 3, 0.1);
}
static bm_tensor *nll(bm_tape *t, bm_tensor *x)
{
    return bm_nll_loss(t, x, konst(t, 1, (size_t[]){3}, (double[]){2, 0, 1}), 0);
}
static bm_tensor *hub(bm_tape *t, bm_tensor *x)
{
    static const double half[12] = {.5, .5, .5, .5, .5, .5, .5, .5, .5, .5, .5, .5};
    return bm_huber(t, x, konst(t, 2, (size_t[]){3, 4}, half), 1.0);
}
static bm_tensor *kl(bm_tape *t, bm_tensor *x)
{
    static const double p[12] = {.1, .2, .3, .4, 0, .5, .25, .25, .7, .1, .1, .1};
    return bm_kl_div(t, x, konst(t, 2, (size_t[]){3, 4}, p));
}
static const double X[12] = {-1.7, -0.9, -0.3, 0.0, 0.2, 0.45, 0.8, 1.1, 1.9, 2.6, -2.2, 3.1};
typedef bm_tensor *(*fn)(bm_tape *, bm_tensor *);
static bm_tensor *gelu0(bm_tape *t, bm_tensor *x) { return bm_gelu(t, x, 0); }
static bm_tensor *gelu1(bm_tape *t, bm_tensor *x) { return bm_gelu(t, x, 1); }
static bm_tensor *sp(bm_tape *t, bm_tensor *x) { return bm_softplus(t, x, 1.5, 2.0); }
static bm_tensor *lr(bm_tape *t, bm_tensor *x) { return bm_leaky_relu(t, x, 0.1); }
static bm_tensor *el(bm_tape *t, bm_tensor *x) { return bm_elu(t, x, 0.7); }
static bm_tensor *mx(bm_tape *t, bm_tensor *x) { return bm_max(t, x, 1, 0); }
static bm_tensor *lse(bm_tape *t, bm_tensor *x) { return bm_logsumexp(t, x, 0, 0); }
static bm_tensor *var(bm_tape *t, bm_tensor *x) { return bm_var(t, x, 1, 1, 0); }
static bm_tensor *sd(bm_tape *t, bm_tensor *x) { return bm_std(t, x, 0, 0, 1); }
static bm_tensor *nm(bm_tape *t, bm_tensor *x) { return bm_norm(t, x, 1, 0); }
static bm_tensor *cs(bm_tape *t, bm_tensor *x) { return bm_cumsum(t, x, 1, 0); }
/* Shape and indexing ops (issue 10 §1) and prod; X holds a 0 (row 0). */
static bm_tensor *prod1(bm_tape *t, bm_tensor *x) { return bm_prod(t, x, 1, 0); }
static bm_tensor *prod_all(bm_tape *t, bm_tensor *x) { return bm_prod(t, x, BM_AXIS_ALL, 0); }
static bm_tensor *perm(bm_tape *t, bm_tensor *x) { return bm_square(t, bm_permute(t, x, 2, (int[]){1, 0})); }
static bm_tensor *slc(bm_tape *t, bm_tensor *x)
{
    return bm_square(t, bm_slice(t, x, 2, (bm_range[]){{1, BM_END, 1}, {-3, BM_END, 2}}));
}
static bm_tensor *pad(bm_tape *t, bm_tensor *x)
{
    return bm_square(t, bm_pad(t, x, (long[]){1, 0}, (long[]){0, 2}, 0.5));
}
static bm_tensor *cat(bm_tape *t, bm_tensor *x)
{
    return bm_concat(t, 2, (bm_tensor *[]){x, bm_square(t, x)}, 0);
}
static bm_tensor *stk(bm_tape *t, bm_tensor *x)
{
    return bm_stack(t, 2, (bm_tensor *[]){bm_sin(t, x), bm_square(t, x)}, 1);
}
static bm_tensor *gat(bm_tape *t, bm_tensor *x)
{
    bm_tensor *i = konst(t, 2, (size_t[]){3, 2}, (double[]){3, 0, 1, 1, 2, 3});
    return bm_square(t, bm_gather(t, x, 1, i));
}
static bm_tensor *isel(bm_tape *t, bm_tensor *x)
{
    return bm_square(t, bm_index_select(t, x, 0, konst(t, 1, (size_t[]){3}, (double[]){2, 0, 2})));
}
static bm_tensor *emb(bm_tape *t, bm_tensor *x)
{
    return bm_sin(t, bm_embedding(t, konst(t, 2, (size_t[]){2, 2}, (double[]){1, 2, 2, 0}), x));
}
static bm_tensor *wh(bm_tape *t, bm_tensor *x)
{
    return bm_where(t, bm_gt(t, x, bm_tape_scalar(t, BM_F64, 0.5)), bm_sin(t, x), bm_square(t, x));
}
static bm_tensor *mf(bm_tape *t, bm_tensor *x)
{
    bm_tensor *m = konst(t, 2, (size_t[]){1, 4}, (double[]){0, 1, 0, 1});
    return bm_square(t, bm_masked_fill(t, x, m, -1.5));
}
static bm_tensor *sca(bm_tape *t, bm_tensor *x)
{
    bm_tensor *i = konst(t, 2, (size_t[]){2, 4}, (double[]){2, 0, 0, 1, 2, 2, 1, 1});
    return bm_square(t, bm_scatter_add(t, x, 0, i, bm_slice_axis(t, bm_square(t, x), 0, 0, 2, 1)));
}
static bm_tensor *iadd(bm_tape *t, bm_tensor *x)
{
    bm_tensor *i = konst(t, 1, (size_t[]){2}, (double[]){3, 3});
    return bm_square(t, bm_index_add(t, x, 1, i, bm_slice_axis(t, bm_sin(t, x), 1, 0, 2, 1)));
}
int main(void)
{
    struct { const char *n; fn f; } ops[] = {{"gelu", gelu0}, {"gelu_tanh", gelu1}, {"silu", bm_silu},
        {"softplus", sp}, {"leaky_relu", lr}, {"elu", el}, {"erf", bm_erf}, {"sin", bm_sin},
        {"expm1", bm_expm1}, {"max1", mx}, {"lse0", lse}, {"var1", var}, {"std0", sd}, {"norm1", nm}, {"cumsum1", cs},
        {"softmax", sq}, {"tanh", bm_tanh}, {"sigmoid", bm_sigmoid}, {"relu", bm_relu}, {"abs", bm_abs},
        {"exp", bm_exp}, {"log_softmax", bm_log_softmax}, {"square", bm_square}, {"cos", bm_cos}, {"layer_norm", ln}, {"rms_norm", rms},
        {"cross_entropy", ce}, {"nll_loss", nll}, {"huber", hub}, {"kl_div", kl},
        {"prod1", prod1}, {"prod_all", prod_all}, {"permute", perm}, {"slice", slc}, {"pad", pad},
        {"concat", cat}, {"stack", stk}, {"gather", gat}, {"index_select", isel},
        {"embedding", emb}, {"where", wh}, {"masked_fill", mf}, {"scatter_add", sca},
        {"index_add", iadd}};
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        bm_tape *t = bm_tape_new();
        bm_tensor *x = bm_tape_leaf(t, BM_F64, 2, (size_t[]){3, 4}, BM_REQUIRES_GRAD);
        for (int i = 0; i < 12; i++) bm_tensor_set(x, i, X[i]);
        bm_tensor *y = ops[k].f(t, x);
        bm_tensor *s = bm_tape_leaf(t, BM_F64, y->rank, y->shape, 0);
        for (size_t i = 0; i < s->size; i++) bm_tensor_set(s, i, 1 + 0.1 * (double)i);
        bm_tensor *g = NULL, *h = NULL;
        if (bm_grad(t, &y, 1, &x, 1, &s, 1, &g) != BM_OK) {
            fprintf(stderr, "%s: %s\n", ops[k].n, bm_tape_error(t));
            return 1;
        }
        bm_tensor *v = bm_tape_leaf(t, BM_F64, 2, (size_t[]){3, 4}, 0);
        for (int i = 0; i < 12; i++) bm_tensor_set(v, i, 1 - 0.05 * i);
        bm_tensor *gv = bm_sum(t, bm_mul(t, g, v), BM_AXIS_ALL, 0);
        if (!gv || !(gv->flags & BM_REQUIRES_GRAD) ? 0 : bm_grad(t, &gv, 1, &x, 1, NULL, 0, &h) != BM_OK) {
            fprintf(stderr, "%s: %s\n", ops[k].n, bm_tape_error(t));
            return 1;
        }
        printf("%s", ops[k].n);
        for (size_t i = 0; i < y->size; i++) printf(" %.17g", bm_tensor_get(y, i));
        printf(" |");
        for (int i = 0; i < 12; i++) printf(" %.17g", bm_tensor_get(g, i));
        printf(" |");
        for (int i = 0; i < 12; i++) printf(" %.17g", h ? bm_tensor_get(h, i) : 0.0);
        printf("\n");
        bm_tape_free(t);
    }
}
