/* linear.c — the dense layer as one op: out = x·W + b.
 * out: [M,N]   in: x [M,K], W [K,N], b [N] or [1,N].
 *
 * Forward: the GEMM writes x·W into out, then b is added row by row — the
 * same additions, in the same order, as add(matmul(x, W), b), so the values
 * are bit-identical to the two-op form, without its [M,N] intermediate.
 * (Seeding out with b and running the GEMM with beta = 1 measured slower —
 * W1's [300,64]: no faster; [300,3]: 6.5 µs against 4.1 — and rounds
 * differently once the GEMM splits K into blocks.)
 * Backward: dX += G·Wᵀ and dW += xᵀ·G by the GEMM's transposed forms (dX is
 * skipped when x needs no gradient: a model's input; it is stored, not
 * added, when x is an intermediate no other op has given a gradient yet),
 * db += the column sums of G, added row by row as add's backward does.
 * The products run on the tape's threads, with the node's saved buffer as
 * their scratch memory (sized at record time, as matmul's), so a replayed
 * step allocates nothing. */
#include "ops_internal.h"

static int linear_infer(bm_tape *tape, bm_node *n)
{
    const bm_tensor *x = n->in[0], *w = n->in[1], *b = n->in[2];
    char sx[64], sw[64], sb[64];
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
    int row = (b->rank == 1 && b->shape[0] == N) ||
              (b->rank == 2 && b->shape[0] == 1 && b->shape[1] == N);
    if (!row) {
        bm_tape_fail(tape, BM_ERR_SHAPE, "bm_linear: %s x %s + %s: bias must be [%zu] or [1,%zu]",
                     BM_SHP(x, sx), BM_SHP(w, sw), BM_SHP(b, sb), N, N);
        return -1;
    }
    n->out->rank = 2;
    n->out->shape[0] = x->shape[0];
    n->out->shape[1] = N;
    n->saved_bytes = bm_matmul_workspace(tape, x->dtype, x->shape[0], x->shape[1], N,
                                         (x->flags & BM_REQUIRES_GRAD) != 0,
                                         (w->flags & BM_REQUIRES_GRAD) != 0);
    return 0;
}

/* Elements of the stack pattern that narrow rows are added from. */
#define BIAS_SPAN 64

/* out[r,:] += b for each of M rows of N. Rows narrower than BIAS_SPAN go
 * several at a time, from b repeated in a stack buffer: one long
 * vectorised loop instead of a short one per row (the same additions). */
#define ADD_ROWS(T, out, b, M, N)                                                     \
    do {                                                                              \
        T *restrict o_ = (out);                                                       \
        const T *restrict b_ = (b);                                                   \
        size_t k_ = (N) < BIAS_SPAN ? BIAS_SPAN / (N) : 1, r_ = 0;                    \
        if (k_ > 1) {                                                                 \
            T pat_[BIAS_SPAN];                                                        \
            const size_t w_ = k_ * (N);                                               \
            for (size_t j_ = 0; j_ < w_; j_++)                                        \
                pat_[j_] = b_[j_ % (N)];                                              \
            for (; r_ + k_ <= (M); r_ += k_, o_ += w_)                                \
                for (size_t j_ = 0; j_ < w_; j_++)                                    \
                    o_[j_] += pat_[j_];                                               \
        }                                                                             \
        for (; r_ < (M); r_++, o_ += (N))                                             \
            for (size_t j_ = 0; j_ < (N); j_++)                                       \
                o_[j_] += b_[j_];                                                     \
    } while (0)

static void linear_forward(bm_tape *tape, bm_node *n)
{
    const bm_tensor *x = n->in[0], *w = n->in[1], *b = n->in[2];
    size_t M = x->shape[0], K = x->shape[1], N = w->shape[1];
    bm_pool *pool = bm_tape_pool(tape);
    if (x->dtype == BM_F64) {
        bm_gemm_f64_ex(0, 0, M, N, K, 1.0, x->data, K, w->data, N, 0.0, n->out->data, N, pool,
                       n->saved, n->saved_bytes);
        ADD_ROWS(double, n->out->data, b->data, M, N);
    } else {
        bm_gemm_f32_ex(0, 0, M, N, K, 1.0f, x->data, K, w->data, N, 0.0f, n->out->data, N, pool,
                       n->saved, n->saved_bytes);
        ADD_ROWS(float, n->out->data, b->data, M, N);
    }
}

