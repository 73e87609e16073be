/* test_generate.c — sampling and generation (bm_generate.h): temperature 0
 * is argmax, top-k never leaves the k best, the draw frequencies follow the
 * tempered softmax, a seed gives the same ids; generation with a [T,V] and
 * a [V] model against the documented window rule; bad arguments. */
#include "test_util.h"

/* Draws for the frequency and top-k checks. */
#define DRAWS 20000
/* Allowed gap between a frequency and its probability: > 5 standard errors
 * of DRAWS draws (sqrt(0.25 / DRAWS) = 0.0035). */
#define FREQ_TOL 0.02

static double randn_scores(double *s, size_t n, uint64_t seed)
{
    bm_rng r;
    bm_rng_seed(&r, seed);
    double best = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        s[i] = 2.0 * bm_rng_normal(&r);
        best = s[i] > best ? s[i] : best;
    }
    return best;
}

static uint32_t argmax(const double *s, size_t n)
{
    size_t b = 0;
    for (size_t i = 1; i < n; i++)
        if (s[i] > s[b])
            b = i;
    return (uint32_t)b;
}

START_TEST(greedy_is_argmax)
{
    double s[17];
    bm_rng r;
    bm_rng_seed(&r, 1);
    bm_error e = {0};
    for (uint64_t seed = 0; seed < 20; seed++) {
        randn_scores(s, 17, seed);
        uint32_t id = UINT32_MAX, id1 = UINT32_MAX, tiny = UINT32_MAX;
        ck_assert_int_eq(bm_sample_scores(s, 17, 0.0, 0, NULL, &id, &e), BM_OK);
        ck_assert_uint_eq(id, argmax(s, 17));
        /* top-k 1 at any temperature, and a vanishing temperature, are greedy too */
        ck_assert_int_eq(bm_sample_scores(s, 17, 3.0, 1, &r, &id1, &e), BM_OK);
        ck_assert_uint_eq(id1, id);
        ck_assert_int_eq(bm_sample_scores(s, 17, 1e-9, 0, &r, &tiny, &e), BM_OK);
        ck_assert_uint_eq(tiny, id);
    }
    const double tie[4] = {-1.0, 2.0, 2.0, 0.5}; /* ties: the lower id */
    uint32_t id = 0;
    ck_assert_int_eq(bm_sample_scores(tie, 4, 0.0, 0, NULL, &id, &e), BM_OK);
    ck_assert_uint_eq(id, 1);
}
END_TEST

START_TEST(top_k_stays_in_best)
{
    enum { N = 20, K = 5 };
    double s[N];
    randn_scores(s, N, 42);
    /* the K best by brute force: those with fewer than K scores above them */
    int best[N] = {0};
    for (size_t i = 0; i < N; i++) {
        int above = 0;
        for (size_t j = 0; j < N; j++)
            above += s[j] > s[i];
        best[i] = above < K;
    }
    size_t seen[N] = {0};
    bm_rng r;
    bm_rng_seed(&r, 9);
    bm_error e = {0};
    for (int d = 0; d < DRAWS; d++) {
        uint32_t id = UINT32_MAX;
        ck_assert_int_eq(bm_sample_scores(s, N, 2.0, K, &r, &id, &e), BM_OK);
        ck_assert_uint_lt(id, N);
        ck_assert_msg(best[id], "draw %d picked id %u outside the %d best", d, id, K);
        seen[id]++;
    }
    for (size_t i = 0; i < N; i++)
        if (best[i])
            ck_assert_msg(seen[i] > 0, "id %zu of the %d best never drawn", i, K);
    /* ties at the boundary: the lower ids are the candidates */
    const double tie[4] = {1.0, 1.0, 1.0, 0.0};
    for (int d = 0; d < 200; d++) {
        uint32_t id = 0;
        ck_assert_int_eq(bm_sample_scores(tie, 4, 1.0, 2, &r, &id, &e), BM_OK);
        ck_assert_uint_lt(id, 2);
    }
}
END_TEST

/* Frequencies of DRAWS draws at temperature t and top-k k against the
 * softmax of s / t over the k best. */
