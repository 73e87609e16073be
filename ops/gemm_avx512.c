/* gemm_avx512.c — AVX-512F micro-kernels for the blocked GEMM (gemm.c).
 * f32: 14×32 tile of C, two 16-lane vectors per row; f64: 14×16, two 8-lane
 * vectors per row. 28 zmm accumulators plus two B vectors and one broadcast
 * fill the 32 registers. Each k step: load one row of the B̃ panel, broadcast
 * 14 elements of Ã, 28 FMAs. One instance per (rows, vectors) pair, so an edge
 * tile does only the arithmetic it needs; masked loads and stores cut the
 * last columns. Built with target attributes: no special compiler flags. */
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

/* X(i) for each accumulator row. */
#define BM_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13)
/* X(r) for each row count of an instance. */
#define BM_NROWS(X) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14)

/* ---- f32 ---- */

/* c[0:16·nv] (mask m0 on the first vector, m1 on the second) =
 * alpha·x‖y + beta·c; rd 0: c is not read. */
BM_INL BM_TGT void st_f32(float *c, __m512 x, __m512 y, int nv, __mmask16 m0, __mmask16 m1,
                          __m512 va, __m512 vb, int rd)
{
    x = _mm512_mul_ps(va, x);
    if (rd)
        x = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, c), x);
    _mm512_mask_storeu_ps(c, m0, x);
    if (nv > 1) {
        y = _mm512_mul_ps(va, y);
        if (rd)
            y = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, c + VL_F32), y);
        _mm512_mask_storeu_ps(c + VL_F32, m1, y);
    }
}

#define DECL_F32(i) __m512 c##i##a = _mm512_setzero_ps(), c##i##b = _mm512_setzero_ps();
/* Both cache lines a row of the tile may start in (the second only when the
 * row holds two vectors). */
#define PF_ROW(i)                                                                      \
    if (rows > i) {                                                                    \
        _mm_prefetch((const char *)(c + (i) * ldc), _MM_HINT_T0);                      \
        if (nv > 1)                                                                    \
            _mm_prefetch((const char *)(c + (i) * ldc) + PF_LINE, _MM_HINT_T0);        \
    }
#define FMA_F32(i)                                                                     \
    if (rows > i) {                                                                    \
        __m512 ai = _mm512_set1_ps(a[i]);                                              \
        c##i##a = _mm512_fmadd_ps(ai, b0, c##i##a);                                    \
        if (nv > 1)                                                                    \
            c##i##b = _mm512_fmadd_ps(ai, b1, c##i##b);                                \
    }
