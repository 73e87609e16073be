/* generate.c — sampling the next token from scores, and generating text
 * with a sequence model one token at a time (bm_generate.h). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bm_generate.h"

/* One candidate of a top-k draw. */
typedef struct scored {
    double s;
    uint32_t id;
} scored;

/* Higher score first; on a tie the lower id first (a total order, so the
 * candidates are the same on every libc). */
static int by_score(const void *pa, const void *pb)
{
    const scored *a = pa, *b = pb;
    if (a->s != b->s)
        return a->s > b->s ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

/* Check the arguments and the scores (no NaN, no +inf). */
static bm_status check_sample(const double *scores, size_t n, double temperature, size_t top_k,
                              const bm_rng *rng, const uint32_t *id, bm_error *err)
{
    static const char fn[] = "bm_sample_scores";
    if (!scores || !id)
        return bm_error_set(err, BM_ERR_NULL, "%s: NULL %s", fn, !scores ? "scores" : "id");
    if (n == 0 || n > BM_GENERATE_MAX_VOCAB)
        return bm_error_set(err, BM_ERR_ARG, "%s: %zu scores; 1 to %zu can be sampled", fn, n,
                            (size_t)BM_GENERATE_MAX_VOCAB);
    if (!(temperature >= 0.0) || isinf(temperature))
        return bm_error_set(err, BM_ERR_ARG,
                            "%s: temperature %g is not a finite number >= 0 (0: greedy)", fn,
                            temperature);
    if (top_k > n)
        return bm_error_set(err, BM_ERR_ARG, "%s: top_k %zu is more than the %zu scores", fn,
                            top_k, n);
    if (!rng && temperature > 0.0)
        return bm_error_set(err, BM_ERR_NULL, "%s: NULL rng for temperature %g", fn,
                            temperature);
    for (size_t i = 0; i < n; i++)
        if (isnan(scores[i]) || scores[i] == INFINITY)
            return bm_error_set(err, BM_ERR_ARG, "%s: score %zu is %g", fn, i, scores[i]);
    return BM_OK;
}

/* The highest score's id (the lowest on ties) into *id. */
static bm_status greedy(const double *scores, size_t n, uint32_t *id, bm_error *err)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (scores[i] > scores[best])
            best = i;
    if (scores[best] == -INFINITY)
        return bm_error_set(err, BM_ERR_ARG, "bm_sample_scores: every score is -inf");
    *id = (uint32_t)best;
    return BM_OK;
}

/* Draw from the k candidates c (score, id) with weights exp((s - max) / t). */
static bm_status draw(const scored *c, size_t k, double t, bm_rng *rng, uint32_t *id,
                      bm_error *err)
{
    double max = -INFINITY, total = 0.0;
    for (size_t i = 0; i < k; i++)
        max = c[i].s > max ? c[i].s : max;
    if (max == -INFINITY)
        return bm_error_set(err, BM_ERR_ARG,
                            "bm_sample_scores: every candidate's score is -inf");
    for (size_t i = 0; i < k; i++)
        total += exp((c[i].s - max) / t);
    double u = bm_rng_uniform(rng) * total, cum = 0.0;
    size_t last = 0; /* the last candidate of positive weight: rounding's fallback */
    for (size_t i = 0; i < k; i++) {
        double w = exp((c[i].s - max) / t);
        if (w <= 0.0)
            continue;
        last = i;
        cum += w;
        if (u < cum) {
            *id = c[i].id;
            return BM_OK;
        }
    }
    *id = c[last].id;
    return BM_OK;
}

