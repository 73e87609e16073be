/* test_gemm.c — the blocked GEMM against a naive triple loop, on every path
 * (portable, AVX2, AVX-512, BLAS in a -Dblas=enabled build) this build and
 * CPU have: odd sizes, all four transpose forms, alpha/beta variants, padded
 * leading dimensions, beta 0 over NaN; each product also on pools of 2 and 3
 * threads with a workspace (aligned or not), where the own kernels must give
 * the single-threaded result bit for bit; a kernel that reads op(A) in
 * place (kern_a) gives the packed kernel's bits. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gemm_internal.h"
#include "ops_internal.h"
#include "test_util.h"

enum { PAD_LD = 3 }; /* extra columns past each logical row, filled with a sentinel */
enum { N_POOLS = 2 };  /* the threaded runs: pools of 2 and 3 threads */

/* The pools each test runs its products on (made in setup, freed in teardown). */
static bm_pool *pools[N_POOLS];

static void pools_setup(void)
{
    for (int i = 0; i < N_POOLS; i++) {
        bm_error e = {0};
        pools[i] = bm_pool_new(i + 2, &e);
        ck_assert_msg(pools[i] != NULL, "%s", e.msg);
    }
}

static void pools_teardown(void)
{
    for (int i = 0; i < N_POOLS; i++) {
        bm_pool_free(pools[i]);
        pools[i] = NULL;
    }
}

static const double SENTINEL = -12345.0;

/* Deterministic values in [-1, 1). */
static double next_val(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return (double)(*s >> 11) / (double)(1ull << 52) - 1.0;
}

/* One product: sizes, forms, scalars, and whether C starts as NaN. */
typedef struct gcase {
    size_t M, N, K;
    int ta, tb;
    double alpha, beta;
    size_t pad; /* added to lda, ldb, ldc */
} gcase;

/* Runs case c on path isa in f32 or f64, checks every element against the
 * naive loop (in double) and that the padding of C is untouched. Returns 0
 * when the path is not available. */
