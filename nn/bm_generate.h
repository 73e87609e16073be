/* bm_generate.h — sampling from a sequence model: text generation one token
 * at a time (the char-RNN / char-GPT loop of torch's examples and llm.c).
 *
 * Sampling. From one position's scores (logits, or log-probabilities, which
 * differ from logits by a constant) the next id is drawn with probability
 * softmax(score / temperature) over the top_k highest scores (ties: the lower
 * id ranks higher); temperature 0 is greedy: the highest score (the lowest
 * such id), no random number drawn. A draw takes exactly one
 * bm_rng_uniform, so the same seed gives the same ids.
 *
 * Models. A model whose input is T token ids (per-sample shape [T]; the
 * width bm_model_n_inputs) and whose output is either
 *   - [T,V]: the next token's scores at every position (a sequence model,
 *     trained on text windows with BM_TEXT_TARGET_SEQUENCE targets), or
 *   - [V]: the scores of the token after the window (BM_TEXT_TARGET_NEXT).
 * Predictions of cce and softmax_cce models are probabilities; their logs are
 * the scores. Other losses' outputs are taken as scores as they are.
 *
 * The window. Generation keeps the last T tokens (prompt, then generated).
 * While fewer than T are known: for a [T,V] model they fill the window from
 * its start, the rest is the pad id, and the scores are read at the last
 * known position — exact for a causal model (LSTM, causal attention), whose
 * position t sees positions <= t only; for a [V] model the known tokens fill
 * the window's end and the pad id its start (left padding, as a model
 * trained on windows never saw). Once T are known the window slides and the
 * scores of its last position are used. An empty prompt is refused: byte
 * and UTF-8 texts have no beginning-of-text token to start from.
 *
 * Nothing here aborts or exits; every function is NULL-safe and returns a
 * bm_status with a message in the bm_error when one is given. */
#ifndef BM_GENERATE_H
#define BM_GENERATE_H

#include "bm_autograd.h"
#include "bm_model.h"

#ifdef __cplusplus
extern "C" {
#endif
BM_API_BEGIN

/* Largest vocabulary sampled from (ids are uint32_t; the text module's
 * largest is every Unicode code point). */
#define BM_GENERATE_MAX_VOCAB ((size_t)1 << 21)

/* Draw one id from n scores (see above): temperature >= 0 and finite,
 * top_k in 0..n (0: all n). Errors: BM_ERR_ARG for n 0, a bad temperature
 * or top_k, a NaN or +inf score, or no finite score among the candidates;
 * BM_ERR_NULL (rng may be NULL only for temperature 0); BM_ERR_NOMEM. */
bm_status bm_sample_scores(const double *scores, size_t n, double temperature, size_t top_k,
                           bm_rng *rng, uint32_t *id, bm_error *err);

/* How bm_generate samples; start from bm_generate_defaults(). */
typedef struct bm_generate_opts {
    size_t tokens;      /* new tokens to generate (0: none, BM_OK) */
    double temperature; /* >= 0; 0: greedy */
    size_t top_k;       /* 0: sample from the whole vocabulary */
    uint64_t seed;      /* of the sampling RNG */
    size_t vocab;       /* V; 0: output 0's last size when its shape is [T,V], else
                           the output width divided by T */
    uint32_t pad;       /* id filling the window while fewer than T tokens are known */
} bm_generate_opts;

/* 1 token, temperature 1, top_k 0, seed 0, vocab 0 (inferred), pad 0. */
bm_generate_opts bm_generate_defaults(void);

/* Generate o->tokens ids after the n_prompt ids of prompt into out (room
 * for o->tokens ids) with model m (initialised or loaded). The output width
 * must be V·T or V. Errors: BM_ERR_NULL, BM_ERR_ARG (empty prompt, a prompt
 * or pad id >= V, an output width that is neither, bad sampling options as
 * bm_sample_scores), what bm_model_predict reports. out's contents are
 * unspecified on failure. */
bm_status bm_generate(bm_model *m, const uint32_t *prompt, size_t n_prompt,
                      const bm_generate_opts *o, uint32_t *out, bm_error *err);

BM_API_END
#ifdef __cplusplus
}
#endif
#endif
