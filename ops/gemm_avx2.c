/* gemm_avx2.c — AVX2 + FMA micro-kernels for the blocked GEMM (gemm.c).
 * f32: 6×16 tile of C, two 8-lane vectors per row; f64: 6×8, two 4-lane
 * vectors per row. 12 ymm accumulators plus two B vectors and one broadcast
 * fit the 16 registers. One instance per (rows, vectors) pair, so an edge
 * tile does only the arithmetic it needs; the last partial vector of a row is
 * read and written with maskload/maskstore. Built with target attributes. */
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

#define BM_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)
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

/* ---- f32 ---- */

/* c[0:8] = alpha·x + beta·c; full 0: only lanes set in m. rd 0: c not read. */
BM_INL BM_TGT void st_f32(float *c, __m256 x, int full, __m256i m, __m256 va, __m256 vb, int rd)
{
    x = _mm256_mul_ps(va, x);
    if (full) {
        if (rd)
            x = _mm256_fmadd_ps(vb, _mm256_loadu_ps(c), x);
        _mm256_storeu_ps(c, x);
    } else {
        if (rd)
            x = _mm256_fmadd_ps(vb, _mm256_maskload_ps(c, m), x);
        _mm256_maskstore_ps(c, m, x);
    }
}

#define DECL_F32(i) __m256 c##i##a = _mm256_setzero_ps(), c##i##b = _mm256_setzero_ps();
#define FMA_F32(i)                                                                     \
    if (rows > i) {                                                                    \
        __m256 ai = _mm256_broadcast_ss(a + (i));                                      \
        c##i##a = _mm256_fmadd_ps(ai, b0, c##i##a);                                    \
        if (nv > 1)                                                                    \
            c##i##b = _mm256_fmadd_ps(ai, b1, c##i##b);                                \
    }
