/* causal_matmul.c — products with a causal (lower-triangular, j ≤ i) [T,S]
 * matrix, computed by blocks of rows so the masked half is skipped; what
 * causal attention's gradient is made of (issue 10). Per batch element
 * (the leading axes, equal for both inputs; split over the tape's threads,
 * each by one thread), with L = tril(a) (a's entries above the diagonal are
 * never read) and α a constant:
 *   BM_CAUSAL_LB   out [..,T,N] = α·L·b        a [..,T,S], b [..,S,N]
 *   BM_CAUSAL_LTB  out [..,S,N] = α·Lᵀ·b       a [..,T,S], b [..,T,N]
 *   BM_CAUSAL_ABT  out [..,T,S] = α·tril(a·bᵀ) a [..,T,N], b [..,S,N]
 * The three are each other's vjps (dL of L·b is tril(G·bᵀ), ...), so the
 * gradient closes at every order. */
#include <stdio.h>

#include "attention_internal.h"
#include "ops_internal.h"

typedef struct cm_params {
    int mode;
    double alpha;
} cm_params;

static const cm_params *cp_of(const bm_node *n) { return n->params; }

/* Sizes: B batch elements, the causal matrix [T,S], the other axis N. */
typedef struct cm_dims {
    size_t B, T, S, N;
} cm_dims;

static cm_dims dims_of(int mode, const bm_tensor *a, const bm_tensor *b)
{
    int r = a->rank;
    cm_dims d = {.T = a->shape[r - 2]};
    if (mode == BM_CAUSAL_ABT) {
        d.N = a->shape[r - 1];
        d.S = b->shape[r - 2];
    } else {
        d.S = a->shape[r - 1];
        d.N = b->shape[r - 1];
    }
    d.B = a->size / (a->shape[r - 2] * a->shape[r - 1]);
    return d;
}

static size_t align64(size_t b) { return (b + 63) & ~(size_t)63; }

/* A thread's scratch: the masked diagonal tile, then the GEMM workspace
 * (enough for any product of the node). */
static size_t slot_bytes(bm_dtype dt, const cm_dims *d)
{
    size_t m = d->T > d->S ? d->T : d->S, k = m > d->N ? m : d->N, ws = 0;
    const int tr[3][2] = {{0, 0}, {1, 0}, {0, 1}};
    for (int i = 0; i < 3; i++) {
        size_t w = bm_gemm_workspace_bytes(dt, tr[i][0], tr[i][1], k, k, k, 1);
        ws = w > ws ? w : ws;
    }
    return align64((size_t)BM_CAUSAL_ROWS * BM_CAUSAL_ROWS * bm_dtype_size(dt)) + align64(ws);
}

static int cm_infer(bm_tape *tape, bm_node *n)
{
    const bm_tensor *a = n->in[0], *b = n->in[1];
    const cm_params *p = cp_of(n);
    char sa[64], sb[64];
    int r = a->rank;
    if (p->mode < BM_CAUSAL_LB || p->mode > BM_CAUSAL_ABT || !isfinite(p->alpha)) {
        bm_tape_fail(tape, BM_ERR_ARG, "bm_causal_matmul: mode %d or alpha %g is invalid",
                     p->mode, p->alpha);
        return -1;
    }
    if (r < 2 || b->rank != r) {
        bm_tape_fail(tape, BM_ERR_RANK, "bm_causal_matmul: %s and %s need one rank >= 2",
                     BM_SHP(a, sa), BM_SHP(b, sb));
        return -1;
    }
    int bad = 0;
    for (int k = 0; k < r - 2; k++)
        bad |= a->shape[k] != b->shape[k];
    size_t inner = p->mode == BM_CAUSAL_LB ? a->shape[r - 1] : p->mode == BM_CAUSAL_LTB
                                                               ? a->shape[r - 2]
                                                               : a->shape[r - 1];
    size_t binner = b->shape[r - (p->mode == BM_CAUSAL_ABT ? 1 : 2)];
    if (bad || inner != binner) {
        bm_tape_fail(tape, BM_ERR_SHAPE, "bm_causal_matmul: %s and %s do not fit mode %d",
                     BM_SHP(a, sa), BM_SHP(b, sb), p->mode);
        return -1;
    }
    cm_dims d = dims_of(p->mode, a, b);
    size_t shape[BM_MAX_RANK];
    memcpy(shape, a->shape, sizeof shape);
    shape[r - 2] = p->mode == BM_CAUSAL_LTB ? d.S : d.T;
    shape[r - 1] = p->mode == BM_CAUSAL_ABT ? d.S : d.N;
    bm_op_set_scratch(n, (size_t)bm_tape_threads(tape) * slot_bytes(a->dtype, &d));
    return bm_op_set_output(tape, n, a->dtype, r, shape) == BM_OK ? 0 : -1;
}