static int run_case(bm_gemm_isa isa, int f64, const gcase *c)
{
    size_t ar = c->ta ? c->K : c->M, ac = c->ta ? c->M : c->K; /* stored shapes */
    size_t br = c->tb ? c->N : c->K, bc = c->tb ? c->K : c->N;
    size_t lda = ac + c->pad, ldb = bc + c->pad, ldc = c->N + c->pad;
    size_t na = ar * lda + 1, nb = br * ldb + 1, ncs = c->M * ldc + 1;
    double *A = malloc(na * sizeof *A), *B = malloc(nb * sizeof *B);
    double *C0 = malloc(ncs * sizeof *C0), *R = malloc(ncs * sizeof *R), *E = malloc(ncs * sizeof *E);
    ck_assert(A && B && C0 && R && E);
    uint64_t s = 0x9E3779B97F4A7C15ull ^ (c->M * 131 + c->N * 31 + c->K);
    for (size_t i = 0; i < na; i++)
        A[i] = next_val(&s);
    for (size_t i = 0; i < nb; i++)
        B[i] = next_val(&s);
    for (size_t i = 0; i < ncs; i++)
        C0[i] = (i % ldc) >= c->N ? SENTINEL : c->beta == 0.0 ? (double)NAN : next_val(&s);
    /* reference: R = alpha·Σ op(A)op(B) + beta·C0; E = the error scale */
    for (size_t i = 0; i < c->M; i++)
        for (size_t j = 0; j < c->N; j++) {
            double sum = 0, mag = 0;
            for (size_t k = 0; k < c->K; k++) {
                double a = c->ta ? A[k * lda + i] : A[i * lda + k];
                double b = c->tb ? B[j * ldb + k] : B[k * ldb + j];
                if (!f64) {
                    a = (float)a;
                    b = (float)b;
                }
                sum += a * b;
                mag += fabs(a * b);
            }
            double old = c->beta == 0.0 ? 0.0 : f64 ? C0[i * ldc + j] : (float)C0[i * ldc + j];
            R[i * ldc + j] = c->alpha * sum + c->beta * old;
            E[i * ldc + j] = fabs(c->alpha) * mag + fabs(c->beta * old) + 1e-30;
        }
    double rtol = (f64 ? 1e-12 : 1e-5) * (double)(c->K + 1);
    int ran;
    if (f64) {
        double *C = malloc(ncs * sizeof *C);
        memcpy(C, C0, ncs * sizeof *C);
        ran = bm_gemm_f64_isa(isa, c->ta, c->tb, c->M, c->N, c->K, c->alpha, A, lda, B, ldb,
                              c->beta, C, ldc, NULL, NULL, 0);
        size_t bad = 0; /* the first wrong element (one check: Check's are slow) */
        while (ran && bad < c->M * ldc &&
               (bad % ldc >= c->N ? C[bad] == SENTINEL : fabs(C[bad] - R[bad]) <= rtol * E[bad]))
            bad++;
        ck_assert_msg(!ran || bad == c->M * ldc,
                      "f64 isa %d ta%d tb%d %zux%zux%zu: C[%zu] = %.17g, want %.17g%s", (int)isa,
                      c->ta, c->tb, c->M, c->N, c->K, bad, C[bad], R[bad],
                      bad % ldc >= c->N ? " (padding written)" : "");
        /* threaded, workspace aligned (off 0) or not (off 1): the same bits */
        double *T = malloc(ncs * sizeof *T);
        for (int p = 0; ran && p < N_POOLS; p++)
            for (size_t off = 0; off < 2; off++) {
                size_t wb = bm_gemm_workspace_bytes_isa(isa, BM_F64, c->ta, c->tb, c->M, c->N,
                                                        c->K, bm_pool_threads(pools[p]));
                unsigned char *ws = malloc(wb + off + 1);
                memcpy(T, C0, ncs * sizeof *T);
                ck_assert(bm_gemm_f64_isa(isa, c->ta, c->tb, c->M, c->N, c->K, c->alpha, A, lda,
                                          B, ldb, c->beta, T, ldc, pools[p], ws + off, wb));
                size_t i = 0; /* the first difference (one check: Check's are slow) */
                while (i < c->M * ldc && (isa == BM_GEMM_BLAS
                                              ? fabs(T[i] - R[i]) <= rtol * E[i] ||
                                                    (i % ldc >= c->N && T[i] == SENTINEL)
                                              : memcmp(&T[i], &C[i], sizeof T[i]) == 0))
                    i++;
                ck_assert_msg(i == c->M * ldc,
                              "f64 isa %d ta%d tb%d %zux%zux%zu on %d threads: C[%zu] = %.17g, "
                              "one thread %.17g", (int)isa, c->ta, c->tb, c->M, c->N, c->K,
                              bm_pool_threads(pools[p]), i, T[i], C[i]);
                free(ws);
            }
        free(T);
        free(C);
    } else {
        float *Af = malloc(na * sizeof *Af), *Bf = malloc(nb * sizeof *Bf);
        float *C = malloc(ncs * sizeof *C);
        for (size_t i = 0; i < na; i++)
            Af[i] = (float)A[i];
        for (size_t i = 0; i < nb; i++)
            Bf[i] = (float)B[i];
        for (size_t i = 0; i < ncs; i++)
            C[i] = (float)C0[i];
        ran = bm_gemm_f32_isa(isa, c->ta, c->tb, c->M, c->N, c->K, (float)c->alpha, Af, lda, Bf,
                              ldb, (float)c->beta, C, ldc, NULL, NULL, 0);
        size_t bad = 0;
        while (ran && bad < c->M * ldc &&
               (bad % ldc >= c->N ? C[bad] == (float)SENTINEL
                                  : fabs(C[bad] - R[bad]) <= rtol * E[bad]))
            bad++;
        ck_assert_msg(!ran || bad == c->M * ldc,
                      "f32 isa %d ta%d tb%d %zux%zux%zu: C[%zu] = %.9g, want %.9g%s", (int)isa,
                      c->ta, c->tb, c->M, c->N, c->K, bad, (double)C[bad], R[bad],
                      bad % ldc >= c->N ? " (padding written)" : "");
        float *T = malloc(ncs * sizeof *T);
        for (int p = 0; ran && p < N_POOLS; p++)
            for (size_t off = 0; off < 2; off++) {
                size_t wb = bm_gemm_workspace_bytes_isa(isa, BM_F32, c->ta, c->tb, c->M, c->N,
                                                        c->K, bm_pool_threads(pools[p]));
                unsigned char *ws = malloc(wb + off + 1);
                for (size_t i = 0; i < ncs; i++)
                    T[i] = (float)C0[i];
                ck_assert(bm_gemm_f32_isa(isa, c->ta, c->tb, c->M, c->N, c->K, (float)c->alpha,
                                          Af, lda, Bf, ldb, (float)c->beta, T, ldc, pools[p],
                                          ws + off, wb));
                size_t i = 0;
                while (i < c->M * ldc && (isa == BM_GEMM_BLAS
                                              ? fabs(T[i] - R[i]) <= rtol * E[i] ||
                                                    (i % ldc >= c->N && T[i] == (float)SENTINEL)
                                              : memcmp(&T[i], &C[i], sizeof T[i]) == 0))
                    i++;
                ck_assert_msg(i == c->M * ldc,
                              "f32 isa %d ta%d tb%d %zux%zux%zu on %d threads: C[%zu] = %.9g, "
                              "one thread %.9g", (int)isa, c->ta, c->tb, c->M, c->N, c->K,
                              bm_pool_threads(pools[p]), i, (double)T[i], (double)C[i]);
                free(ws);
            }
        free(T);
        free(Af);
        free(Bf);
        free(C);
    }
    free(A);
    free(B);
    free(C0);
    free(R);
    free(E);
    return ran;
}

