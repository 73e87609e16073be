/* matmul.c — matrix products on the GEMM kernel, either operand
 * optionally transposed (read transposed in place: no copy is made), with
 * leading batch axes broadcast as torch.matmul does (ranks 2–4).
 * out: C [..,M,N] = op(A)·op(B)   in: A [..,M,K] (ta: stored [..,K,M]),
 *                                     B [..,K,N] (tb: stored [..,N,K]);
 * the leading axes of A and B broadcast (NumPy rules) to C's.
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

/* Rows and columns of op(t)'s matrices (its last two axes). */
static size_t op_rows(const bm_tensor *t, int tr) { return t->shape[t->rank - (tr ? 1 : 2)]; }
static size_t op_cols(const bm_tensor *t, int tr) { return t->shape[t->rank - (tr ? 2 : 1)]; }

/* Leading (batch) axes: padded to BM_MAX_RANK − 2 on the left. */
enum { BATCH_AXES = BM_MAX_RANK - 2 };

/* Size of t's batch axis k (padded, 1 where t has none). */
static size_t batch_dim(const bm_tensor *t, int k)
{
    int ax = k - (BATCH_AXES - (t->rank - 2));
    return ax >= 0 ? t->shape[ax] : 1;
}

static int matmul_infer(bm_tape *tape, bm_node *n)
{
    const bm_tensor *a = n->in[0], *b = n->in[1];
    const matmul_params *p = n->params;
    char sa[64], sb[64];
    if (a->rank < 2 || b->rank < 2) {
        bm_tape_fail(tape, BM_ERR_RANK, "bm_matmul: %s x %s: both inputs must be 2-D or more",
                     BM_SHP(a, sa), BM_SHP(b, sb));
        return -1;
    }
    size_t M = op_rows(a, p->ta), K = op_cols(a, p->ta), N = op_cols(b, p->tb);
    if (K != op_rows(b, p->tb)) {
        bm_tape_fail(tape, BM_ERR_SHAPE, "bm_matmul: %s%s x %s%s: inner sizes differ",
                     BM_SHP(a, sa), p->ta ? "ᵀ" : "", BM_SHP(b, sb), p->tb ? "ᵀ" : "");
        return -1;
    }
    int r = a->rank > b->rank ? a->rank : b->rank;
    for (int k = BATCH_AXES - (r - 2); k < BATCH_AXES; k++) {
        size_t da = batch_dim(a, k), db = batch_dim(b, k);
        if (da != db && da != 1 && db != 1) {
            bm_tape_fail(tape, BM_ERR_SHAPE,
                         "bm_matmul: %s x %s: batch axes do not broadcast (%zu vs %zu)",
                         BM_SHP(a, sa), BM_SHP(b, sb), da, db);
            return -1;
        }
        n->out->shape[k - (BATCH_AXES - (r - 2))] = da > db ? da : db;
    }
    n->out->rank = r;
    n->out->shape[r - 2] = M;
    n->out->shape[r - 1] = N;
    n->scratch_bytes = bm_matmul_workspace(tape, a->dtype, p->ta, p->tb, M, N, K);
    return 0;
}

/* C [..,M,N] (+)= op(A)·op(B), one GEMM per batch element (broadcast
 * operands read with a stride of 0). */
static void matmul_forward(bm_tape *tape, bm_node *n)
{
    const bm_tensor *a = n->in[0], *b = n->in[1], *c = n->out;
    const matmul_params *p = n->params;
    size_t M = c->shape[c->rank - 2], N = c->shape[c->rank - 1], K = op_cols(a, p->ta);
    size_t lda = a->shape[a->rank - 1], ldb = b->shape[b->rank - 1];
    size_t sa = a->shape[a->rank - 2] * lda, sb = b->shape[b->rank - 2] * ldb, sc = M * N;
    size_t dims[BATCH_AXES], ast[BATCH_AXES], bst[BATCH_AXES], batches = 1;
    for (int k = BATCH_AXES - 1; k >= 0; k--) {
        size_t da = batch_dim(a, k), db = batch_dim(b, k);
        dims[k] = da > db ? da : db;
        ast[k] = da == 1 ? 0 : sa;
        bst[k] = db == 1 ? 0 : sb;
        sa *= da;
        sb *= db;
        batches *= dims[k];
    }
    bm_pool *pool = bm_tape_pool(tape);
    size_t esz = bm_dtype_size(c->dtype);
    for (size_t i = 0; i < batches; i++) {
        size_t rest = i, ao = 0, bo = 0;
        for (int k = BATCH_AXES - 1; k >= 0; k--) {
            size_t ik = rest % dims[k];
            rest /= dims[k];
            ao += ik * ast[k];
            bo += ik * bst[k];
        }
        const unsigned char *A = (const unsigned char *)a->data + ao * esz;
        const unsigned char *B = (const unsigned char *)b->data + bo * esz;
        unsigned char *C = (unsigned char *)c->data + i * sc * esz;
        if (c->dtype == BM_F64)
            bm_gemm_f64_ex(p->ta, p->tb, M, N, K, 1.0, (const double *)A, lda,
                           (const double *)B, ldb, n->accumulate ? 1.0 : 0.0, (double *)C, N,
                           pool, n->scratch, n->scratch_bytes);
        else
            bm_gemm_f32_ex(p->ta, p->tb, M, N, K, 1.0f, (const float *)A, lda,
                           (const float *)B, ldb, n->accumulate ? 1.0f : 0.0f, (float *)C, N,
                           pool, n->scratch, n->scratch_bytes);
    }
}