#define ST_F32(i)                                                                      \
    if (rows > i) {                                                                    \
        float *ci = c + (i) * ldc;                                                     \
        if (nv > 1) {                                                                  \
            st_f32(ci, c##i##a, 1, m, va, vb, rd);                                     \
            st_f32(ci + VL_F32, c##i##b, full, m, va, vb, rd);                         \
        } else {                                                                       \
            st_f32(ci, c##i##a, full, m, va, vb, rd);                                  \
        }                                                                              \
    }

/* One tile: rows (1..6) and nv (1..2) are constants in each instance. The
 * last vector of B̃ is read under the column mask when the tile is narrower
 * than nv vectors, so B read in place is never read past nr. */
BM_INL BM_TGT void tile_f32(size_t kc, const float *a, const float *b, size_t ldb, float *c,
                            size_t ldc, size_t nr, float alpha, float beta, const int rows,
                            const int nv)
{
    int tail = (int)nr - (nv - 1) * VL_F32; /* 1..8 */
    int full = tail == VL_F32;
    __m256i m = mask_f32((size_t)tail);
    BM_ROWS(DECL_F32)
    for (size_t k = 0; k < kc; k++, a += MR, b += ldb) {
        __m256 b0, b1;
        if (nv > 1) {
            b0 = _mm256_loadu_ps(b);
            b1 = full ? _mm256_loadu_ps(b + VL_F32) : _mm256_maskload_ps(b + VL_F32, m);
        } else {
            b0 = b1 = full ? _mm256_loadu_ps(b) : _mm256_maskload_ps(b, m);
        }
        BM_ROWS(FMA_F32)
    }
    __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    int rd = beta != 0.0f;
    BM_ROWS(ST_F32)
}

typedef void (*tile_f32_fn)(size_t, const float *, const float *, size_t, float *, size_t, size_t,
                            float, float);

#define INST_F32(r)                                                                    \
    static BM_TGT void tile_f32_##r##_1(size_t kc, const float *a, const float *b,     \
                                        size_t ldb, float *c, size_t ldc, size_t nr,   \
                                        float al, float be)                            \
    {                                                                                  \
        tile_f32(kc, a, b, ldb, c, ldc, nr, al, be, r, 1);                             \
    }                                                                                  \
    static BM_TGT void tile_f32_##r##_2(size_t kc, const float *a, const float *b,     \
                                        size_t ldb, float *c, size_t ldc, size_t nr,   \
                                        float al, float be)                            \
    {                                                                                  \
        tile_f32(kc, a, b, ldb, c, ldc, nr, al, be, r, 2);                             \
    }
BM_NROWS(INST_F32)

#define TAB_F32(r) {tile_f32_##r##_1, tile_f32_##r##_2},
static const tile_f32_fn tiles_f32[MR][2] = {BM_NROWS(TAB_F32)};

static void kern_f32(size_t kc, const void *a, const void *b, size_t ldb, void *c, size_t ldc,
                     size_t mr, size_t nr, double alpha, double beta)
{
    tiles_f32[mr - 1][nr > VL_F32](kc, a, b, ldb, c, ldc, nr, (float)alpha, (float)beta);
}

/* ---- f64 ---- */

BM_INL BM_TGT void st_f64(double *c, __m256d x, int full, __m256i m, __m256d va, __m256d vb,
                          int rd)
{
    x = _mm256_mul_pd(va, x);
    if (full) {
        if (rd)
            x = _mm256_fmadd_pd(vb, _mm256_loadu_pd(c), x);
        _mm256_storeu_pd(c, x);
    } else {
        if (rd)
            x = _mm256_fmadd_pd(vb, _mm256_maskload_pd(c, m), x);
        _mm256_maskstore_pd(c, m, x);
    }
}

#define DECL_F64(i) __m256d c##i##a = _mm256_setzero_pd(), c##i##b = _mm256_setzero_pd();
#define FMA_F64(i)                                                                     \
    if (rows > i) {                                                                    \
        __m256d ai = _mm256_broadcast_sd(a + (i));                                     \
        c##i##a = _mm256_fmadd_pd(ai, b0, c##i##a);                                    \
        if (nv > 1)                                                                    \
            c##i##b = _mm256_fmadd_pd(ai, b1, c##i##b);                                \
    }
#define ST_F64(i)                                                                      \
    if (rows > i) {                                                                    \
        double *ci = c + (i) * ldc;                                                    \
        if (nv > 1) {                                                                  \
            st_f64(ci, c##i##a, 1, m, va, vb, rd);                                     \
            st_f64(ci + VL_F64, c##i##b, full, m, va, vb, rd);                         \
        } else {                                                                       \
            st_f64(ci, c##i##a, full, m, va, vb, rd);                                  \
        }                                                                              \
    }

BM_INL BM_TGT void tile_f64(size_t kc, const double *a, const double *b, size_t ldb, double *c,
                            size_t ldc, size_t nr, double alpha, double beta, const int rows,
                            const int nv)
{
    int tail = (int)nr - (nv - 1) * VL_F64; /* 1..4 */
    int full = tail == VL_F64;
    __m256i m = mask_f64((size_t)tail);
    BM_ROWS(DECL_F64)
    for (size_t k = 0; k < kc; k++, a += MR, b += ldb) {
        __m256d b0, b1;
        if (nv > 1) {
            b0 = _mm256_loadu_pd(b);
            b1 = full ? _mm256_loadu_pd(b + VL_F64) : _mm256_maskload_pd(b + VL_F64, m);
        } else {
            b0 = b1 = full ? _mm256_loadu_pd(b) : _mm256_maskload_pd(b, m);
        }
        BM_ROWS(FMA_F64)
    }
    __m256d va = _mm256_set1_pd(alpha), vb = _mm256_set1_pd(beta);
    int rd = beta != 0.0;
    BM_ROWS(ST_F64)
}

typedef void (*tile_f64_fn)(size_t, const double *, const double *, size_t, double *, size_t,
                            size_t, double, double);

#define INST_F64(r)                                                                    \
    static BM_TGT void tile_f64_##r##_1(size_t kc, const double *a, const double *b,   \
                                        size_t ldb, double *c, size_t ldc, size_t nr,  \
                                        double al, double be)                          \
    {                                                                                  \
        tile_f64(kc, a, b, ldb, c, ldc, nr, al, be, r, 1);                             \
    }                                                                                  \
    static BM_TGT void tile_f64_##r##_2(size_t kc, const double *a, const double *b,   \
                                        size_t ldb, double *c, size_t ldc, size_t nr,  \
                                        double al, double be)                          \
    {                                                                                  \
        tile_f64(kc, a, b, ldb, c, ldc, nr, al, be, r, 2);                             \
    }
BM_NROWS(INST_F64)

#define TAB_F64(r) {tile_f64_##r##_1, tile_f64_##r##_2},
static const tile_f64_fn tiles_f64[MR][2] = {BM_NROWS(TAB_F64)};

static void kern_f64(size_t kc, const void *a, const void *b, size_t ldb, void *c, size_t ldc,
                     size_t mr, size_t nr, double alpha, double beta)
{
    tiles_f64[mr - 1][nr > VL_F64](kc, a, b, ldb, c, ldc, nr, alpha, beta);
}

/* ---- packing and transposed store ---- */

/* The first n (0..8) floats at p; lanes past n read as zero, not touched. */
BM_INL BM_TGT __m256 ld_f32(const float *p, size_t n)
{
    if (n >= VL_F32)
        return _mm256_loadu_ps(p);
    return n ? _mm256_maskload_ps(p, mask_f32(n)) : _mm256_setzero_ps();
}
BM_INL BM_TGT void st_n_f32(float *p, size_t n, __m256 x)
{
    if (n >= VL_F32)
        _mm256_storeu_ps(p, x);
    else
        _mm256_maskstore_ps(p, mask_f32(n), x);
}
BM_INL BM_TGT __m256d ld_f64(const double *p, size_t n)
{
    if (n >= VL_F64)
        return _mm256_loadu_pd(p);
    return n ? _mm256_maskload_pd(p, mask_f64(n)) : _mm256_setzero_pd();
}
BM_INL BM_TGT void st_n_f64(double *p, size_t n, __m256d x)
{
    if (n >= VL_F64)
        _mm256_storeu_pd(p, x);
    else
        _mm256_maskstore_pd(p, mask_f64(n), x);
}

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

/* The four routines below are written once for both types. */
#define PACK_N(T, VL, LD, ST, ZERO)                                                    \
    {                                                                                  \
        const T *s = src;                                                              \
        T *d = dst;                                                                    \
        for (size_t k = 0; k < kc; k++, s += ld, d += R)                               \
            for (size_t r0 = 0; r0 < R; r0 += VL) {                                    \
                size_t nrow = rows > r0 ? rows - r0 : 0;                               \
                ST(d + r0, R - r0, nrow ? LD(s + r0, nrow) : ZERO());                  \
            }                                                                          \
    }

#define PACK_T(T, VL, LD, ST, ZERO, TRANSPOSE, PORTABLE)                               \
    {                                                                                  \
        const T *s = src;                                                              \
        T *d = dst;                                                                    \
        size_t thin = kc % VL, kv = thin && thin < SCALAR_K ? kc - thin : kc;          \
        for (size_t r0 = 0; r0 < R; r0 += VL) {                                        \
            size_t nrow = rows > r0 ? min_sz(VL, rows - r0) : 0;                       \
            for (size_t k = 0; k < kv; k += VL) {                                      \
                size_t kk = min_sz(VL, kv - k);                                        \
                __typeof__(ZERO()) v[VL];                                              \
                for (size_t i = 0; i < VL; i++)                                        \
                    v[i] = i < nrow ? LD(s + (r0 + i) * ld + k, kk) : ZERO();          \
                TRANSPOSE(v);                                                          \
                for (size_t q = 0; q < kk; q++)                                        \
                    ST(d + (k + q) * R + r0, R - r0, v[q]);                            \
            }                                                                          \
        }                                                                              \
        if (kv < kc) /* a thin last chunk: element by element */                       \
            PORTABLE(R, rows, kc - kv, s + kv, ld, d + kv * R);                        \
    }

#define STORE_T(T, VL, LD, ST, ZERO, TRANSPOSE, MUL, FMA, SET1)                        \
    {                                                                                  \
        const T *t = tp;                                                               \
        T *c = cp;                                                                     \
        __typeof__(ZERO()) va = SET1((T)alpha), vb = SET1((T)beta);                    \
        for (size_t i0 = 0; i0 < mr; i0 += VL) {                                       \
            size_t ni = min_sz(VL, mr - i0);                                           \
            for (size_t j0 = 0; j0 < nr; j0 += VL) {                                   \
                size_t nj = min_sz(VL, nr - j0);                                       \
                __typeof__(ZERO()) v[VL];                                              \
                for (size_t i = 0; i < VL; i++)                                        \
                    v[i] = i < ni ? LD(t + (i0 + i) * ldt + j0, nj) : ZERO();          \
                TRANSPOSE(v);                                                          \
                for (size_t j = 0; j < nj; j++) {                                      \
                    T *cj = c + (j0 + j) * ldc + i0;                                   \
                    __typeof__(ZERO()) x = MUL(va, v[j]);                              \
                    if (beta != 0.0)                                                   \
                        x = FMA(vb, LD(cj, ni), x);                                    \
                    ST(cj, ni, x);                                                     \
                }                                                                      \
            }                                                                          \
        }                                                                              \
    }

static BM_TGT void pack_n_f32(size_t R, size_t rows, size_t kc, const void *src, size_t ld,
                              void *dst)
PACK_N(float, VL_F32, ld_f32, st_n_f32, _mm256_setzero_ps)

static BM_TGT void pack_t_f32(size_t R, size_t rows, size_t kc, const void *src, size_t ld,
                              void *dst)
PACK_T(float, VL_F32, ld_f32, st_n_f32, _mm256_setzero_ps, transpose8_f32, bm_gemm_pack_t_f32)

static BM_TGT void store_t_f32(const void *tp, size_t ldt, void *cp, size_t ldc, size_t mr,
                               size_t nr, double alpha, double beta)
STORE_T(float, VL_F32, ld_f32, st_n_f32, _mm256_setzero_ps, transpose8_f32, _mm256_mul_ps,
        _mm256_fmadd_ps, _mm256_set1_ps)

static BM_TGT void pack_n_f64(size_t R, size_t rows, size_t kc, const void *src, size_t ld,
                              void *dst)
PACK_N(double, VL_F64, ld_f64, st_n_f64, _mm256_setzero_pd)

static BM_TGT void pack_t_f64(size_t R, size_t rows, size_t kc, const void *src, size_t ld,
                              void *dst)
PACK_T(double, VL_F64, ld_f64, st_n_f64, _mm256_setzero_pd, transpose4_f64, bm_gemm_pack_t_f64)

static BM_TGT void store_t_f64(const void *tp, size_t ldt, void *cp, size_t ldc, size_t mr,
                               size_t nr, double alpha, double beta)
STORE_T(double, VL_F64, ld_f64, st_n_f64, _mm256_setzero_pd, transpose4_f64, _mm256_mul_pd,
        _mm256_fmadd_pd, _mm256_set1_pd)

static const bm_gemm_kernel kernel_f32 = {MR,       NR_F32,     KC_F32,     NC_F32,     VL_F32,
                                          kern_f32, pack_n_f32, pack_t_f32, store_t_f32};
static const bm_gemm_kernel kernel_f64 = {MR,       NR_F64,     KC_F64,     NC_F64,     VL_F64,
                                          kern_f64, pack_n_f64, pack_t_f64, store_t_f64};

const bm_gemm_kernel *bm_gemm_avx2_kernel(int f64) { return f64 ? &kernel_f64 : &kernel_f32; }

#else /* not x86: no AVX2 path */

const bm_gemm_kernel *bm_gemm_avx2_kernel(int f64)
{
    (void)f64;
    return NULL;
}

#endif