/* Every (ta, tb) form of M×N×K on isa, both types. */
static void run_forms(bm_gemm_isa isa, size_t M, size_t N, size_t K, double alpha, double beta,
                      size_t pad)
{
    for (int f64 = 0; f64 < 2; f64++)
        for (int t = 0; t < 4; t++) {
            gcase c = {M, N, K, t >> 1, t & 1, alpha, beta, pad};
            ck_assert_int_eq(run_case(isa, f64, &c), bm_gemm_isa_available(isa));
        }
}

/* The loop tests run once per path: _i is a bm_gemm_isa. A path's case is only in the
 * suite when this build and CPU have it (see make_suite). */
#define REQUIRE_AVAILABLE(isa) ck_assert_msg(bm_gemm_isa_available(isa), "path %d absent", (int)(isa))

/* The own kernel of path isa for one type (NULL: not an own path, or absent). */
static const bm_gemm_kernel *own_kernel(bm_gemm_isa isa, int f64)
{
    if (!bm_gemm_isa_available(isa))
        return NULL;
    switch (isa) {
    case BM_GEMM_PORTABLE:
        return bm_gemm_portable_kernel(f64);
    case BM_GEMM_AVX2:
        return bm_gemm_avx2_kernel(f64);
    case BM_GEMM_AVX512:
        return bm_gemm_avx512_kernel(f64);
    default:
        return NULL;
    }
}

enum { KA_MAX_K = 33, KA_LD = 37, KA_MAX = 64 }; /* kern_a test: depths, padded strides */

/* kern_a on A read in place (stored [M,K] or [K,M], padded strides) gives
 * the bits kern gives on the packed panel, for every tile size, odd depths,
 * beta 0 and not, and writes nothing past the tile. */