/* One job: the node, its sizes, a thread's slot. */
typedef struct cm_job {
    const bm_node *n;
    cm_dims d;
    size_t slot, tasks; /* bytes of a slot; tasks (one slot each) */
} cm_job;

/* C [M,N] = α·op(A)·op(B) + β·C on the calling thread. */
static void gemm(const cm_job *j, int ta, int tb, size_t M, size_t N, size_t K, const void *A,
                 size_t lda, const void *B, size_t ldb, double beta, void *C, size_t ldc,
                 void *ws)
{
    size_t wsb = j->slot - align64((size_t)BM_CAUSAL_ROWS * BM_CAUSAL_ROWS *
                                   bm_dtype_size(j->n->out->dtype));
    double alpha = cp_of(j->n)->alpha;
    if (j->n->out->dtype == BM_F64)
        bm_gemm_f64_ex(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, NULL, ws, wsb);
    else
        bm_gemm_f32_ex(ta, tb, M, N, K, (float)alpha, A, lda, B, ldb, (float)beta, C, ldc, NULL,
                       ws, wsb);
}

/* tile [rows,cols] = a's block at (i0, j0) (row stride lda) with the
 * entries above the diagonal (j0 + c > i0 + r) zero. Bytes, any type. */
static void masked_tile(unsigned char *tile, const unsigned char *a, size_t lda, size_t i0,
                        size_t j0, size_t rows, size_t cols, size_t esz)
{
    for (size_t r = 0; r < rows; r++) {
        size_t keep = i0 + r + 1 > j0 ? i0 + r + 1 - j0 : 0;
        keep = keep < cols ? keep : cols;
        memcpy(tile + r * cols * esz, a + ((i0 + r) * lda + j0) * esz, keep * esz);
        memset(tile + (r * cols + keep) * esz, 0, (cols - keep) * esz);
    }
}

/* Batch element e with scratch slot tile (the tile, then the workspace). */
static void one_element(const cm_job *j, size_t e, unsigned char *tile)
{
    const cm_dims *d = &j->d;
    const bm_node *n = j->n;
    size_t esz = bm_dtype_size(n->out->dtype), RB = BM_CAUSAL_ROWS;
    int mode = cp_of(n)->mode;
    unsigned char *ws = tile + align64(RB * RB * esz);
    size_t sa = d->T * (mode == BM_CAUSAL_ABT ? d->N : d->S);
    size_t sb = (mode == BM_CAUSAL_LTB ? d->T : d->S) * d->N;
    size_t sc = (mode == BM_CAUSAL_LTB ? d->S : d->T) * (mode == BM_CAUSAL_ABT ? d->S : d->N);
    const unsigned char *A = (const unsigned char *)n->in[0]->data + e * sa * esz;
    const unsigned char *B = (const unsigned char *)n->in[1]->data + e * sb * esz;
    unsigned char *C = (unsigned char *)n->out->data + e * sc * esz;
    if (mode == BM_CAUSAL_LB) { /* C rows [r0,r1) = L[r0:r1, 0:r0]·b + tile·b[r0:..] */
        for (size_t r0 = 0; r0 < d->T; r0 += RB) {
            size_t rows = r0 + RB < d->T ? RB : d->T - r0, full = r0 < d->S ? r0 : d->S;
            size_t dc = r0 < d->S ? (r0 + rows < d->S ? rows : d->S - r0) : 0;
            unsigned char *Cr = C + r0 * d->N * esz;
            if (full)
                gemm(j, 0, 0, rows, d->N, full, A + r0 * d->S * esz, d->S, B, d->N, 0.0, Cr,
                     d->N, ws);
            if (dc) {
                masked_tile(tile, A, d->S, r0, r0, rows, dc, esz);
                gemm(j, 0, 0, rows, d->N, dc, tile, dc, B + r0 * d->N * esz, d->N,
                     full ? 1.0 : 0.0, Cr, d->N, ws);
            }
        }
    } else if (mode == BM_CAUSAL_LTB) {
        /* C rows [c0,c1) = tileᵀ·b[c0:..] + L[c1:T, c0:c1]ᵀ·b[c1:T] */
        for (size_t c0 = 0; c0 < d->S; c0 += RB) {
            size_t cols = c0 + RB < d->S ? RB : d->S - c0;
            unsigned char *Cr = C + c0 * d->N * esz;
            if (c0 >= d->T) {
                memset(Cr, 0, cols * d->N * esz);
                continue;
            }
            size_t dr = c0 + cols < d->T ? cols : d->T - c0, below = c0 + cols;
            masked_tile(tile, A, d->S, c0, c0, dr, cols, esz);
            gemm(j, 1, 0, cols, d->N, dr, tile, cols, B + c0 * d->N * esz, d->N, 0.0, Cr, d->N,
                 ws);
            if (below < d->T)
                gemm(j, 1, 0, cols, d->N, d->T - below, A + (below * d->S + c0) * esz, d->S,
                     B + below * d->N * esz, d->N, 1.0, Cr, d->N, ws);
        }
    } else { /* C rows [r0,r1) = a[r0:r1]·b[0:keys]ᵀ, the upper part zeroed */
        for (size_t r0 = 0; r0 < d->T; r0 += RB) {
            size_t rows = r0 + RB < d->T ? RB : d->T - r0;
            size_t keys = r0 + rows < d->S ? r0 + rows : d->S;
            unsigned char *Cr = C + r0 * d->S * esz;
            gemm(j, 0, 1, rows, keys, d->N, A + r0 * d->N * esz, d->N, B, d->N, 0.0, Cr, d->S,
                 ws);
            for (size_t r = 0; r < rows; r++) {
                size_t lim = r0 + r + 1 < d->S ? r0 + r + 1 : d->S;
                memset(Cr + (r * d->S + lim) * esz, 0, (d->S - lim) * esz);
            }
        }
    }
}

