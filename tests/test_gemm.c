/* test_gemm.c — the blocked GEMM against a naive triple loop, on every path
 * (portable, AVX2, AVX-512) this CPU has: odd sizes, all four transpose
 * forms, alpha/beta variants, padded leading dimensions, beta 0 over NaN. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gemm_internal.h"
#include "ops_internal.h"
#include "test_util.h"

enum { PAD_LD = 3 }; /* extra columns past each logical row, filled with a sentinel */

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
                              c->beta, C, ldc);
        for (size_t i = 0; ran && i < c->M * ldc; i++) {
            if (i % ldc >= c->N)
                ck_assert_msg(C[i] == SENTINEL, "f64 padding of C written at %zu", i);
            else
                ck_assert_msg(fabs(C[i] - R[i]) <= rtol * E[i],
                              "f64 isa %d ta%d tb%d %zux%zux%zu: C[%zu] = %.17g, want %.17g",
                              (int)isa, c->ta, c->tb, c->M, c->N, c->K, i, C[i], R[i]);
        }
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
                              ldb, (float)c->beta, C, ldc);
        for (size_t i = 0; ran && i < c->M * ldc; i++) {
            if (i % ldc >= c->N)
                ck_assert_msg(C[i] == (float)SENTINEL, "f32 padding of C written at %zu", i);
            else
                ck_assert_msg(fabs(C[i] - R[i]) <= rtol * E[i],
                              "f32 isa %d ta%d tb%d %zux%zux%zu: C[%zu] = %.9g, want %.9g",
                              (int)isa, c->ta, c->tb, c->M, c->N, c->K, i, (double)C[i], R[i]);
        }
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

/* The loop tests run once per path: _i is a bm_gemm_isa. */
#define SKIP_UNAVAILABLE(isa)                                                           \
    do {                                                                                \
        if (!bm_gemm_isa_available(isa)) {                                              \
            float one = 1, c = 7;                                                       \
            ck_assert_int_eq(bm_gemm_f32_isa(isa, 0, 0, 1, 1, 1, 1, &one, 1, &one, 1, 0, &c, 1), 0); \
            ck_assert(c == 7);                                                          \
            return;                                                                     \
        }                                                                               \
    } while (0)

START_TEST(odd_sizes)
{
    bm_gemm_isa isa = (bm_gemm_isa)_i;
    SKIP_UNAVAILABLE(isa);
    static const size_t sz[][3] = {
        {1, 1, 1},   {1, 7, 1},    {7, 1, 33},  {7, 33, 1},  {33, 7, 257}, {2, 300, 64},
        {15, 17, 5}, {29, 45, 31}, {57, 13, 9}, {13, 65, 40}, {128, 10, 128}, {300, 3, 64},
        {300, 64, 2}, {6, 16, 300}, {14, 32, 20}, {16, 16, 16}, {33, 33, 1},
        {4, 4, 4},   {2, 3, 5},    {4, 4, 5}}; /* the last three: both sides of the plain loop */
    for (size_t i = 0; i < sizeof sz / sizeof sz[0]; i++)
        run_forms(isa, sz[i][0], sz[i][1], sz[i][2], 1.0, 0.0, 0);
}
END_TEST

START_TEST(alpha_beta_ld)
{
    bm_gemm_isa isa = (bm_gemm_isa)_i;
    SKIP_UNAVAILABLE(isa);
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
    SKIP_UNAVAILABLE(isa);
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
    SKIP_UNAVAILABLE(isa);
    float A[6] = {1, 2, 3, 4, 5, 6}, B[6] = {1, 1, 1, 1, 1, 1}, C[4] = {1, 2, 3, 4};
    ck_assert(bm_gemm_f32_isa(isa, 0, 0, 2, 2, 0, 1, A, 1, B, 2, 0.5f, C, 2));
    ck_assert(C[0] == 0.5f && C[3] == 2.0f);
    float Cn[4] = {NAN, NAN, NAN, NAN};
    ck_assert(bm_gemm_f32_isa(isa, 0, 0, 2, 2, 0, 1, A, 1, B, 2, 0.0f, Cn, 2));
    ck_assert(Cn[0] == 0.0f && Cn[3] == 0.0f);
    double Ad[4] = {NAN, 1, 1, 1}, Bd[4] = {1, 1, 1, 1}, Cd[4] = {1, 2, 3, 4};
    ck_assert(bm_gemm_f64_isa(isa, 0, 0, 2, 2, 2, 0.0, Ad, 2, Bd, 2, 2.0, Cd, 2));
    ck_assert(Cd[0] == 2.0 && Cd[3] == 8.0);
    ck_assert(bm_gemm_f64_isa(isa, 0, 0, 0, 2, 2, 1.0, Ad, 2, Bd, 2, 0.0, Cd, 2));
    ck_assert(bm_gemm_f64_isa(isa, 0, 0, 2, 0, 2, 1.0, Ad, 2, Bd, 2, 0.0, Cd, 2));
    ck_assert(Cd[0] == 2.0 && Cd[1] == 4.0);
}
END_TEST

/* The same call twice gives the same bits; bm_gemm_f32/f64 are the best path. */
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
    for (int t = 0; t < 4; t++) {
        int ta = t >> 1, tb = t & 1;
        size_t lda = ta ? M : K, ldb = tb ? K : N;
        bm_gemm_f32(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C1, N);
        bm_gemm_f32_isa(bm_gemm_isa_best(), ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C2, N);
        ck_assert(memcmp(C1, C2, M * N * sizeof *C1) == 0);
        bm_gemm_f32(ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 0.0f, C2, N);
        ck_assert(memcmp(C1, C2, M * N * sizeof *C1) == 0);
        bm_gemm_f64(ta, tb, M, N, K, 1.0, Ad, lda, Bd, ldb, 0.0, D1, N);
        bm_gemm_f64_isa(bm_gemm_isa_best(), ta, tb, M, N, K, 1.0, Ad, lda, Bd, ldb, 0.0, D2, N);
        ck_assert(memcmp(D1, D2, M * N * sizeof *D1) == 0);
    }
    ck_assert(bm_gemm_isa_available(BM_GEMM_PORTABLE));
    ck_assert(!bm_gemm_isa_available(BM_GEMM_ISA_COUNT));
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

static Suite *make_suite(void)
{
    Suite *s = suite_create("gemm");
    TCase *tc = tcase_create("paths");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, odd_sizes, BM_GEMM_PORTABLE, BM_GEMM_ISA_COUNT);
    tcase_add_loop_test(tc, alpha_beta_ld, BM_GEMM_PORTABLE, BM_GEMM_ISA_COUNT);
    tcase_add_loop_test(tc, blocked_large, BM_GEMM_PORTABLE, BM_GEMM_ISA_COUNT);
    tcase_add_loop_test(tc, degenerate, BM_GEMM_PORTABLE, BM_GEMM_ISA_COUNT);
    tcase_add_test(tc, deterministic);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return bm_test_run(make_suite()); }