static void check_frequencies(const double *s, size_t n, double t, size_t k, uint64_t seed)
{
    double p[8] = {0}, total = 0.0;
    uint32_t order[8];
    for (size_t i = 0; i < n; i++)
        order[i] = (uint32_t)i;
    for (size_t i = 0; i < n; i++) /* selection sort by score, descending */
        for (size_t j = i + 1; j < n; j++)
            if (s[order[j]] > s[order[i]]) {
                uint32_t tmp = order[i];
                order[i] = order[j];
                order[j] = tmp;
            }
    size_t kk = k ? k : n;
    for (size_t i = 0; i < kk; i++)
        total += p[order[i]] = exp(s[order[i]] / t);
    size_t count[8] = {0};
    bm_rng r;
    bm_rng_seed(&r, seed);
    bm_error e = {0};
    for (int d = 0; d < DRAWS; d++) {
        uint32_t id = 0;
        ck_assert_int_eq(bm_sample_scores(s, n, t, k, &r, &id, &e), BM_OK);
        count[id]++;
    }
    for (size_t i = 0; i < n; i++)
        ck_near((double)count[i] / DRAWS, p[i] / total, FREQ_TOL);
}

START_TEST(frequencies_follow_softmax)
{
    const double s[6] = {0.3, -1.0, 1.2, 0.0, 0.9, -0.2};
    check_frequencies(s, 6, 1.0, 0, 5);
    check_frequencies(s, 6, 0.5, 0, 6);
    check_frequencies(s, 6, 2.0, 3, 7);
    /* -inf scores (probability 0) are never drawn */
    const double z[3] = {-INFINITY, 0.0, 0.0};
    check_frequencies(z, 3, 1.0, 0, 8);
}
END_TEST

START_TEST(same_seed_same_ids)
{
    double s[30];
    randn_scores(s, 30, 3);
    uint32_t a[64], b[64], c[64];
    bm_rng ra, rb, rc;
    bm_rng_seed(&ra, 11);
    bm_rng_seed(&rb, 11);
    bm_rng_seed(&rc, 12);
    bm_error e = {0};
    int differ = 0;
    for (int i = 0; i < 64; i++) {
        ck_assert_int_eq(bm_sample_scores(s, 30, 1.5, 10, &ra, &a[i], &e), BM_OK);
        ck_assert_int_eq(bm_sample_scores(s, 30, 1.5, 10, &rb, &b[i], &e), BM_OK);
        ck_assert_int_eq(bm_sample_scores(s, 30, 1.5, 10, &rc, &c[i], &e), BM_OK);
        ck_assert_uint_eq(a[i], b[i]);
        differ += a[i] != c[i];
    }
    ck_assert_int_gt(differ, 0);
}
END_TEST

START_TEST(sample_bad_args)
{
    const double s[3] = {0.0, 1.0, 2.0};
    const double nan_s[3] = {0.0, NAN, 2.0}, inf_s[3] = {INFINITY, 0.0, 0.0};
    const double none[2] = {-INFINITY, -INFINITY};
    bm_rng r;
    bm_rng_seed(&r, 1);
    bm_error e = {0};
    uint32_t id = 0;
    ck_assert_int_eq(bm_sample_scores(s, 3, -0.5, 0, &r, &id, &e), BM_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(e.msg, "temperature -0.5"));
    ck_assert_int_eq(bm_sample_scores(s, 3, NAN, 0, &r, &id, &e), BM_ERR_ARG);
    ck_assert_int_eq(bm_sample_scores(s, 3, INFINITY, 0, &r, &id, &e), BM_ERR_ARG);
    ck_assert_int_eq(bm_sample_scores(s, 3, 1.0, 4, &r, &id, &e), BM_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(e.msg, "top_k 4 is more than the 3 scores"));
    ck_assert_int_eq(bm_sample_scores(s, 0, 1.0, 0, &r, &id, &e), BM_ERR_ARG);
    ck_assert_int_eq(bm_sample_scores(nan_s, 3, 1.0, 0, &r, &id, &e), BM_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(e.msg, "score 1 is nan"));
    ck_assert_int_eq(bm_sample_scores(inf_s, 3, 0.0, 0, &r, &id, &e), BM_ERR_ARG);
    ck_assert_int_eq(bm_sample_scores(none, 2, 0.0, 0, &r, &id, &e), BM_ERR_ARG);
    ck_assert_int_eq(bm_sample_scores(none, 2, 1.0, 0, &r, &id, &e), BM_ERR_ARG);
    ck_assert_int_eq(bm_sample_scores(s, 3, 1.0, 0, NULL, &id, &e), BM_ERR_NULL);
    ck_assert_int_eq(bm_sample_scores(NULL, 3, 1.0, 0, &r, &id, &e), BM_ERR_NULL);
    ck_assert_int_eq(bm_sample_scores(s, 3, 1.0, 0, &r, NULL, &e), BM_ERR_NULL);
    ck_assert_int_eq(bm_sample_scores(s, 3, 0.0, 0, NULL, &id, &e), BM_OK); /* greedy: no rng */
    ck_assert_uint_eq(id, 2);
}
END_TEST