static void kern_a_case(const bm_gemm_kernel *kd, int f64, int ta, size_t mr, size_t nr,
                        size_t kc, double beta)
{
    size_t es = f64 ? sizeof(double) : sizeof(float);
    _Alignas(64) unsigned char abuf[KA_MAX * KA_MAX_K * sizeof(double)];
    unsigned char A[KA_LD * KA_LD * sizeof(double)], B[KA_MAX_K * KA_LD * sizeof(double)];
    unsigned char C0[KA_MAX * KA_LD * sizeof(double)], C1[sizeof C0];
    for (size_t i = 0; i < KA_LD * KA_LD; i++) {
        double v = (double)((i * 7919) % 23) / 8 - 1.25;
        if (f64)
            ((double *)A)[i] = v;
        else
            ((float *)A)[i] = (float)v;
    }
    for (size_t i = 0; i < KA_MAX_K * KA_LD; i++) {
        double v = (double)((i * 104729) % 19) / 4 - 2;
        if (f64)
            ((double *)B)[i] = v;
        else
            ((float *)B)[i] = (float)v;
    }
    for (size_t i = 0; i < sizeof C0 / es; i++) {
        double v = i % KA_LD < nr ? (double)(i % 5) - 2 : SENTINEL;
        if (f64)
            ((double *)C0)[i] = v;
        else
            ((float *)C0)[i] = (float)v;
    }
    memcpy(C1, C0, sizeof C0);
    if (ta)
        kd->pack_n(kd->mr, mr, kc, A, KA_LD, abuf);
    else
        kd->pack_t(kd->mr, mr, kc, A, KA_LD, abuf);
    kd->kern(kc, abuf, B, KA_LD, C0, KA_LD, mr, nr, -1.5, beta);
    kd->kern_a(kc, A, ta ? 1 : KA_LD, ta ? KA_LD : 1, B, KA_LD, C1, KA_LD, mr, nr, -1.5, beta);
    ck_assert_msg(memcmp(C0, C1, sizeof C0) == 0, "kern_a f64 %d ta %d %zux%zu kc %zu beta %g: "
                  "not the packed kernel's bits", f64, ta, mr, nr, kc, beta);
}

START_TEST(kern_a_matches_packed)
{
    bm_gemm_isa isa = (bm_gemm_isa)_i;
    static const size_t ks[] = {1, 2, 7, 16, KA_MAX_K};
    int ran = 0;
    for (int f64 = 0; f64 < 2; f64++) {
        const bm_gemm_kernel *kd = own_kernel(isa, f64);
        if (!kd || !kd->kern_a)
            continue; /* this path always packs Ã */
        ck_assert(kd->mr <= KA_MAX && kd->nr < KA_LD);
        for (int ta = 0; ta < 2; ta++)
            for (size_t mr = 1; mr <= kd->mr; mr++)
                for (size_t nr = 1; nr <= kd->nr; nr++)
                    for (size_t k = 0; k < sizeof ks / sizeof ks[0]; k++) {
                        kern_a_case(kd, f64, ta, mr, nr, ks[k], 0.0);
                        kern_a_case(kd, f64, ta, mr, nr, ks[k], 0.5);
                        ran++;
                    }
    }
    ck_assert(ran > 0 || isa != BM_GEMM_AVX2); /* the AVX2 path has kern_a */
}
END_TEST

/* Every path this build or CPU lacks refuses a product, leaving C alone. */
START_TEST(unavailable_paths_refuse)
{
    for (int isa = BM_GEMM_PORTABLE; isa < BM_GEMM_ISA_COUNT; isa++) {
        if (bm_gemm_isa_available((bm_gemm_isa)isa))
            continue;
        float one = 1, c = 7;
        ck_assert_int_eq(bm_gemm_f32_isa((bm_gemm_isa)isa, 0, 0, 1, 1, 1, 1, &one, 1, &one, 1, 0,
                                         &c, 1, NULL, NULL, 0),
                         0);
        ck_assert(c == 7);
    }
}
END_TEST

START_TEST(odd_sizes)
{
    bm_gemm_isa isa = (bm_gemm_isa)_i;
    REQUIRE_AVAILABLE(isa);
    static const size_t sz[][3] = {
        {1, 1, 1},   {1, 7, 1},    {7, 1, 33},  {7, 33, 1},  {33, 7, 257}, {2, 300, 64},
        {15, 17, 5}, {29, 45, 31}, {57, 13, 9}, {13, 65, 40}, {128, 10, 128}, {300, 3, 64},
        {300, 64, 2}, {6, 16, 300}, {14, 32, 20}, {16, 16, 16}, {33, 33, 1},
        {4, 4, 4},   {2, 3, 5},    {4, 4, 5}}; /* the last three: both sides of the plain loop */
    for (size_t i = 0; i < sizeof sz / sizeof sz[0]; i++)
        run_forms(isa, sz[i][0], sz[i][1], sz[i][2], 1.0, 0.0, 0);
}
END_TEST

