/* ops_internal.h — helpers shared by the op files (not installed). */
#ifndef BM_OPS_INTERNAL_H
#define BM_OPS_INTERNAL_H

#include <math.h>
#include <string.h>

#include "bm_ops.h"
#include "pool_internal.h"
#include "tape_internal.h"

/* Element-type-generic math: picks the float or double function (for the
 * kernel templates, *_kernels.inc, written once for T = float and double). */
#define BM_EXP(x) _Generic((x), float: expf, default: exp)(x)
#define BM_LOG(x) _Generic((x), float: logf, default: log)(x)
#define BM_POW(x, p) _Generic((x), float: powf, default: pow)((x), (p))
#define BM_SQRT(x) _Generic((x), float: sqrtf, default: sqrt)(x)
#define BM_TANH(x) _Generic((x), float: tanhf, default: tanh)(x)
#define BM_FABS(x) _Generic((x), float: fabsf, default: fabs)(x)

/* Gradient g reduced to x's shape (summed over the axes broadcasting
 * added); g itself when the shapes already match. */
bm_tensor *bm_grad_to(bm_tape *tape, bm_tensor *g, const bm_tensor *x);

/* Shape text of a tensor into a local buffer (for error messages). */
#define BM_SHP(t, buf) bm_shape_str((t), (buf), sizeof(buf))

/* Copy x's shape to out. */
static inline void bm_same_shape_as(bm_tensor *out, const bm_tensor *x)
{
    out->rank = x->rank;
    for (int i = 0; i < BM_MAX_RANK; i++)
        out->shape[i] = x->shape[i];
}

/* Broadcast strides of a and b against out, padded on the left to rank 4:
 * element (i0,i1,i2,i3) of out reads a[Σ ik·sa[k]] and b[Σ ik·sb[k]]. */
typedef struct bm_bcast {
    size_t shape[BM_MAX_RANK];
    size_t sa[BM_MAX_RANK], sb[BM_MAX_RANK];
} bm_bcast;

/* Infer the NumPy broadcast shape of inputs 0 and 1 into n->out. */
int bm_bcast_infer(bm_tape *tape, bm_node *n);
/* Fill strides for a, b against out (shapes already checked). */
void bm_bcast_make(const bm_tensor *a, const bm_tensor *b, const bm_tensor *out, bm_bcast *bc);
/* Normalise axis (negative from the end) for rank; -1 when invalid. */
int bm_axis_norm(int axis, int rank);
/* A reduction's parameters as label text: "all" or "axis=1", then
 * ", keepdims" when kept; returns the length written (snprintf's). */
int bm_axis_describe(int axis, int keepdims, char *buf, size_t len);

/* Row-major GEMM: C[M,N] = alpha·op(A)·op(B) + beta·C, where op(A) is A
 * [M,K] (lda) or, with ta, Aᵀ of A stored [K,M]; likewise B [K,N] or, with
 * tb, Bᵀ of B stored [N,K]. beta 0 ignores C's old contents (even NaN).
 * Single-threaded; a product whose packed block of B does not fit the stack
 * buffer calls aligned_alloc once (use the _ex forms with a workspace in
 * anything that runs every step). */
void bm_gemm_f32(int ta, int tb, size_t M, size_t N, size_t K, float alpha, const float *A,
                 size_t lda, const float *B, size_t ldb, float beta, float *C, size_t ldc);
void bm_gemm_f64(int ta, int tb, size_t M, size_t N, size_t K, double alpha, const double *A,
                 size_t lda, const double *B, size_t ldb, double beta, double *C, size_t ldc);

/* Bytes of workspace bm_gemm_*_ex needs to run this product on `threads`
 * threads without allocating (0: none needed). A function of the arguments
 * and the CPU only; an upper bound for any smaller thread count. */
size_t bm_gemm_workspace_bytes(bm_dtype dt, int ta, int tb, size_t M, size_t N, size_t K,
                               int threads);

/* Rows of C one micro-kernel strip covers on the path bm_gemm_*_ex takes
 * for dt (its MR). A product of at most this many rows with tb 0 reads op(B)
 * in place, unpacked. */
size_t bm_gemm_strip_rows(bm_dtype dt);

/* bm_gemm_f32/f64 on the threads of `pool` (NULL: the caller's only), with
 * scratch memory ws of ws_bytes (any alignment). ws NULL, or smaller than
 * the workspace of even one thread, allocates as bm_gemm_f32 does; a ws that
 * fits fewer threads than the pool has runs on fewer. Each element of C is
 * computed by one thread in the same order whatever the thread count, so the
 * result is bit-identical for any pool (own kernels; BLAS's may differ
 * between thread counts: see gemm_blas.c). */
void bm_gemm_f32_ex(int ta, int tb, size_t M, size_t N, size_t K, float alpha, const float *A,
                    size_t lda, const float *B, size_t ldb, float beta, float *C, size_t ldc,
                    bm_pool *pool, void *ws, size_t ws_bytes);
void bm_gemm_f64_ex(int ta, int tb, size_t M, size_t N, size_t K, double alpha,
                    const double *A, size_t lda, const double *B, size_t ldb, double beta,
                    double *C, size_t ldc, bm_pool *pool, void *ws, size_t ws_bytes);

/* Workspace for an op computing op(A)·op(B) = C [M,N] with inner size K on
 * the tape's threads. An op reserves it as scratch in infer and passes
 * bm_tape_pool(tape), n->scratch, n->scratch_bytes to bm_gemm_*_ex (as
 * matmul.c does). */
size_t bm_matmul_workspace(const bm_tape *tape, bm_dtype dt, int ta, int tb, size_t M,
                           size_t N, size_t K);

/* The fixed table of ops (ops.def order); internal lookup by name. */
const bm_op *bm_op_at(size_t i);
const bm_op *bm_op_find(const char *name);

#endif
