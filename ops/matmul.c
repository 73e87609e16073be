/* matmul.c — 2-D matrix product on the GEMM kernel, either operand
 * optionally transposed (read transposed in place: no copy is made).
 * out: C [M,N] = op(A)·op(B)   in: A [M,K] (ta: stored [K,M]),
 *                                  B [K,N] (tb: stored [N,K]).
 * vjp, also products: d op(A) = G·op(B)ᵀ, d op(B) = op(A)ᵀ·G, each written
 * as one matmul_ex with the transposes that make it, so the gradient is
 * differentiable again. The products run on the tape's threads with the
 * node's scratch as their workspace (reserved at record time): replaying
 * allocates nothing. With accumulate (a leaf's gradient written in place)
 * the product adds into C (beta = 1). */
#include <stdio.h>

#include "ops_internal.h"

typedef struct matmul_params {
    int ta, tb; /* read A / B transposed */
} matmul_params;

size_t bm_matmul_workspace(const bm_tape *tape, bm_dtype dt, int ta, int tb, size_t M,
                           size_t N, size_t K)
{
    return bm_gemm_workspace_bytes(dt, ta, tb, M, N, K, bm_tape_threads(tape));
}

/* Rows and columns of op(t). */
static size_t op_rows(const bm_tensor *t, int tr) { return t->shape[tr ? 1 : 0]; }
static size_t op_cols(const bm_tensor *t, int tr) { return t->shape[tr ? 0 : 1]; }

static int matmul_infer(bm_tape *tape, bm_node *n)
{
    const bm_tensor *a = n->in[0], *b = n->in[1];
    const matmul_params *p = n->params;
    char sa[64], sb[64];
    if (a->rank != 2 || b->rank != 2) {
        bm_tape_fail(tape, BM_ERR_RANK, "bm_matmul: %s x %s: both inputs must be 2-D",
                     BM_SHP(a, sa), BM_SHP(b, sb));
        return -1;
    }
    size_t M = op_rows(a, p->ta), K = op_cols(a, p->ta), N = op_cols(b, p->tb);
    if (K != op_rows(b, p->tb)) {
        bm_tape_fail(tape, BM_ERR_SHAPE, "bm_matmul: %s%s x %s%s: inner sizes differ",
                     BM_SHP(a, sa), p->ta ? "ᵀ" : "", BM_SHP(b, sb), p->tb ? "ᵀ" : "");
        return -1;
    }
    n->out->rank = 2;
    n->out->shape[0] = M;
    n->out->shape[1] = N;
    n->scratch_bytes = bm_matmul_workspace(tape, a->dtype, p->ta, p->tb, M, N, K);
    return 0;
}

/* C [M,N] (+)= op(A)·op(B). */
static void matmul_forward(bm_tape *tape, bm_node *n)
{
    const bm_tensor *a = n->in[0], *b = n->in[1];
    const matmul_params *p = n->params;
    size_t M = n->out->shape[0], N = n->out->shape[1], K = op_cols(a, p->ta);
    size_t lda = a->shape[1], ldb = b->shape[1];
    bm_pool *pool = bm_tape_pool(tape);
    if (a->dtype == BM_F64)
        bm_gemm_f64_ex(p->ta, p->tb, M, N, K, 1.0, a->data, lda, b->data, ldb,
                       n->accumulate ? 1.0 : 0.0, n->out->data, N, pool, n->scratch,
                       n->scratch_bytes);
    else
        bm_gemm_f32_ex(p->ta, p->tb, M, N, K, 1.0f, a->data, lda, b->data, ldb,
                       n->accumulate ? 1.0f : 0.0f, n->out->data, N, pool, n->scratch,
                       n->scratch_bytes);
}

/* C = op(A)·op(B): d op(A) = G·op(B)ᵀ, d op(B) = op(A)ᵀ·G; for a stored-
 * transposed operand the gradient is the transpose of that, which is again
 * one product with the operands swapped. */
static bm_status matmul_vjp(bm_tape *tape, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    bm_tensor *a = n->in[0], *b = n->in[1];
    const matmul_params *p = n->params;
    if (bm_op_wants_grad(tape, n, 0))
        dx[0] = p->ta ? bm_matmul_ex(tape, b, g, p->tb, 1) : bm_matmul_ex(tape, g, b, 0, !p->tb);
    if (bm_op_wants_grad(tape, n, 1))
        dx[1] = p->tb ? bm_matmul_ex(tape, g, a, 1, p->ta) : bm_matmul_ex(tape, a, g, !p->ta, 0);
    return bm_tape_status(tape);
}

static void matmul_describe(const bm_node *n, char *buf, size_t len)
{
    const matmul_params *p = n->params;
    if (p->ta || p->tb)
        snprintf(buf, len, "%s%s", p->ta ? "Aᵀ" : "A", p->tb ? "·Bᵀ" : "·B");
}

const bm_op bm_op_matmul = {
    .name = "matmul",
    .arity = 2,
    .params_size = sizeof(matmul_params),
    .flags = BM_OP_ACCUMULATES,
    .infer = matmul_infer,
    .forward = matmul_forward,
    .vjp = matmul_vjp,
    .describe = matmul_describe,
};

bm_tensor *bm_matmul_ex(bm_tape *t, bm_tensor *a, bm_tensor *b, int ta, int tb)
{
    bm_tensor *in[2] = {a, b};
    matmul_params p = {.ta = ta != 0, .tb = tb != 0};
    return bm_tape_apply(t, &bm_op_matmul, in, 2, &p);
}

bm_tensor *bm_matmul(bm_tape *t, bm_tensor *a, bm_tensor *b) { return bm_matmul_ex(t, a, b, 0, 0); }