/* The small-K path (K <= BM_GEMM_SMALL_K: op(A) read in place, op(B) in
 * place or transposed onto the stack when it fits): every depth on both
 * sides of the bound, odd M and N around the vector width, op(B) too large
 * for the stack copy (N = 600 at K = 4), alpha/beta and padded strides. */
START_TEST(small_k)
{
    bm_gemm_isa isa = (bm_gemm_isa)_i;
    REQUIRE_AVAILABLE(isa);
    static const size_t mn[][2] = {{300, 64}, {301, 67}, {17, 300}, {5, 9}, {64, 3}, {300, 600}};
    static const double ab[][2] = {{1, 0}, {-0.5, 2}, {2, 1}};
    for (size_t i = 0; i < sizeof mn / sizeof mn[0]; i++)
        for (size_t k = 1; k <= BM_GEMM_SMALL_K + 1; k++)
            for (size_t j = 0; j < sizeof ab / sizeof ab[0]; j++)
                run_forms(isa, mn[i][0], mn[i][1], k, ab[j][0], ab[j][1], j & 1);
}
END_TEST

START_TEST(alpha_beta_ld)
{
    bm_gemm_isa isa = (bm_gemm_isa)_i;
    REQUIRE_AVAILABLE(isa);
    static const double ab[][2] = {{1, 0}, {1, 1}, {-0.5, 2}, {2, 0}, {0.5, -1}, {0, 0.5}};
    for (size_t i = 0; i < sizeof ab / sizeof ab[0]; i++) {
        run_forms(isa, 37, 41, 29, ab[i][0], ab[i][1], PAD_LD);
        run_forms(isa, 5, 3, 7, ab[i][0], ab[i][1], PAD_LD);       /* direct loop */
        run_forms(isa, 200, 5, 20, ab[i][0], ab[i][1], PAD_LD);    /* swapped: few columns */
    }
}
END_TEST

/* Past the blocking sizes: several K slices (beta applied once), several N
 * blocks, the heap-packed path. */
START_TEST(blocked_large)
{
    bm_gemm_isa isa = (bm_gemm_isa)_i;
    REQUIRE_AVAILABLE(isa);
    run_forms(isa, 45, 530, 300, 0.75, 0.5, PAD_LD);
    run_forms(isa, 257, 257, 257, 1.0, 0.0, 1);
    run_forms(isa, 3, 40, 600, -1.0, 1.0, 0);
}
END_TEST

/* K = 0 and alpha = 0 scale C by beta without forming the product; an
 * empty C is not touched. */
START_TEST(degenerate)
{
    bm_gemm_isa isa = (bm_gemm_isa)_i;
    REQUIRE_AVAILABLE(isa);
    float A[6] = {1, 2, 3, 4, 5, 6}, B[6] = {1, 1, 1, 1, 1, 1}, C[4] = {1, 2, 3, 4};
    ck_assert(bm_gemm_f32_isa(isa, 0, 0, 2, 2, 0, 1, A, 1, B, 2, 0.5f, C, 2, NULL, NULL, 0));
    ck_assert(C[0] == 0.5f && C[3] == 2.0f);
    float Cn[4] = {NAN, NAN, NAN, NAN};
    ck_assert(bm_gemm_f32_isa(isa, 0, 0, 2, 2, 0, 1, A, 1, B, 2, 0.0f, Cn, 2, NULL, NULL, 0));
    ck_assert(Cn[0] == 0.0f && Cn[3] == 0.0f);
    double Ad[4] = {NAN, 1, 1, 1}, Bd[4] = {1, 1, 1, 1}, Cd[4] = {1, 2, 3, 4};
    ck_assert(bm_gemm_f64_isa(isa, 0, 0, 2, 2, 2, 0.0, Ad, 2, Bd, 2, 2.0, Cd, 2, NULL, NULL, 0));
    ck_assert(Cd[0] == 2.0 && Cd[3] == 8.0);
    ck_assert(bm_gemm_f64_isa(isa, 0, 0, 0, 2, 2, 1.0, Ad, 2, Bd, 2, 0.0, Cd, 2, NULL, NULL, 0));
    ck_assert(bm_gemm_f64_isa(isa, 0, 0, 2, 0, 2, 1.0, Ad, 2, Bd, 2, 0.0, Cd, 2, NULL, NULL, 0));
    ck_assert(Cd[0] == 2.0 && Cd[1] == 4.0);
}
END_TEST