bm_status bm_sample_scores(const double *scores, size_t n, double temperature, size_t top_k,
                           bm_rng *rng, uint32_t *id, bm_error *err)
{
    bm_status st = check_sample(scores, n, temperature, top_k, rng, id, err);
    if (st != BM_OK)
        return st;
    if (temperature == 0.0 || top_k == 1)
        return greedy(scores, n, id, err);
    size_t k = top_k ? top_k : n;
    scored *c = malloc(n * sizeof *c);
    if (!c)
        return bm_error_set(err, BM_ERR_NOMEM, "bm_sample_scores: out of memory");
    for (size_t i = 0; i < n; i++)
        c[i] = (scored){.s = scores[i], .id = (uint32_t)i};
    if (k < n)
        qsort(c, n, sizeof *c, by_score);
    st = draw(c, k, temperature, rng, id, err);
    free(c);
    return st;
}

bm_generate_opts bm_generate_defaults(void)
{
    return (bm_generate_opts){
        .tokens = 1, .temperature = 1.0, .top_k = 0, .seed = 0, .vocab = 0, .pad = 0};
}

/* What one generation needs: the model's window, its layout, buffers. */
typedef struct gen_state {
    bm_model *m;
    size_t T, V;
    int sequence;     /* output [T,V] (1) or [V] (0) */
    int log_of_probs; /* predictions are probabilities: scores are their logs */
    bm_tensor *x;     /* [1,T] */
    double *scores;   /* [V] */
} gen_state;

/* Predict on g->x into *out (the caller frees it). */
static bm_status predict(gen_state *g, bm_tensor **out, bm_error *err)
{
    *out = NULL;
    return bm_model_predict(g->m, g->x, out, err);
}

/* V and the layout from output 0's per-sample shape: [T,V] gives V, else
 * the width divided by T (or the caller's vocabulary). */
static bm_status find_layout(gen_state *g, size_t vocab, bm_error *err)
{
    static const char fn[] = "bm_generate";
    size_t width = bm_model_n_outputs(g->m);
    const bm_shape *os = bm_model_node_shape(
        g->m, bm_model_node_find(g->m, bm_model_output_name(g->m, 0)));
    size_t V = vocab;
    if (!V && os && os->rank == 2 && os->dim[0] == g->T)
        V = os->dim[1];
    if (!V && width % g->T == 0)
        V = width / g->T;
    if (V == 0 || (width != V * g->T && width != V))
        return bm_error_set(err, BM_ERR_ARG,
                            "%s: the model's output of %zu values is neither [T,V] nor [V] for "
                            "T = %zu inputs and vocabulary %zu%s",
                            fn, width, g->T, V, vocab ? "" : " (inferred)");
    if (V > BM_GENERATE_MAX_VOCAB)
        return bm_error_set(err, BM_ERR_ARG, "%s: vocabulary %zu is over %zu", fn, V,
                            (size_t)BM_GENERATE_MAX_VOCAB);
    g->V = V;
    g->sequence = width == V * g->T;
    return BM_OK;
}

/* Check the ids against V. */
static bm_status check_ids(const gen_state *g, const uint32_t *prompt, size_t n,
                           uint32_t pad, bm_error *err)
{
    for (size_t i = 0; i < n; i++)
        if (prompt[i] >= g->V)
            return bm_error_set(err, BM_ERR_ARG,
                                "bm_generate: prompt id %u at position %zu is not below the "
                                "vocabulary size %zu",
                                (unsigned)prompt[i], i, g->V);
    if (pad >= g->V)
        return bm_error_set(err, BM_ERR_ARG,
                            "bm_generate: pad id %u is not below the vocabulary size %zu",
                            (unsigned)pad, g->V);
    return BM_OK;
}

/* Fill the window from the `known` ids of all and return the output
 * position whose scores predict the next token. */
static size_t fill_window(gen_state *g, const uint32_t *all, size_t known, uint32_t pad)
{
    size_t count = known < g->T ? known : g->T, start = known - count;
    size_t first = g->sequence ? 0 : g->T - count; /* [V] models: left padding */
    for (size_t j = 0; j < g->T; j++) {
        int inside = j >= first && j < first + count;
        bm_tensor_set(g->x, j, inside ? all[start + j - first] : pad);
    }
    return g->sequence ? count - 1 : 0;
}

