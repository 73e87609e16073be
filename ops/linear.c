/* linear.c — the dense layer as one op: out = x·W + b (b optional).
 * out: [M,N]   in: x [M,K], W [K,N], b [N] or [1,N] (or no b).
 *
 * Forward: the GEMM writes x·W into out, then b is added row by row — the
 * same additions, in the same order, as add(matmul(x, W), b), so the values
 * are bit-identical to the two-op form, without its [M,N] intermediate.
 * (Seeding out with b and running the GEMM with beta = 1 measured slower —
 * W1's [300,64]: no faster; [300,3]: 6.5 µs against 4.1 — and rounds
 * differently once the GEMM splits K into blocks.)
 * vjp, in ops: dX = G·Wᵀ and dW = xᵀ·G (matmul_ex's transposed forms, no
 * transpose made; dX only when x needs a gradient — not for a model's
 * input), db = G summed over rows (sum_to). Each product has its own
 * workspace, reserved at record time, so a replayed step allocates nothing. */
#include "vec_internal.h"

static int linear_infer(bm_tape *tape, bm_node *n)
{
    const bm_tensor *x = n->in[0], *w = n->in[1], *b = n->n_in > 2 ? n->in[2] : NULL;
    char sx[64], sw[64], sb[64];
    if (n->n_in > 3) {
        bm_tape_fail(tape, BM_ERR_ARG, "bm_linear: takes x, W and an optional b, got %d inputs",
                     n->n_in);
        return -1;
    }
    if (x->rank != 2 || w->rank != 2) {
        bm_tape_fail(tape, BM_ERR_RANK, "bm_linear: %s x %s: x and W must be 2-D",
                     BM_SHP(x, sx), BM_SHP(w, sw));
        return -1;
    }
    if (x->shape[1] != w->shape[0]) {
        bm_tape_fail(tape, BM_ERR_SHAPE, "bm_linear: %s x %s: inner sizes differ",
                     BM_SHP(x, sx), BM_SHP(w, sw));
        return -1;
    }
    size_t N = w->shape[1];
    int row = !b || (b->rank == 1 && b->shape[0] == N) ||
              (b->rank == 2 && b->shape[0] == 1 && b->shape[1] == N);
    if (!row) {
        bm_tape_fail(tape, BM_ERR_SHAPE, "bm_linear: %s x %s + %s: bias must be [%zu] or [1,%zu]",
                     BM_SHP(x, sx), BM_SHP(w, sw), BM_SHP(b, sb), N, N);
        return -1;
    }
    n->out->rank = 2;
    n->out->shape[0] = x->shape[0];
    n->out->shape[1] = N;
    n->scratch_bytes = bm_matmul_workspace(tape, x->dtype, 0, 0, x->shape[0], N, x->shape[1]);
    return 0;
}

static void linear_forward(bm_tape *tape, bm_node *n)
{
    const bm_tensor *x = n->in[0], *w = n->in[1], *b = n->n_in > 2 ? n->in[2] : NULL;
    size_t M = x->shape[0], K = x->shape[1], N = w->shape[1];
    bm_pool *pool = bm_tape_pool(tape);
    if (x->dtype == BM_F64) {
        bm_gemm_f64_ex(0, 0, M, N, K, 1.0, x->data, K, w->data, N, 0.0, n->out->data, N, pool,
                       n->scratch, n->scratch_bytes);
        if (b)
            bm_vec()->f64.add_rows(n->out->data, b->data, M, N);
    } else {
        bm_gemm_f32_ex(0, 0, M, N, K, 1.0f, x->data, K, w->data, N, 0.0f, n->out->data, N, pool,
                       n->scratch, n->scratch_bytes);
        if (b)
            bm_vec()->f32.add_rows(n->out->data, b->data, M, N);
    }
}

static bm_status linear_vjp(bm_tape *tape, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    bm_tensor *x = n->in[0], *w = n->in[1];
    if (bm_op_wants_grad(tape, n, 0))
        dx[0] = bm_matmul_ex(tape, g, w, 0, 1); /* [M,K] = G [M,N] · Wᵀ */
    if (bm_op_wants_grad(tape, n, 1))
        dx[1] = bm_matmul_ex(tape, x, g, 1, 0); /* [K,N] = xᵀ · G */
    if (n->n_in > 2 && bm_op_wants_grad(tape, n, 2))
        dx[2] = bm_grad_to(tape, g, n->in[2]); /* column sums */
    return bm_tape_status(tape);
}

/* 2·M·N·K for the product, M·N for the bias. */
static double linear_flops(const bm_node *n)
{
    double mn = (double)n->out->size;
    return 2.0 * mn * (double)n->in[0]->shape[1] + (n->n_in > 2 ? mn : 0.0);
}

const bm_op bm_op_linear = {
    .name = "linear",
    .arity = BM_OP_VARIADIC,
    .infer = linear_infer,
    .forward = linear_forward,
    .vjp = linear_vjp,
    .flops = linear_flops,
};

bm_tensor *bm_linear(bm_tape *t, bm_tensor *x, bm_tensor *w, bm_tensor *b)
{
    bm_tensor *in[3] = {x, w, b};
    return bm_tape_apply(t, &bm_op_linear, in, b ? 3 : 2, NULL);
}