/* The same call twice gives the same bits; bm_gemm_f32/f64 are the AUTO
 * path, which is the best own kernel unless BLAS takes the product. */
START_TEST(deterministic)
{
    enum { M = 97, N = 83, K = 301 };
    float *A = malloc(M * K * sizeof *A), *B = malloc(K * N * sizeof *B);
    float *C1 = malloc(M * N * sizeof *C1), *C2 = malloc(M * N * sizeof *C2);
    double *Ad = malloc(M * K * sizeof *Ad), *Bd = malloc(K * N * sizeof *Bd);
    double *D1 = malloc(M * N * sizeof *D1), *D2 = malloc(M * N * sizeof *D2);
    uint64_t s = 7;
    for (size_t i = 0; i < (size_t)M * K; i++)
        Ad[i] = A[i] = (float)next_val(&s);
    for (size_t i = 0; i < (size_t)K * N; i++)
        Bd[i] = B[i] = (float)next_val(&s);
    bm_gemm_isa same = bm_gemm_blas_wanted(M, N, K) ? BM_GEMM_AUTO : bm_gemm_isa_best();
    for (int t = 0; t < 4; t++) {
        int ta = t >> 1, tb = t & 1;
        size_t lda = ta ? M : K, ldb = tb ? K : N;
        bm_gemm_f32(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C1, N);
        bm_gemm_f32_isa(same, ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C2, N, NULL, NULL, 0);
        ck_assert(memcmp(C1, C2, M * N * sizeof *C1) == 0);
        bm_gemm_f32(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C2, N);
        ck_assert(memcmp(C1, C2, M * N * sizeof *C1) == 0);
        bm_gemm_f64(ta, tb, M, N, K, 1.0, Ad, lda, Bd, ldb, 0.0, D1, N);
        bm_gemm_f64_isa(same, ta, tb, M, N, K, 1.0, Ad, lda, Bd, ldb, 0.0, D2, N, NULL, NULL, 0);
        ck_assert(memcmp(D1, D2, M * N * sizeof *D1) == 0);
    }
    ck_assert(bm_gemm_isa_available(BM_GEMM_PORTABLE));
    ck_assert(!bm_gemm_isa_available(BM_GEMM_ISA_COUNT));
    ck_assert_int_eq(bm_gemm_isa_available(BM_GEMM_BLAS), bm_gemm_blas_available());
    free(A);
    free(B);
    free(C1);
    free(C2);
    free(Ad);
    free(Bd);
    free(D1);
    free(D2);
}
END_TEST

/* Shapes that split across threads every way: rows (M large, N narrow),
 * columns, the swapped product (N = 5), one strip read in place, W2's. */
START_TEST(threaded_splits)
{
    bm_gemm_isa isa = (bm_gemm_isa)_i;
    REQUIRE_AVAILABLE(isa);
    static const size_t sz[][3] = {{300, 40, 600}, {2000, 5, 100}, {1, 1000, 300},
                                   {128, 128, 784}, {784, 128, 128}, {61, 67, 129}};
    for (size_t i = 0; i < sizeof sz / sizeof sz[0]; i++)
        run_forms(isa, sz[i][0], sz[i][1], sz[i][2], 1.0, i % 2 ? 1.0 : 0.0, i == 5);
}
END_TEST