/* gb[j] += Σ_r g[r,j], row by row (M rows of N); 32 columns at a time in
 * registers. */
#define COLUMN_SUMS(T, gb, g, M, N)                                                   \
    do {                                                                              \
        enum { CB_ = 32 };                                                            \
        T *restrict s_ = (gb);                                                        \
        size_t j0_ = 0;                                                               \
        for (; j0_ + CB_ <= (N); j0_ += CB_) {                                        \
            T acc_[CB_];                                                              \
            for (size_t j_ = 0; j_ < CB_; j_++) acc_[j_] = s_[j0_ + j_];             \
            const T *restrict g_ = (const T *)(g) + j0_;                              \
            for (size_t r_ = 0; r_ < (M); r_++, g_ += (N))                            \
                for (size_t j_ = 0; j_ < CB_; j_++) acc_[j_] += g_[j_];               \
            for (size_t j_ = 0; j_ < CB_; j_++) s_[j0_ + j_] = acc_[j_];             \
        }                                                                             \
        if (j0_ < (N)) {                                                              \
            const T *restrict g_ = (g);                                               \
            for (size_t r_ = 0; r_ < (M); r_++, g_ += (N))                            \
                for (size_t j_ = j0_; j_ < (N); j_++)                                 \
                    s_[j_] += g_[j_];                                                 \
        }                                                                             \
    } while (0)

static void linear_backward(bm_tape *tape, bm_node *n)
{
    bm_tensor *x = n->in[0], *w = n->in[1], *b = n->in[2];
    size_t M = x->shape[0], K = x->shape[1], N = w->shape[1];
    const void *g = n->out->grad;
    bm_pool *pool = bm_tape_pool(tape);
    void *ws = n->saved;
    size_t wsb = n->saved_bytes;
    int fresh = 0;
    /* dX first: a store into a fresh buffer must precede any addition to it
     * (x may also be W or b). */
    void *gx = bm_grad_buf_fresh(tape, x, &fresh);
    if (x->dtype == BM_F64) {
        if (gx) /* [M,K] (+)= G [M,N] · Wᵀ (W stored [K,N]) */
            bm_gemm_f64_ex(0, 1, M, K, N, 1.0, g, N, w->data, N, fresh ? 0.0 : 1.0, gx, K, pool,
                           ws, wsb);
        double *gw = bm_grad_buf(tape, w), *gb = bm_grad_buf(tape, b);
        if (gw) /* [K,N] += xᵀ (x stored [M,K]) · G [M,N] */
            bm_gemm_f64_ex(1, 0, K, N, M, 1.0, x->data, K, g, N, 1.0, gw, N, pool, ws, wsb);
        if (gb)
            COLUMN_SUMS(double, gb, g, M, N);
    } else {
        if (gx)
            bm_gemm_f32_ex(0, 1, M, K, N, 1.0f, g, N, w->data, N, fresh ? 0.0f : 1.0f, gx, K,
                           pool, ws, wsb);
        float *gw = bm_grad_buf(tape, w), *gb = bm_grad_buf(tape, b);
        if (gw)
            bm_gemm_f32_ex(1, 0, K, N, M, 1.0f, x->data, K, g, N, 1.0f, gw, N, pool, ws, wsb);
        if (gb)
            COLUMN_SUMS(float, gb, g, M, N);
    }
}

const bm_op bm_op_linear = {"linear", 3, 0, linear_infer, linear_forward, linear_backward};

bm_tensor *bm_linear(bm_tape *t, bm_tensor *x, bm_tensor *w, bm_tensor *b)
{
    bm_tensor *in[3] = {x, w, b};
    return bm_tape_apply(t, &bm_op_linear, in, 3, NULL);
}