/* One token: the window of the known ids, a prediction, a draw. */
static bm_status step(gen_state *g, uint32_t *all, size_t known, const bm_generate_opts *o,
                      bm_rng *rng, bm_error *err)
{
    size_t pos = fill_window(g, all, known, o->pad);
    bm_tensor *p = NULL;
    bm_status st = predict(g, &p, err);
    if (st != BM_OK)
        return st;
    for (size_t v = 0; v < g->V; v++) {
        double s = bm_tensor_get(p, pos * g->V + v);
        g->scores[v] = g->log_of_probs ? log(s) : s;
    }
    bm_tensor_free(p);
    return bm_sample_scores(g->scores, g->V, o->temperature, o->top_k, rng, &all[known], err);
}

/* Check the arguments bm_generate can check before any prediction. */
static bm_status check_generate(bm_model *m, const uint32_t *prompt, size_t n_prompt,
                                const bm_generate_opts *o, const uint32_t *out, bm_error *err)
{
    static const char fn[] = "bm_generate";
    if (!m || !prompt || !o || (!out && o->tokens))
        return bm_error_set(err, BM_ERR_NULL, "%s: NULL %s", fn,
                            !m ? "model" : !prompt ? "prompt" : !o ? "options" : "out");
    if (n_prompt == 0)
        return bm_error_set(err, BM_ERR_ARG,
                            "%s: empty prompt (a text has no beginning-of-text token: give at "
                            "least one)", fn);
    if (!(o->temperature >= 0.0) || isinf(o->temperature))
        return bm_error_set(err, BM_ERR_ARG,
                            "%s: temperature %g is not a finite number >= 0 (0: greedy)", fn,
                            o->temperature);
    if (o->tokens > SIZE_MAX / sizeof(uint32_t) - n_prompt)
        return bm_error_set(err, BM_ERR_SIZE, "%s: %zu tokens after a prompt of %zu", fn,
                            o->tokens, n_prompt);
    if (bm_model_n_inputs(m) == 0 || bm_model_n_params(m) == 0)
        return bm_error_set(err, BM_ERR_ARG, "%s: the model has no inputs or no parameters "
                                             "(initialise or load it first)", fn);
    return BM_OK;
}

bm_status bm_generate(bm_model *m, const uint32_t *prompt, size_t n_prompt,
                      const bm_generate_opts *o, uint32_t *out, bm_error *err)
{
    bm_status st = check_generate(m, prompt, n_prompt, o, out, err);
    if (st != BM_OK || o->tokens == 0)
        return st;
    bm_loss_kind loss = bm_model_loss(m);
    gen_state g = {.m = m,
                   .T = bm_model_n_inputs(m),
                   .log_of_probs = loss == BM_LOSS_CCE || loss == BM_LOSS_SOFTMAX_CCE};
    size_t xs[2] = {1, g.T};
    g.x = bm_tensor_new(bm_model_dtype(m), 2, xs, err);
    if (!g.x)
        return err ? err->code : BM_ERR_NOMEM;
    st = find_layout(&g, o->vocab, err);
    if (st == BM_OK)
        st = check_ids(&g, prompt, n_prompt, o->pad, err);
    uint32_t *all = NULL;
    if (st == BM_OK) {
        all = malloc((n_prompt + o->tokens) * sizeof *all);
        g.scores = malloc(g.V * sizeof *g.scores);
        if (!all || !g.scores)
            st = bm_error_set(err, BM_ERR_NOMEM, "bm_generate: out of memory");
    }
    if (st == BM_OK) {
        memcpy(all, prompt, n_prompt * sizeof *all);
        bm_rng rng;
        bm_rng_seed(&rng, o->seed);
        for (size_t i = 0; i < o->tokens && st == BM_OK; i++)
            st = step(&g, all, n_prompt + i, o, &rng, err);
        if (st == BM_OK)
            memcpy(out, all + n_prompt, o->tokens * sizeof *out);
    }
    free(all);
    free(g.scores);
    bm_tensor_free(g.x);
    return st;
}