/* C = op(A)·op(B): d op(A) = G·op(B)ᵀ, d op(B) = op(A)ᵀ·G; for a stored-
 * transposed operand the gradient is the transpose of that, which is again
 * one product with the operands swapped. */
static bm_status matmul_vjp(bm_tape *tape, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    bm_tensor *a = n->in[0], *b = n->in[1];
    const matmul_params *p = n->params;
    /* batched: the products broadcast like the forward; bm_grad_to sums an
     * operand's gradient over the batch axes it was broadcast along */
    if (bm_op_wants_grad(tape, n, 0))
        dx[0] = bm_grad_to(tape, p->ta ? bm_matmul_ex(tape, b, g, p->tb, 1)
                                       : bm_matmul_ex(tape, g, b, 0, !p->tb), a);
    if (bm_op_wants_grad(tape, n, 1))
        dx[1] = bm_grad_to(tape, p->tb ? bm_matmul_ex(tape, g, a, 1, p->ta)
                                       : bm_matmul_ex(tape, a, g, !p->ta, 0), b);
    return bm_tape_status(tape);
}

static void matmul_describe(const bm_node *n, char *buf, size_t len)
{
    const matmul_params *p = n->params;
    if (p->ta || p->tb)
        snprintf(buf, len, "%s%s", p->ta ? "Aᵀ" : "A", p->tb ? "·Bᵀ" : "·B");
}

/* 2·M·N·K per batch element: out [..,M,N] from K-long dot products. */
static double matmul_flops(const bm_node *n)
{
    const matmul_params *p = n->params;
    return 2.0 * (double)n->out->size * (double)op_cols(n->in[0], p->ta);
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
    .flops = matmul_flops,
};

bm_tensor *bm_matmul_ex(bm_tape *t, bm_tensor *a, bm_tensor *b, int ta, int tb)
{
    bm_tensor *in[2] = {a, b};
    matmul_params p = {.ta = ta != 0, .tb = tb != 0};
    return bm_tape_apply(t, &bm_op_matmul, in, 2, &p);
}

bm_tensor *bm_matmul(bm_tape *t, bm_tensor *a, bm_tensor *b) { return bm_matmul_ex(t, a, b, 0, 0); }

bm_tensor *bm_bmm(bm_tape *t, bm_tensor *a, bm_tensor *b)
{
    char sa[64], sb[64];
    if (a && b && (a->rank != 3 || b->rank != 3 || a->shape[0] != b->shape[0])) {
        bm_tape_fail(t, BM_ERR_SHAPE, "bm_bmm: %s x %s: need [B,M,K] x [B,K,N]", BM_SHP(a, sa),
                     BM_SHP(b, sb));
        return NULL;
    }
    return bm_matmul_ex(t, a, b, 0, 0);
}

bm_tensor *bm_outer(bm_tape *t, bm_tensor *a, bm_tensor *b)
{
    char sa[64], sb[64];
    if (a && b && (a->rank != 1 || b->rank != 1)) {
        bm_tape_fail(t, BM_ERR_SHAPE, "bm_outer: %s x %s: need two vectors", BM_SHP(a, sa),
                     BM_SHP(b, sb));
        return NULL;
    }
    bm_tensor *col = bm_reshape(t, a, 2, (size_t[]){a ? a->size : 1, 1});
    bm_tensor *row = bm_reshape(t, b, 2, (size_t[]){1, b ? b->size : 1});
    return bm_matmul(t, col, row);
}
