/* gemm_avx2.c — AVX2 + FMA micro-kernels for the blocked GEMM (gemm.c).
 * f32: 6×16 tile of C, two 8-lane vectors per row; f64: 6×8, two 4-lane
 * vectors per row. 12 ymm accumulators plus two B vectors and one broadcast
 * fit the 16 registers. One instance per (rows, vectors) pair, so an edge
 * tile does only the arithmetic it needs; the last partial vector of a row is
 * read and written with maskload/maskstore. Built with target attributes.
 * The f32 and f64 routines are one template, gemm_avx2_kernel.inc,
 * included once per element type. Products with K <= BM_GEMM_SMALL_K also
 * have a direct kernel (small_f32/f64) that reads op(A) in place. */
#include "gemm_internal.h"

#if BM_GEMM_X86
#include <immintrin.h>

#define BM_TGT __attribute__((target("avx2,fma")))
#define BM_INL static inline __attribute__((always_inline))

enum {
    MR = 6,       /* rows of a tile */
    NR_F32 = 16,  /* f32 columns: 2 × 8 lanes */
    NR_F64 = 8,   /* f64 columns: 2 × 4 lanes */
    VL_F32 = 8,   /* lanes in a ymm */
    VL_F64 = 4,
    KC_F32 = 256, /* Ã panel 6×256×4 = 6 KiB, B̃ panel 256×16×4 = 16 KiB */
    KC_F64 = 256, /* 6×256×8 = 12 KiB */
    NC_F32 = 512, /* B̃ block 256×512×4 = 512 KiB: sits in L2 */
    NC_F64 = 256, /* 256×256×8 = 512 KiB */
    SCALAR_K = 3, /* transposing packs of fewer depths go element by element */
};

/* X(r) for each row count of a tile instance. */
#define BM_NROWS(X) X(1) X(2) X(3) X(4) X(5) X(6)

static size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }

/* Lane masks for maskload/maskstore: the first n lanes (n <= 8 / n <= 4). */
BM_INL BM_TGT __m256i mask_f32(size_t n)
{
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
BM_INL BM_TGT __m256i mask_f64(size_t n)
{
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x((long long)n), _mm256_setr_epi64x(0, 1, 2, 3));
}

/* The first n (1 .. VL − 1) lanes of x stored at p by 128-, 64- and 32-bit
 * stores, never past p[n − 1]. A vmaskmov store is microcoded on AMD Zen
 * (perf: the 6-lane stores of Ã's packing were a fifth of a small bmm). */
BM_INL BM_TGT void part_f32(float *p, size_t n, __m256 x)
{
    __m128 h = _mm256_castps256_ps128(x);
    if (n >= 4) {
        _mm_storeu_ps(p, h);
        h = _mm256_extractf128_ps(x, 1);
        p += 4;
        n -= 4;
    }
    if (n >= 2) {
        _mm_storel_pi((__m64 *)(void *)p, h);
        h = _mm_movehl_ps(h, h);
        p += 2;
        n -= 2;
    }
    if (n)
        _mm_store_ss(p, h);
}
BM_INL BM_TGT void part_f64(double *p, size_t n, __m256d x)
{
    __m128d h = _mm256_castpd256_pd128(x);
    if (n >= 2) {
        _mm_storeu_pd(p, h);
        h = _mm256_extractf128_pd(x, 1);
        p += 2;
        n -= 2;
    }
    if (n)
        _mm_store_sd(p, h);
}

/* ---- packing and transposed store ---- */

