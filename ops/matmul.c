/* matmul.c — 2-D matrix product on the GEMM kernel.
 * out: C [M,N]   in: A [M,K], B [K,N].  dA += G·Bᵀ, dB += Aᵀ·G, both by
 * GEMM's transposed-operand forms, so no transpose is ever materialised.
 * The products run on the tape's threads; their scratch memory is the
 * node's saved buffer, sized at record time (the arena holds it), so
 * replaying the graph allocates nothing. */
#include "ops_internal.h"

size_t bm_matmul_workspace(const bm_tape *tape, bm_dtype dt, size_t M, size_t K, size_t N,
                           int need_da, int need_db)
{
    int threads = bm_tape_threads(tape), grad = bm_tape_grad_enabled(tape);
    size_t ws = bm_gemm_workspace_bytes(dt, 0, 0, M, N, K, threads), b;
    if (grad && need_da && (b = bm_gemm_workspace_bytes(dt, 0, 1, M, K, N, threads)) > ws)
        ws = b;
    if (grad && need_db && (b = bm_gemm_workspace_bytes(dt, 1, 0, K, N, M, threads)) > ws)
        ws = b;
    return ws;
}

static int matmul_infer(bm_tape *tape, bm_node *n)
{
    const bm_tensor *a = n->in[0], *b = n->in[1];
    char sa[64], sb[64];
    if (a->rank != 2 || b->rank != 2) {
        bm_tape_fail(tape, BM_ERR_RANK, "bm_matmul: %s x %s: both inputs must be 2-D",
                     BM_SHP(a, sa), BM_SHP(b, sb));
        return -1;
    }
    if (a->shape[1] != b->shape[0]) {
        bm_tape_fail(tape, BM_ERR_SHAPE, "bm_matmul: %s x %s: inner sizes differ",
                     BM_SHP(a, sa), BM_SHP(b, sb));
        return -1;
    }
    n->out->rank = 2;
    n->out->shape[0] = a->shape[0];
    n->out->shape[1] = b->shape[1];
    n->saved_bytes = bm_matmul_workspace(tape, a->dtype, a->shape[0], a->shape[1], b->shape[1],
                                         (a->flags & BM_REQUIRES_GRAD) != 0,
                                         (b->flags & BM_REQUIRES_GRAD) != 0);
    return 0;
}

static void matmul_forward(bm_tape *tape, bm_node *n)
{
    const bm_tensor *a = n->in[0], *b = n->in[1];
    size_t M = a->shape[0], K = a->shape[1], N = b->shape[1];
    bm_pool *pool = bm_tape_pool(tape);
    if (a->dtype == BM_F64)
        bm_gemm_f64_ex(0, 0, M, N, K, 1.0, a->data, K, b->data, N, 0.0, n->out->data, N, pool,
                       n->saved, n->saved_bytes);
    else
        bm_gemm_f32_ex(0, 0, M, N, K, 1.0f, a->data, K, b->data, N, 0.0f, n->out->data, N, pool,
                       n->saved, n->saved_bytes);
}

static void matmul_backward(bm_tape *tape, bm_node *n)
{
    bm_tensor *a = n->in[0], *b = n->in[1];
    size_t M = a->shape[0], K = a->shape[1], N = b->shape[1];
    void *ga = bm_grad_buf(tape, a), *gb = bm_grad_buf(tape, b);
    const void *g = n->out->grad;
    bm_pool *pool = bm_tape_pool(tape);
    void *ws = n->saved;
    size_t wsb = n->saved_bytes;
    if (a->dtype == BM_F64) {
        if (ga) /* [M,K] += G [M,N] · Bᵀ (B stored [K,N]) */
            bm_gemm_f64_ex(0, 1, M, K, N, 1.0, g, N, b->data, N, 1.0, ga, K, pool, ws, wsb);
        if (gb) /* [K,N] += Aᵀ (A stored [M,K]) · G [M,N] */
            bm_gemm_f64_ex(1, 0, K, N, M, 1.0, a->data, K, g, N, 1.0, gb, N, pool, ws, wsb);
    } else {
        if (ga)
            bm_gemm_f32_ex(0, 1, M, K, N, 1.0f, g, N, b->data, N, 1.0f, ga, K, pool, ws, wsb);
        if (gb)
            bm_gemm_f32_ex(1, 0, K, N, M, 1.0f, a->data, K, g, N, 1.0f, gb, N, pool, ws, wsb);
    }
}

const bm_op bm_op_matmul = {"matmul", 2, 0, matmul_infer, matmul_forward, matmul_backward};

bm_tensor *bm_matmul(bm_tape *t, bm_tensor *a, bm_tensor *b)
{
    bm_tensor *in[2] = {a, b};
    return bm_tape_apply(t, &bm_op_matmul, in, 2, NULL);
}