/* A workspace too small for the pool runs on fewer threads, one too small
 * for a single thread allocates, and neither changes a bit; the size asked
 * for t threads is enough for any fewer. */
START_TEST(workspace_sizes)
{
    enum { M = 300, N = 700, K = 500 };
    float *A = malloc(M * K * sizeof *A), *B = malloc(K * N * sizeof *B);
    float *C1 = malloc(M * N * sizeof *C1), *C2 = malloc(M * N * sizeof *C2);
    uint64_t s = 11;
    for (size_t i = 0; i < (size_t)M * K; i++)
        A[i] = (float)next_val(&s);
    for (size_t i = 0; i < (size_t)K * N; i++)
        B[i] = (float)next_val(&s);
    bm_gemm_isa isa = bm_gemm_isa_best();
    size_t prev = 0;
    for (int t = 1; t <= 8; t++) {
        size_t w = bm_gemm_workspace_bytes_isa(isa, BM_F32, 1, 1, M, N, K, t);
        ck_assert_uint_ge(w, prev);
        prev = w;
    }
    size_t w1 = bm_gemm_workspace_bytes_isa(isa, BM_F32, 0, 0, M, N, K, 1);
    size_t w3 = bm_gemm_workspace_bytes_isa(isa, BM_F32, 0, 0, M, N, K, 3);
    ck_assert_uint_gt(w1, 0); /* 500×700 floats do not fit the stack block */
    ck_assert_uint_ge(w3, w1);
    unsigned char *ws = malloc(w3);
    ck_assert(bm_gemm_f32_isa(isa, 0, 0, M, N, K, 1, A, K, B, N, 0, C1, N, NULL, NULL, 0));
    size_t sizes[] = {w3, w1, w1 / 2, 1, 0};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        memset(C2, 0, M * N * sizeof *C2);
        ck_assert(bm_gemm_f32_isa(isa, 0, 0, M, N, K, 1, A, K, B, N, 0, C2, N, pools[1],
                                  sizes[i] ? ws : NULL, sizes[i]));
        ck_assert_msg(memcmp(C1, C2, M * N * sizeof *C1) == 0, "workspace %zu of %zu", sizes[i],
                      w3);
    }
    /* a product small enough for the stack needs none */
    ck_assert_uint_eq(bm_gemm_workspace_bytes_isa(isa, BM_F32, 0, 0, 16, 16, 16, 4), 0);
    free(ws);
    free(A);
    free(B);
    free(C1);
    free(C2);
}
END_TEST

/* BLAS (a -Dblas=enabled build) against the best own kernel: the same
 * products to rounding, in both types and every form, through AUTO too. */