#define ST_F32(i)                                                                      \
    if (rows > i)                                                                      \
        st_f32(c + (i) * ldc, c##i##a, c##i##b, nv, m0, m1, va, vb, rd);

/* One tile: rows (1..14) and nv (1..2) are constants in each instance. The
 * last vector of B̃ is loaded under the column mask, so B read in place is
 * never read past nr. */
BM_INL BM_TGT void tile_f32(size_t kc, const float *a, const float *b, size_t ldb, float *c,
                            size_t ldc, size_t nr, float alpha, float beta, const int rows,
                            const int nv)
{
    unsigned tail = (unsigned)nr - (unsigned)(nv - 1) * VL_F32; /* 1..16 */
    __mmask16 mt = (__mmask16)(0xFFFFu >> (VL_F32 - tail));
    __mmask16 m0 = nv > 1 ? (__mmask16)0xFFFF : mt, m1 = mt;
    BM_ROWS(DECL_F32)
    size_t kpf = kc > PF_DIST ? kc - PF_DIST : 0; /* C is fetched PF_DIST steps ahead */
    for (size_t k = 0; k < kc; k++, a += MR, b += ldb) {
        if (k == kpf && beta != 0) { /* beta 0: C is only written */
            BM_ROWS(PF_ROW)
        }
        __m512 b0 = nv > 1 ? _mm512_loadu_ps(b) : _mm512_maskz_loadu_ps(m0, b);
        __m512 b1 = nv > 1 ? _mm512_maskz_loadu_ps(m1, b + VL_F32) : b0;
        BM_ROWS(FMA_F32)
    }
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
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

BM_INL BM_TGT void st_f64(double *c, __m512d x, __m512d y, int nv, __mmask8 m0, __mmask8 m1,
                          __m512d va, __m512d vb, int rd)
{
    x = _mm512_mul_pd(va, x);
    if (rd)
        x = _mm512_fmadd_pd(vb, _mm512_maskz_loadu_pd(m0, c), x);
    _mm512_mask_storeu_pd(c, m0, x);
    if (nv > 1) {
        y = _mm512_mul_pd(va, y);
        if (rd)
            y = _mm512_fmadd_pd(vb, _mm512_maskz_loadu_pd(m1, c + VL_F64), y);
        _mm512_mask_storeu_pd(c + VL_F64, m1, y);
    }
}

#define DECL_F64(i) __m512d c##i##a = _mm512_setzero_pd(), c##i##b = _mm512_setzero_pd();
#define FMA_F64(i)                                                                     \
    if (rows > i) {                                                                    \
        __m512d ai = _mm512_set1_pd(a[i]);                                             \
        c##i##a = _mm512_fmadd_pd(ai, b0, c##i##a);                                    \
        if (nv > 1)                                                                    \
            c##i##b = _mm512_fmadd_pd(ai, b1, c##i##b);                                \
    }
#define ST_F64(i)                                                                      \
    if (rows > i)                                                                      \
        st_f64(c + (i) * ldc, c##i##a, c##i##b, nv, m0, m1, va, vb, rd);

BM_INL BM_TGT void tile_f64(size_t kc, const double *a, const double *b, size_t ldb, double *c,
                            size_t ldc, size_t nr, double alpha, double beta, const int rows,
                            const int nv)
{
    unsigned tail = (unsigned)nr - (unsigned)(nv - 1) * VL_F64; /* 1..8 */
    __mmask8 mt = (__mmask8)(0xFFu >> (VL_F64 - tail));
    __mmask8 m0 = nv > 1 ? (__mmask8)0xFF : mt, m1 = mt;
    BM_ROWS(DECL_F64)
    size_t kpf = kc > PF_DIST ? kc - PF_DIST : 0; /* C is fetched PF_DIST steps ahead */
    for (size_t k = 0; k < kc; k++, a += MR, b += ldb) {
        if (k == kpf && beta != 0) { /* beta 0: C is only written */
            BM_ROWS(PF_ROW)
        }
        __m512d b0 = nv > 1 ? _mm512_loadu_pd(b) : _mm512_maskz_loadu_pd(m0, b);
        __m512d b1 = nv > 1 ? _mm512_maskz_loadu_pd(m1, b + VL_F64) : b0;
        BM_ROWS(FMA_F64)
    }
    __m512d va = _mm512_set1_pd(alpha), vb = _mm512_set1_pd(beta);
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

/* ---- packing (bm_gemm_pack_fn) ---- */

static size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }

/* The low n (0..16) bits set. */
BM_INL unsigned lanes(size_t n) { return (1u << n) - 1u; }

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

/* Rows of rows elements copied into rows of R lanes (R <= 2 vectors),
 * one source row after the other; masked loads read only real elements. */
static BM_TGT void pack_n_f32(size_t R, size_t rows, size_t kc, const void *src, size_t ld,
                              void *dst)
{
    const float *s = src;
    float *d = dst;
    assert(R <= 2 * VL_F32);
    __mmask16 s0 = (__mmask16)lanes(min_sz(VL_F32, R));
    __mmask16 s1 = (__mmask16)(R > VL_F32 ? lanes(R - VL_F32) : 0);
    __mmask16 l0 = (__mmask16)lanes(min_sz(VL_F32, rows));
    __mmask16 l1 = (__mmask16)(rows > VL_F32 ? lanes(rows - VL_F32) : 0);
    for (size_t k = 0; k < kc; k++, s += ld, d += R) {
        _mm512_mask_storeu_ps(d, s0, _mm512_maskz_loadu_ps(l0, s));
        if (s1)
            _mm512_mask_storeu_ps(d + VL_F32, s1,
                                  l1 ? _mm512_maskz_loadu_ps(l1, s + VL_F32) : _mm512_setzero_ps());
    }
}

/* 16×16 blocks: rows r0.. and depths k.. of src, transposed into lanes; a
 * last chunk of fewer than SCALAR_K depths goes element by element. */
static BM_TGT void pack_t_f32(size_t R, size_t rows, size_t kc, const void *src, size_t ld,
                              void *dst)
{
    if (kc < SCALAR_K) { /* thin: element by element, before any set-up */
        bm_gemm_pack_t_f32(R, rows, kc, src, ld, dst);
        return;
    }
    const float *s = src;
    float *d = dst;
    size_t thin = kc % VL_F32, kv = thin && thin < SCALAR_K ? kc - thin : kc;
    for (size_t r0 = 0; r0 < R; r0 += VL_F32) {
        size_t nl = min_sz(VL_F32, R - r0), nrow = rows > r0 ? min_sz(VL_F32, rows - r0) : 0;
        __mmask16 sm = (__mmask16)lanes(nl);
        for (size_t k = 0; k < kv; k += VL_F32) {
            size_t kk = min_sz(VL_F32, kv - k);
            __mmask16 km = (__mmask16)lanes(kk);
            __m512 v[VL_F32];
#pragma GCC unroll 16
            for (size_t i = 0; i < VL_F32; i++)
                v[i] = i < nrow ? _mm512_maskz_loadu_ps(km, s + (r0 + i) * ld + k)
                                : _mm512_setzero_ps();
            transpose16_f32(v);
#pragma GCC unroll 16
            for (size_t q = 0; q < VL_F32; q++)
                if (q < kk)
                    _mm512_mask_storeu_ps(d + (k + q) * R + r0, sm, v[q]);
        }
    }
    if (kv < kc) /* a thin last chunk: element by element */
        bm_gemm_pack_t_f32(R, rows, kc - kv, s + kv, ld, d + kv * R);
}

static BM_TGT void pack_n_f64(size_t R, size_t rows, size_t kc, const void *src, size_t ld,
                              void *dst)
{
    const double *s = src;
    double *d = dst;
    assert(R <= 2 * VL_F64);
    __mmask8 s0 = (__mmask8)lanes(min_sz(VL_F64, R));
    __mmask8 s1 = (__mmask8)(R > VL_F64 ? lanes(R - VL_F64) : 0);
    __mmask8 l0 = (__mmask8)lanes(min_sz(VL_F64, rows));
    __mmask8 l1 = (__mmask8)(rows > VL_F64 ? lanes(rows - VL_F64) : 0);
    for (size_t k = 0; k < kc; k++, s += ld, d += R) {
        _mm512_mask_storeu_pd(d, s0, _mm512_maskz_loadu_pd(l0, s));
        if (s1)
            _mm512_mask_storeu_pd(d + VL_F64, s1,
                                  l1 ? _mm512_maskz_loadu_pd(l1, s + VL_F64) : _mm512_setzero_pd());
    }
}

static BM_TGT void pack_t_f64(size_t R, size_t rows, size_t kc, const void *src, size_t ld,
                              void *dst)
{
    if (kc < SCALAR_K) { /* thin: element by element, before any set-up */
        bm_gemm_pack_t_f64(R, rows, kc, src, ld, dst);
        return;
    }
    const double *s = src;
    double *d = dst;
    size_t thin = kc % VL_F64, kv = thin && thin < SCALAR_K ? kc - thin : kc;
    for (size_t r0 = 0; r0 < R; r0 += VL_F64) {
        size_t nl = min_sz(VL_F64, R - r0), nrow = rows > r0 ? min_sz(VL_F64, rows - r0) : 0;
        __mmask8 sm = (__mmask8)lanes(nl);
        for (size_t k = 0; k < kv; k += VL_F64) {
            size_t kk = min_sz(VL_F64, kv - k);
            __mmask8 km = (__mmask8)lanes(kk);
            __m512d v[VL_F64];
#pragma GCC unroll 8
            for (size_t i = 0; i < VL_F64; i++)
                v[i] = i < nrow ? _mm512_maskz_loadu_pd(km, s + (r0 + i) * ld + k)
                                : _mm512_setzero_pd();
            transpose8_f64(v);
#pragma GCC unroll 8
            for (size_t q = 0; q < VL_F64; q++)
                if (q < kk)
                    _mm512_mask_storeu_pd(d + (k + q) * R + r0, sm, v[q]);
        }
    }
    if (kv < kc) /* a thin last chunk: element by element */
        bm_gemm_pack_t_f64(R, rows, kc - kv, s + kv, ld, d + kv * R);
}

/* ---- transposed store (bm_gemm_store_t_fn) ---- */

/* 16-column blocks of the tile (mr <= 16 rows) transposed in registers; each
 * column becomes one masked row segment of C. */
static BM_TGT void store_t_f32(const void *tp, size_t ldt, void *cp, size_t ldc, size_t mr,
                               size_t nr, double alpha, double beta)
{
    const float *t = tp;
    float *c = cp;
    assert(mr <= VL_F32);
    __mmask16 rm = (__mmask16)lanes(mr);
    __m512 va = _mm512_set1_ps((float)alpha), vb = _mm512_set1_ps((float)beta);
    for (size_t j0 = 0; j0 < nr; j0 += VL_F32) {
        size_t nj = min_sz(VL_F32, nr - j0);
        __mmask16 jm = (__mmask16)lanes(nj);
        __m512 v[VL_F32];
#pragma GCC unroll 16
        for (size_t i = 0; i < VL_F32; i++)
            v[i] = i < mr ? _mm512_maskz_loadu_ps(jm, t + i * ldt + j0) : _mm512_setzero_ps();
        transpose16_f32(v);
#pragma GCC unroll 16
        for (size_t j = 0; j < VL_F32; j++)
            if (j < nj) {
                float *cj = c + (j0 + j) * ldc;
                __m512 x = _mm512_mul_ps(va, v[j]);
                if (beta != 0.0)
                    x = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(rm, cj), x);
                _mm512_mask_storeu_ps(cj, rm, x);
            }
    }
}

/* 8×8 blocks of the tile transposed in registers. */
static BM_TGT void store_t_f64(const void *tp, size_t ldt, void *cp, size_t ldc, size_t mr,
                               size_t nr, double alpha, double beta)
{
    const double *t = tp;
    double *c = cp;
    __m512d va = _mm512_set1_pd(alpha), vb = _mm512_set1_pd(beta);
    for (size_t i0 = 0; i0 < mr; i0 += VL_F64) {
        size_t ni = min_sz(VL_F64, mr - i0);
        __mmask8 rm = (__mmask8)lanes(ni);
        for (size_t j0 = 0; j0 < nr; j0 += VL_F64) {
            size_t nj = min_sz(VL_F64, nr - j0);
            __mmask8 jm = (__mmask8)lanes(nj);
            __m512d v[VL_F64];
#pragma GCC unroll 8
            for (size_t i = 0; i < VL_F64; i++)
                v[i] = i < ni ? _mm512_maskz_loadu_pd(jm, t + (i0 + i) * ldt + j0)
                              : _mm512_setzero_pd();
            transpose8_f64(v);
#pragma GCC unroll 8
            for (size_t j = 0; j < VL_F64; j++)
                if (j < nj) {
                    double *cj = c + (j0 + j) * ldc + i0;
                    __m512d x = _mm512_mul_pd(va, v[j]);
                    if (beta != 0.0)
                        x = _mm512_fmadd_pd(vb, _mm512_maskz_loadu_pd(rm, cj), x);
                    _mm512_mask_storeu_pd(cj, rm, x);
                }
        }
    }
}

static const bm_gemm_kernel kernel_f32 = {MR,       NR_F32,     KC_F32,     NC_F32,     VL_F32,
                                          kern_f32, pack_n_f32, pack_t_f32, store_t_f32};
static const bm_gemm_kernel kernel_f64 = {MR,       NR_F64,     KC_F64,     NC_F64,     VL_F64,
                                          kern_f64, pack_n_f64, pack_t_f64, store_t_f64};

const bm_gemm_kernel *bm_gemm_avx512_kernel(int f64) { return f64 ? &kernel_f64 : &kernel_f32; }

#else /* not x86: no AVX-512 path */

const bm_gemm_kernel *bm_gemm_avx512_kernel(int f64)
{
    (void)f64;
    return NULL;
}

#endif