/* A dense model from T token ids to `out` outputs, softmax_cce, initialised. */
static bm_model *dense_model(size_t T, size_t out)
{
    bm_error e = {0};
    bm_model *m = bm_model_new(BM_F64, T, &e);
    ck_assert_ptr_nonnull(m);
    bm_layer_spec d = bm_dense_spec(T, out);
    d.init = BM_INIT_GLOROT;
    ck_assert_int_eq(bm_model_add(m, &d, &e), BM_OK);
    ck_assert_int_eq(bm_model_set_loss(m, BM_LOSS_SOFTMAX_CCE, &e), BM_OK);
    ck_assert_int_eq(bm_model_init(m, 5, &e), BM_OK);
    return m;
}

/* The greedy next id by the documented rule, computed with bm_model_predict. */
static uint32_t expected_greedy(bm_model *m, const uint32_t *all, size_t known, size_t T,
                                size_t V, int sequence, uint32_t pad)
{
    size_t xs[2] = {1, T};
    bm_error e = {0};
    bm_tensor *x = bm_tensor_new(BM_F64, 2, xs, &e), *p = NULL;
    size_t count = known < T ? known : T;
    for (size_t j = 0; j < T; j++) {
        size_t src = sequence ? j : j + count - T; /* [V]: the window's end */
        int inside = sequence ? j < count : j >= T - count;
        bm_tensor_set(x, j, inside ? all[known - count + src] : pad);
    }
    ck_assert_int_eq(bm_model_predict(m, x, &p, &e), BM_OK);
    size_t pos = sequence ? count - 1 : 0, best = 0;
    for (size_t v = 1; v < V; v++)
        if (bm_tensor_get(p, pos * V + v) > bm_tensor_get(p, pos * V + best))
            best = v;
    bm_tensor_free(p);
    bm_tensor_free(x);
    return (uint32_t)best;
}

/* Greedy generation of n ids after prompt equals the rule, step by step. */
static void check_greedy(bm_model *m, size_t T, size_t V, int sequence, size_t vocab)
{
    enum { N = 9 };
    const uint32_t prompt[2] = {3, 1};
    uint32_t out[N], all[2 + N] = {3, 1};
    bm_generate_opts o = bm_generate_defaults();
    o.tokens = N;
    o.temperature = 0.0;
    o.vocab = vocab;
    o.pad = 2;
    bm_error e = {0};
    ck_assert_msg(bm_generate(m, prompt, 2, &o, out, &e) == BM_OK, "%s", e.msg);
    for (size_t i = 0; i < N; i++) {
        all[2 + i] = expected_greedy(m, all, 2 + i, T, V, sequence, o.pad);
        ck_assert_uint_eq(out[i], all[2 + i]);
    }
}

START_TEST(generate_sequence_model)
{
    enum { T = 4, V = 5 };
    bm_model *m = dense_model(T, T * V); /* output [T,V] as T·V values */
    check_greedy(m, T, V, 1, 0);         /* V inferred */
    check_greedy(m, T, V, 1, V);
    /* sampling: the same seed gives the same ids, top-k 1 is greedy */
    const uint32_t prompt[3] = {0, 4, 4};
    uint32_t a[40], b[40], g[40], k1[40];
    bm_generate_opts o = bm_generate_defaults();
    o.tokens = 40;
    o.seed = 77;
    bm_error e = {0};
    ck_assert_int_eq(bm_generate(m, prompt, 3, &o, a, &e), BM_OK);
    ck_assert_int_eq(bm_generate(m, prompt, 3, &o, b, &e), BM_OK);
    ck_assert_int_eq(memcmp(a, b, sizeof a), 0);
    for (size_t i = 0; i < 40; i++)
        ck_assert_uint_lt(a[i], V);
    o.top_k = 1;
    ck_assert_int_eq(bm_generate(m, prompt, 3, &o, k1, &e), BM_OK);
    o.top_k = 0;
    o.temperature = 0.0;
    ck_assert_int_eq(bm_generate(m, prompt, 3, &o, g, &e), BM_OK);
    ck_assert_int_eq(memcmp(k1, g, sizeof g), 0);
    bm_model_free(m);
}
END_TEST