START_TEST(blas_matches_own)
{
    REQUIRE_AVAILABLE(BM_GEMM_BLAS);
    enum { M = 200, N = 300, K = 250 };
    ck_assert(bm_gemm_blas_wanted(M, N, K));
    double *Ad = malloc(M * K * sizeof *Ad), *Bd = malloc(K * N * sizeof *Bd);
    double *D1 = malloc(M * N * sizeof *D1), *D2 = malloc(M * N * sizeof *D2);
    float *A = malloc(M * K * sizeof *A), *B = malloc(K * N * sizeof *B);
    float *C1 = malloc(M * N * sizeof *C1), *C2 = malloc(M * N * sizeof *C2);
    uint64_t s = 5;
    for (size_t i = 0; i < (size_t)M * K; i++)
        A[i] = (float)(Ad[i] = next_val(&s));
    for (size_t i = 0; i < (size_t)K * N; i++)
        B[i] = (float)(Bd[i] = next_val(&s));
    for (int t = 0; t < 4; t++) {
        int ta = t >> 1, tb = t & 1;
        size_t lda = ta ? M : K, ldb = tb ? K : N;
        ck_assert(bm_gemm_f64_isa(bm_gemm_isa_best(), ta, tb, M, N, K, 0.5, Ad, lda, Bd, ldb,
                                  0.0, D1, N, NULL, NULL, 0));
        bm_gemm_f64_ex(ta, tb, M, N, K, 0.5, Ad, lda, Bd, ldb, 0.0, D2, N, pools[0], NULL, 0);
        ck_assert(bm_gemm_f32_isa(bm_gemm_isa_best(), ta, tb, M, N, K, 0.5f, A, lda, B, ldb,
                                  0.0f, C1, N, NULL, NULL, 0));
        ck_assert(bm_gemm_f32_isa(BM_GEMM_BLAS, ta, tb, M, N, K, 0.5f, A, lda, B, ldb, 0.0f, C2,
                                  N, NULL, NULL, 0));
        size_t i = 0, j = 0;
        while (i < (size_t)M * N && fabs(D1[i] - D2[i]) <= 1e-13 * K)
            i++;
        while (j < (size_t)M * N && fabs(C1[j] - C2[j]) <= 1e-5 * K)
            j++;
        ck_assert_msg(i == (size_t)M * N, "f64 %d: %zu: %.17g vs %.17g", t, i, D1[i], D2[i]);
        ck_assert_msg(j == (size_t)M * N, "f32 %d: %zu: %.9g vs %.9g", t, j, (double)C1[j],
                      (double)C2[j]);
    }
    free(Ad);
    free(Bd);
    free(D1);
    free(D2);
    free(A);
    free(B);
    free(C1);
    free(C2);
}
END_TEST

/* The paths, and the test case of each (all but portable need the CPU or the build). */
static const struct {
    bm_gemm_isa isa;
    const char *name, *needs;
} paths[] = {
    {.isa = BM_GEMM_PORTABLE, .name = "portable", .needs = NULL},
    {.isa = BM_GEMM_AVX2, .name = "avx2", .needs = "a CPU with AVX2 and FMA"},
    {.isa = BM_GEMM_AVX512, .name = "avx512", .needs = "a CPU with AVX-512F"},
    {.isa = BM_GEMM_BLAS, .name = "blas", .needs = "a -Dblas=enabled build"},
};
enum { N_PATHS = sizeof paths / sizeof paths[0] };

static Suite *make_suite(void)
{
    Suite *s = suite_create("gemm");
    TCase *tc = tcase_create("paths");
    tcase_set_timeout(tc, 300);
    tcase_add_checked_fixture(tc, pools_setup, pools_teardown);
    tcase_add_test(tc, deterministic);
    tcase_add_test(tc, workspace_sizes);
    tcase_add_test(tc, unavailable_paths_refuse);
    suite_add_tcase(s, tc);
    for (int i = 0; i < N_PATHS; i++) {
        int isa = (int)paths[i].isa;
        if (!bm_gemm_isa_available(paths[i].isa))
            continue; /* not run here: its own meson test reports a skip */
        TCase *p = paths[i].needs ? bm_test_case_needing(paths[i].name) : tcase_create(paths[i].name);
        tcase_set_timeout(p, 300);
        tcase_add_checked_fixture(p, pools_setup, pools_teardown);
        tcase_add_loop_test(p, odd_sizes, isa, isa + 1);
        tcase_add_loop_test(p, small_k, isa, isa + 1);
        tcase_add_loop_test(p, alpha_beta_ld, isa, isa + 1);
        tcase_add_loop_test(p, blocked_large, isa, isa + 1);
        tcase_add_loop_test(p, degenerate, isa, isa + 1);
        tcase_add_loop_test(p, threaded_splits, isa, isa + 1);
        tcase_add_loop_test(p, kern_a_matches_packed, isa, isa + 1);
        if (paths[i].isa == BM_GEMM_BLAS)
            tcase_add_test(p, blas_matches_own);
        suite_add_tcase(s, p);
    }
    return s;
}

int main(void)
{
    for (int i = 0; i < N_PATHS; i++)
        if (paths[i].needs &&
            bm_test_missing(paths[i].name, bm_gemm_isa_available(paths[i].isa), paths[i].needs))
            return BM_TEST_SKIP;
    return bm_test_run(make_suite());
}