/* v[0..7] rows → columns (8×8 f32 transpose, 24 shuffles). */
BM_INL BM_TGT void transpose8_f32(__m256 *v)
{
    __m256 t[8], u[8];
#pragma GCC unroll 4
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(v[i], v[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(v[i], v[i + 1]);
    }
#pragma GCC unroll 2
    for (int g = 0; g < 8; g += 4) { /* u[g+q], 128-bit lane L: rows g..g+3 of column 4L+q */
        u[g] = _mm256_shuffle_ps(t[g], t[g + 2], 0x44);
        u[g + 1] = _mm256_shuffle_ps(t[g], t[g + 2], 0xEE);
        u[g + 2] = _mm256_shuffle_ps(t[g + 1], t[g + 3], 0x44);
        u[g + 3] = _mm256_shuffle_ps(t[g + 1], t[g + 3], 0xEE);
    }
#pragma GCC unroll 4
    for (int q = 0; q < 4; q++) {
        v[q] = _mm256_permute2f128_ps(u[q], u[4 + q], 0x20);
        v[q + 4] = _mm256_permute2f128_ps(u[q], u[4 + q], 0x31);
    }
}

/* v[0..3] rows → columns (4×4 f64 transpose). */
BM_INL BM_TGT void transpose4_f64(__m256d *v)
{
    __m256d t0 = _mm256_unpacklo_pd(v[0], v[1]), t1 = _mm256_unpackhi_pd(v[0], v[1]);
    __m256d t2 = _mm256_unpacklo_pd(v[2], v[3]), t3 = _mm256_unpackhi_pd(v[2], v[3]);
    v[0] = _mm256_permute2f128_pd(t0, t2, 0x20);
    v[1] = _mm256_permute2f128_pd(t1, t3, 0x20);
    v[2] = _mm256_permute2f128_pd(t0, t2, 0x31);
    v[3] = _mm256_permute2f128_pd(t1, t3, 0x31);
}

/* ---- the routines, once per element type ---- */

#define T float
#define V __m256
#define F(name) name##_f32
#define VL VL_F32
#define SETZERO _mm256_setzero_ps
#define SET1 _mm256_set1_ps
#define LOADU _mm256_loadu_ps
#define STOREU _mm256_storeu_ps
#define MASKLOAD _mm256_maskload_ps
#define STORE_PART part_f32
#define MUL _mm256_mul_ps
#define FMADD _mm256_fmadd_ps
#define BROADCAST _mm256_broadcast_ss
#define MASK mask_f32
#define TRANSPOSE transpose8_f32
#define PACK_T_PORTABLE bm_gemm_pack_t_f32
#include "gemm_avx2_kernel.inc" /* undefines its parameters */

#define T double
#define V __m256d
#define F(name) name##_f64
#define VL VL_F64
#define SETZERO _mm256_setzero_pd
#define SET1 _mm256_set1_pd
#define LOADU _mm256_loadu_pd
#define STOREU _mm256_storeu_pd
#define MASKLOAD _mm256_maskload_pd
#define STORE_PART part_f64
#define MUL _mm256_mul_pd
#define FMADD _mm256_fmadd_pd
#define BROADCAST _mm256_broadcast_sd
#define MASK mask_f64
#define TRANSPOSE transpose4_f64
#define PACK_T_PORTABLE bm_gemm_pack_t_f64
#include "gemm_avx2_kernel.inc" /* undefines its parameters */

static const bm_gemm_kernel kernel_f32 = {
    .mr = MR, .nr = NR_F32, .kc = KC_F32, .nc = NC_F32, .vl = VL_F32,
    .kern = kern_f32, .kern_a = kern_a_f32, .pack_n = pack_n_f32, .pack_t = pack_t_f32,
    .store_t = store_t_f32, .small = small_f32,
};
static const bm_gemm_kernel kernel_f64 = {
    .mr = MR, .nr = NR_F64, .kc = KC_F64, .nc = NC_F64, .vl = VL_F64,
    .kern = kern_f64, .kern_a = kern_a_f64, .pack_n = pack_n_f64, .pack_t = pack_t_f64,
    .store_t = store_t_f64, .small = small_f64,
};

const bm_gemm_kernel *bm_gemm_avx2_kernel(int f64) { return f64 ? &kernel_f64 : &kernel_f32; }

#else /* not x86: no AVX2 path */

const bm_gemm_kernel *bm_gemm_avx2_kernel(int f64)
{
    (void)f64;
    return NULL;
}

#endif