START_TEST(generate_graph_sequence_model)
{
    enum { T = 4, V = 7, E = 3 };
    bm_error e = {0};
    bm_model *m = bm_model_new(BM_F64, T, &e);
    bm_shape ids = {.rank = 1, .dim = {T}};
    ck_assert_int_eq(bm_model_set_input_shape(m, &ids, &e), BM_OK);
    bm_layer_spec emb = bm_layer_default(BM_LAYER_EMBEDDING), head = bm_dense_spec(0, V);
    emb.in = V;
    emb.out = E;
    head.init = BM_INIT_GLOROT;
    ck_assert_msg(bm_model_add(m, &emb, &e) == BM_OK, "%s", e.msg);
    ck_assert_msg(bm_model_add(m, &head, &e) == BM_OK, "%s", e.msg);
    ck_assert_int_eq(bm_model_set_loss(m, BM_LOSS_SOFTMAX_CCE, &e), BM_OK);
    ck_assert_int_eq(bm_model_init(m, 3, &e), BM_OK);
    ck_assert_uint_eq(bm_model_n_outputs(m), T * V); /* output [T,V]: V read from the shape */
    check_greedy(m, T, V, 1, 0);
    bm_model_free(m);
}
END_TEST

START_TEST(generate_next_token_model)
{
    enum { T = 3, V = 6 };
    bm_model *m = dense_model(T, V); /* output [V]: the token after the window */
    check_greedy(m, T, V, 0, V);
    bm_model_free(m);
}
END_TEST

START_TEST(generate_bad_args)
{
    enum { T = 3, V = 5 };
    bm_model *m = dense_model(T, T * V);
    const uint32_t prompt[2] = {1, 2}, bad[2] = {1, 5};
    uint32_t out[4];
    bm_generate_opts o = bm_generate_defaults();
    o.tokens = 4;
    bm_error e = {0};
    ck_assert_int_eq(bm_generate(m, prompt, 0, &o, out, &e), BM_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(e.msg, "empty prompt"));
    ck_assert_int_eq(bm_generate(m, bad, 2, &o, out, &e), BM_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(e.msg, "prompt id 5 at position 1"));
    o.pad = V;
    ck_assert_int_eq(bm_generate(m, prompt, 2, &o, out, &e), BM_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(e.msg, "pad id 5"));
    o.pad = 0;
    o.top_k = V + 1;
    ck_assert_int_eq(bm_generate(m, prompt, 2, &o, out, &e), BM_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(e.msg, "top_k 6"));
    o.top_k = 0;
    o.temperature = -1.0;
    ck_assert_int_eq(bm_generate(m, prompt, 2, &o, out, &e), BM_ERR_ARG);
    o.temperature = NAN;
    ck_assert_int_eq(bm_generate(m, prompt, 2, &o, out, &e), BM_ERR_ARG);
    o.temperature = 1.0;
    o.vocab = 7; /* 15 outputs are neither 3 x 7 nor 7 */
    ck_assert_int_eq(bm_generate(m, prompt, 2, &o, out, &e), BM_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(e.msg, "neither [T,V] nor [V]"));
    o.vocab = 0;
    ck_assert_int_eq(bm_generate(NULL, prompt, 2, &o, out, &e), BM_ERR_NULL);
    ck_assert_int_eq(bm_generate(m, NULL, 2, &o, out, &e), BM_ERR_NULL);
    ck_assert_int_eq(bm_generate(m, prompt, 2, NULL, out, &e), BM_ERR_NULL);
    ck_assert_int_eq(bm_generate(m, prompt, 2, &o, NULL, &e), BM_ERR_NULL);
    o.tokens = 0; /* nothing to write: out may be NULL */
    ck_assert_int_eq(bm_generate(m, prompt, 2, &o, NULL, &e), BM_OK);
    bm_model *fresh = bm_model_new(BM_F64, T, &e); /* no layers, no parameters */
    o.tokens = 1;
    ck_assert_int_eq(bm_generate(fresh, prompt, 2, &o, out, &e), BM_ERR_ARG);
    bm_model_free(fresh);
    bm_model_free(m);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("generate");
    TCase *tc = tcase_create("generate");
    tcase_add_test(tc, greedy_is_argmax);
    tcase_add_test(tc, top_k_stays_in_best);
    tcase_add_test(tc, frequencies_follow_softmax);
    tcase_add_test(tc, same_seed_same_ids);
    tcase_add_test(tc, sample_bad_args);
    tcase_add_test(tc, generate_sequence_model);
    tcase_add_test(tc, generate_graph_sequence_model);
    tcase_add_test(tc, generate_next_token_model);
    tcase_add_test(tc, generate_bad_args);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return bm_test_run(make_suite()); }