/* Task t takes elements t, t + tasks, ... with scratch slot t: one task
 * per slot the node reserved (the tape may have gained threads since). */
static void cm_task(void *ctx, size_t t, int worker)
{
    (void)worker;
    const cm_job *j = ctx;
    for (size_t e = t; e < j->d.B; e += j->tasks)
        one_element(j, e, (unsigned char *)j->n->scratch + t * j->slot);
}

static void cm_forward(bm_tape *tape, bm_node *n)
{
    cm_job j = {.n = n, .d = dims_of(cp_of(n)->mode, n->in[0], n->in[1])};
    j.slot = slot_bytes(n->out->dtype, &j.d);
    size_t slots = n->scratch_bytes / j.slot; /* the tile makes j.slot > 0 */
    j.tasks = slots < j.d.B ? slots : j.d.B;
    bm_pool_run(bm_tape_pool(tape), j.tasks, cm_task, &j);
}

/* LB:  dA = α·tril(G·bᵀ), dB = α·Lᵀ·G;  LTB: dA = α·tril(b·Gᵀ), dB = α·L·G;
 * ABT: dA = α·tril(G)·b,  dB = α·tril(G)ᵀ·a. */
static bm_status cm_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    bm_tensor *a = n->in[0], *b = n->in[1];
    const cm_params *p = cp_of(n);
    double al = p->alpha;
    int wa = bm_op_wants_grad(t, n, 0), wb = bm_op_wants_grad(t, n, 1);
    if (p->mode == BM_CAUSAL_LB) {
        dx[0] = wa ? bm_causal_matmul(t, g, b, BM_CAUSAL_ABT, al) : NULL;
        dx[1] = wb ? bm_causal_matmul(t, a, g, BM_CAUSAL_LTB, al) : NULL;
    } else if (p->mode == BM_CAUSAL_LTB) {
        dx[0] = wa ? bm_causal_matmul(t, b, g, BM_CAUSAL_ABT, al) : NULL;
        dx[1] = wb ? bm_causal_matmul(t, a, g, BM_CAUSAL_LB, al) : NULL;
    } else {
        dx[0] = wa ? bm_causal_matmul(t, g, b, BM_CAUSAL_LB, al) : NULL;
        dx[1] = wb ? bm_causal_matmul(t, g, a, BM_CAUSAL_LTB, al) : NULL;
    }
    return bm_tape_status(t);
}

static void cm_describe(const bm_node *n, char *buf, size_t len)
{
    static const char *const form[] = {"α·tril(A)·B", "α·tril(A)ᵀ·B", "α·tril(A·Bᵀ)"};
    const cm_params *p = cp_of(n);
    snprintf(buf, len, "%s, α=%g", p->mode >= 0 && p->mode < 3 ? form[p->mode] : "?", p->alpha);
}

/* A multiply and an add per entry of the causal [T,S] matrix (j ≤ i) per
 * element of the other axis N. */
static double cm_flops(const bm_node *n)
{
    cm_dims d = dims_of(cp_of(n)->mode, n->in[0], n->in[1]);
    size_t tri = d.T < d.S ? d.T : d.S;
    double entries = (double)tri * (double)(tri + 1) / 2 + (double)(d.T - tri) * (double)d.S;
    return 2.0 * (double)d.B * entries * (double)d.N;
}

const bm_op bm_op_causal_matmul = {
    .name = "causal_matmul", .arity = 2, .params_size = sizeof(cm_params), .infer = cm_infer,
    .forward = cm_forward, .vjp = cm_vjp, .describe = cm_describe, .flops = cm_flops,
};

bm_tensor *bm_causal_matmul(bm_tape *t, bm_tensor *a, bm_tensor *b, int mode, double alpha)
{
    cm_params p = {.mode = mode, .alpha = alpha};
    bm_tensor *in[2] = {a, b};
    return bm_tape_apply(t, &bm_op_causal_matmul, in, 2, &p);
}
