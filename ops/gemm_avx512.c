/* gemm_avx512.c — AVX-512F micro-kernels for the blocked GEMM (gemm.c).
 * f32: 14×32 tile of C, two 16-lane vectors per row; f64: 14×16, two 8-lane
 * vectors per row. 28 zmm accumulators plus two B vectors and one broadcast
 * fill the 32 registers. Each k step: load one row of the B̃ panel, broadcast
 * 14 elements of Ã, 28 FMAs. One instance per (rows, vectors) pair, so an edge
 * tile does only the arithmetic it needs; masked loads and stores cut the
 * last columns. Built with target attributes: no special compiler flags.
 * The f32 and f64 routines are one template, gemm_avx512_kernel.inc,
 * included once per element type. */
#include "gemm_internal.h"

#if BM_GEMM_X86
#include <assert.h>
#include <immintrin.h>

#define BM_TGT __attribute__((target("avx512f,fma")))
#define BM_INL static inline __attribute__((always_inline))

enum {
    MR = 14,      /* rows of a tile */
    NR_F32 = 32,  /* f32 columns of a tile: 2 × 16 lanes */
    NR_F64 = 16,  /* f64 columns: 2 × 8 lanes */
    VL_F32 = 16,  /* lanes in a zmm */
    VL_F64 = 8,
    KC_F32 = 256, /* Ã panel 14×256×4 = 14 KiB: sits in L1 */
    KC_F64 = 128, /* 14×128×8 = 14 KiB */
    NC_F32 = 512, /* B̃ block 256×512×4 = 512 KiB: sits in L2 */
    NC_F64 = 256, /* 128×256×8 = 256 KiB */
    SCALAR_K = 4, /* transposing packs of fewer depths go element by element */
    PF_DIST = 24, /* k steps before the end at which the tile of C is prefetched */
    PF_LINE = 64, /* cache line bytes */
};

/* X(r) for each row count of a tile instance. */
#define BM_NROWS(X) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14)

static size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }

/* The low n (0..16) bits set. */
BM_INL unsigned lanes(size_t n) { return (1u << n) - 1u; }

/* ---- in-register transposes ---- */

/* v[0..15] rows → v[0..15] columns (16×16 f32 transpose, 64 shuffles). */
BM_INL BM_TGT void transpose16_f32(__m512 *v)
{
    __m512 t[16], u[16];
#pragma GCC unroll 8
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(v[i], v[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(v[i], v[i + 1]);
    }
#pragma GCC unroll 4
    for (int g = 0; g < 16; g += 4) { /* u[g+q], 128-bit lane L: rows g..g+3 of column 4L+q */
        __m512d t0 = _mm512_castps_pd(t[g]), t1 = _mm512_castps_pd(t[g + 1]);
        __m512d t2 = _mm512_castps_pd(t[g + 2]), t3 = _mm512_castps_pd(t[g + 3]);
        u[g] = _mm512_castpd_ps(_mm512_unpacklo_pd(t0, t2));
        u[g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(t0, t2));
        u[g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(t1, t3));
        u[g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(t1, t3));
    }
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++) { /* gather lane L of u[q], u[4+q], u[8+q], u[12+q] */
        __m512 a = _mm512_shuffle_f32x4(u[q], u[4 + q], 0x88);
        __m512 b = _mm512_shuffle_f32x4(u[q], u[4 + q], 0xDD);
        __m512 c = _mm512_shuffle_f32x4(u[8 + q], u[12 + q], 0x88);
        __m512 e = _mm512_shuffle_f32x4(u[8 + q], u[12 + q], 0xDD);
        v[q] = _mm512_shuffle_f32x4(a, c, 0x88);
        v[q + 8] = _mm512_shuffle_f32x4(a, c, 0xDD);
        v[q + 4] = _mm512_shuffle_f32x4(b, e, 0x88);
        v[q + 12] = _mm512_shuffle_f32x4(b, e, 0xDD);
    }
}

/* v[0..7] rows → v[0..7] columns (8×8 f64 transpose, 24 shuffles). */
BM_INL BM_TGT void transpose8_f64(__m512d *v)
{
    __m512d t[8];
#pragma GCC unroll 4
    for (int i = 0; i < 8; i += 2) { /* t[i+q], 128-bit lane L: rows i, i+1 of column 2L+q */
        t[i] = _mm512_unpacklo_pd(v[i], v[i + 1]);
        t[i + 1] = _mm512_unpackhi_pd(v[i], v[i + 1]);
    }
#pragma GCC unroll 2
    for (int q = 0; q < 2; q++) {
        __m512d a = _mm512_shuffle_f64x2(t[q], t[2 + q], 0x88);
        __m512d b = _mm512_shuffle_f64x2(t[q], t[2 + q], 0xDD);
        __m512d c = _mm512_shuffle_f64x2(t[4 + q], t[6 + q], 0x88);
        __m512d e = _mm512_shuffle_f64x2(t[4 + q], t[6 + q], 0xDD);
        v[q] = _mm512_shuffle_f64x2(a, c, 0x88);
        v[q + 4] = _mm512_shuffle_f64x2(a, c, 0xDD);
        v[q + 2] = _mm512_shuffle_f64x2(b, e, 0x88);
        v[q + 6] = _mm512_shuffle_f64x2(b, e, 0xDD);
    }
}

/* ---- the routines, once per element type ---- */

#define T float
#define V __m512
#define M __mmask16
#define F(name) name##_f32
#define VL VL_F32
#define SETZERO _mm512_setzero_ps
#define SET1 _mm512_set1_ps
#define LOADU _mm512_loadu_ps
#define MASKZ_LOADU _mm512_maskz_loadu_ps
#define MASK_STOREU _mm512_mask_storeu_ps
#define MUL _mm512_mul_ps
#define FMADD _mm512_fmadd_ps
#define TRANSPOSE transpose16_f32
#define PACK_T_PORTABLE bm_gemm_pack_t_f32
#include "gemm_avx512_kernel.inc" /* undefines its parameters */

#define T double
#define V __m512d
#define M __mmask8
#define F(name) name##_f64
#define VL VL_F64
#define SETZERO _mm512_setzero_pd
#define SET1 _mm512_set1_pd
#define LOADU _mm512_loadu_pd
#define MASKZ_LOADU _mm512_maskz_loadu_pd
#define MASK_STOREU _mm512_mask_storeu_pd
#define MUL _mm512_mul_pd
#define FMADD _mm512_fmadd_pd
#define TRANSPOSE transpose8_f64
#define PACK_T_PORTABLE bm_gemm_pack_t_f64
#include "gemm_avx512_kernel.inc" /* undefines its parameters */

static const bm_gemm_kernel kernel_f32 = {
    .mr = MR, .nr = NR_F32, .kc = KC_F32, .nc = NC_F32, .vl = VL_F32,
    .kern = kern_f32, .pack_n = pack_n_f32, .pack_t = pack_t_f32, .store_t = store_t_f32,
};
static const bm_gemm_kernel kernel_f64 = {
    .mr = MR, .nr = NR_F64, .kc = KC_F64, .nc = NC_F64, .vl = VL_F64,
    .kern = kern_f64, .pack_n = pack_n_f64, .pack_t = pack_t_f64, .store_t = store_t_f64,
};

const bm_gemm_kernel *bm_gemm_avx512_kernel(int f64) { return f64 ? &kernel_f64 : &kernel_f32; }

#else /* not x86: no AVX-512 path */

const bm_gemm_kernel *bm_gemm_avx512_kernel(int f64)
{
    (void)f64;
    return NULL;
}

#endif
