/* zoo_text.c — train a character model of the zoo (char_lstm.json,
 * char_gpt.json: input [T] byte ids, output [T,V]) on a text, the way
 * tools/zoo_torch.py trains its peer: byte tokens split 90/10 by position
 * (bm_text_split), STEPS x BATCH training windows drawn at random positions
 * of the training part (y [N,T]: the next byte at every position), one
 * Adam step per batch; then the validation loss per character over the
 * validation part's windows every T positions, the mean step time, and a
 * greedy and a sampled continuation of a prompt (bm_generate).
 *
 * usage: zoo_text MODEL.json TEXT [STEPS [BATCH [THREADS [OUT.json]]]]
 * Prints "key value" lines: steps, batch, threads, step_ms, val_loss,
 * val_accuracy, then the samples. With ZOO_PROFILE set in the environment,
 * the time per op kind of the training steps goes to stderr
 * (bm_model_profile_print). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bmnn.h>

/* Validation share of the text (tools/zoo_torch.py's VAL_SPLIT). */
#define VAL_SPLIT 0.1
/* Defaults: the zoo's steps and batch. */
#define DEFAULT_STEPS 1000
#define DEFAULT_BATCH 32
/* Steps left out of the step time (the first records the graph). */
#define WARMUP_STEPS 3
/* Tokens of each sample, and the prompt. */
#define SAMPLE_TOKENS 300
#define PROMPT "Q: What"
/* Sampling of the second sample. */
#define SAMPLE_TEMPERATURE 0.8
#define SAMPLE_TOP_K 20
#define SAMPLE_SEED 1
/* Seed of the training windows. */
#define WINDOW_SEED 7

/* The step hook's clock: when the warm-up ended, how many steps since. */
typedef struct step_clock {
    double start;
    uint64_t timed;
} step_clock;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int on_step(void *ud, const bm_step_stats *s)
{
    step_clock *c = ud;
    if (s->step + 1 == WARMUP_STEPS)
        c->start = now();
    else if (s->step + 1 > WARMUP_STEPS)
        c->timed++;
    return 0;
}

/* Print a greedy (temperature 0) or sampled continuation of PROMPT. */
static int sample(bm_model *m, const bm_text *t, double temperature, size_t top_k)
{
    uint32_t prompt[sizeof PROMPT], out[SAMPLE_TOKENS];
    char text[SAMPLE_TOKENS + 1];
    size_t n = 0, len = 0;
    bm_error e = {0};
    bm_generate_opts g = bm_generate_defaults();
    g.tokens = SAMPLE_TOKENS;
    g.temperature = temperature;
    g.top_k = top_k;
    g.seed = SAMPLE_SEED;
    if (bm_text_encode(t, PROMPT, strlen(PROMPT), prompt, sizeof PROMPT, &n, &e) != BM_OK ||
        bm_generate(m, prompt, n, &g, out, &e) != BM_OK ||
        bm_text_decode(t, out, SAMPLE_TOKENS, text, sizeof text, &len, &e) != BM_OK) {
        fprintf(stderr, "zoo_text: sampling: %s\n", e.msg);
        return 1;
    }
    printf("sample (temperature %g, top-k %zu):\n%s%s\n", temperature, top_k, PROMPT, text);
    return 0;
}

static int parse_size(const char *s, size_t *out)
{
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (!*s || *end || v == 0)
        return 1;
    *out = (size_t)v;
    return 0;
}

/* Train and report; the datasets are the caller's. */
static int run(bm_model *m, bm_dataset *tr, bm_dataset *va, size_t batch, const bm_text *t)
{
    bm_error e = {0};
    step_clock c = {0};
    bm_fit_opts o = bm_fit_defaults();
    o.epochs = 1;
    o.batch_size = batch;
    o.step_hook = on_step;
    o.step_hook_ud = &c;
    o.profile = getenv("ZOO_PROFILE") != NULL;
    if (bm_model_fit(m, tr, &o, &e) != BM_OK) {
        fprintf(stderr, "zoo_text: training: %s\n", e.msg);
        return 1;
    }
    if (o.profile)
        bm_model_profile_print(m, stderr);
    double step_s = c.timed ? (now() - c.start) / (double)c.timed : 0.0, loss = 0.0, acc = 0.0;
    if (bm_model_evaluate(m, va, &loss, &acc, &e) != BM_OK) {
        fprintf(stderr, "zoo_text: validation: %s\n", e.msg);
        return 1;
    }
    printf("step_ms %.3f\nval_loss %.6f\nval_accuracy %.6f\n", 1e3 * step_s, loss, acc);
    return sample(m, t, 0.0, 0) || sample(m, t, SAMPLE_TEMPERATURE, SAMPLE_TOP_K);
}

int main(int argc, char **argv)
{
    size_t steps = DEFAULT_STEPS, batch = DEFAULT_BATCH, threads = 1;
    if (argc < 3 || argc > 7 || (argc > 3 && parse_size(argv[3], &steps)) ||
        (argc > 4 && parse_size(argv[4], &batch)) || (argc > 5 && parse_size(argv[5], &threads))) {
        fprintf(stderr, "usage: zoo_text MODEL.json TEXT [STEPS [BATCH [THREADS [OUT.json]]]]\n");
        return 2;
    }
    bm_error e = {0};
    bm_text *t = NULL;
    bm_model *m = bm_model_load(argv[1], NULL, &e);
    if (!m || bm_model_set_threads(m, (int)threads, &e) != BM_OK ||
        bm_text_load(argv[2], NULL, &t, &e) != BM_OK) {
        fprintf(stderr, "zoo_text: %s\n", e.msg);
        bm_model_free(m);
        return 1;
    }
    size_t cut = 0, T = bm_model_n_inputs(m);
    bm_rng rng;
    bm_rng_seed(&rng, WINDOW_SEED);
    bm_text_window_opts w = bm_text_window_defaults(T);
    w.dtype = bm_model_dtype(m);
    w.rng = &rng;
    w.count = steps * batch;
    bm_dataset tr = {0}, va = {0};
    int rc = bm_text_split(t, VAL_SPLIT, &cut, &e) != BM_OK ||
             bm_text_windows(t, &w, 0, cut, &tr, &e) != BM_OK;
    w.rng = NULL;
    w.stride = T;
    rc = rc || bm_text_windows(t, &w, cut, bm_text_length(t), &va, &e) != BM_OK;
    if (rc)
        fprintf(stderr, "zoo_text: %s: %s\n", argv[2], e.msg);
    else {
        printf("steps %zu\nbatch %zu\nthreads %zu\n", steps, batch, threads);
        rc = run(m, &tr, &va, batch, t);
    }
    if (!rc && argc > 6 && bm_model_save(m, argv[6], NULL, &e) != BM_OK) {
        fprintf(stderr, "zoo_text: %s\n", e.msg);
        rc = 1;
    }
    bm_dataset_free(&tr);
    bm_dataset_free(&va);
    bm_text_free(t);
    bm_model_free(m);
    return rc;
}
