/* cmd_generate.c — `bmnn generate MODEL.json --prompt TEXT --tokens N ...`:
 * text from a sequence model (bm_generate.h), the prompt and what follows
 * it written to standard output or -o FILE. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Most tokens one run generates. */
#define MAX_TOKENS ((uint64_t)1 << 24)
/* Default tokens to generate. */
#define DEFAULT_TOKENS 200

/* Long options without a short form. */
enum { OPT_TEMPERATURE = 256, OPT_TOP_K, OPT_UTF8, OPT_VOCAB, OPT_PAD, OPT_NO_PROMPT,
       OPT_THREADS };

static const char help[] =
    "usage: bmnn generate MODEL.json --prompt TEXT [--tokens N] [--temperature T]\n"
    "                     [--top-k K] [--seed S] [--utf8 --vocab V.csv] [--pad ID]\n"
    "                     [--no-prompt] [--threads N] [-o FILE]\n\n"
    "Continue TEXT with N tokens drawn one at a time from a sequence model: a model of\n"
    "T token-id inputs whose output is [T,V] (the next token at every position) or [V]\n"
    "(the token after the window), trained on `bmnn data text` windows. The window is\n"
    "the last T tokens; while fewer are known, a [T,V] model gets them at its start\n"
    "(exact for causal models) and a [V] model at its end, the rest --pad. Writes the\n"
    "prompt and the generated text, bytes as they are, no newline added.\n\n"
    "  -p, --prompt TEXT   the start (required, not empty)\n"
    "  -n, --tokens N      tokens to generate [200]\n"
    "      --temperature T softmax temperature, >= 0; 0: always the likeliest [1]\n"
    "      --top-k K       draw from the K likeliest only; 0: all [0]\n"
    "  -s, --seed S        RNG seed: the same seed gives the same text [0]\n"
    "      --utf8          tokens are UTF-8 code points; needs --vocab\n"
    "      --vocab FILE    the vocabulary CSV of `bmnn data text --utf8 --vocab`\n"
    "      --pad ID        token id filling a window not yet full [0]\n"
    "      --no-prompt     write the generated text only\n"
    "      --threads N     threads for the model [1]\n"
    "  -o, --output FILE   write there (atomically) instead of standard output\n"
    "  -h, --help          this text\n";

typedef struct gen_args {
    const char *model, *prompt, *vocab, *out;
    uint64_t tokens, top_k, seed, pad, threads;
    double temperature;
    int utf8, no_prompt;
} gen_args;

/* Parse the options that take a number; -1 on a bad value. */
static int parse_number(int c, const char *v, gen_args *a)
{
    switch (c) {
    case 'n': return cli_parse_uint("generate", "--tokens", v, 0, MAX_TOKENS, &a->tokens);
    case 's': return cli_parse_uint("generate", "--seed", v, 0, UINT64_MAX, &a->seed);
    case OPT_TOP_K:
        return cli_parse_uint("generate", "--top-k", v, 0, BM_GENERATE_MAX_VOCAB, &a->top_k);
    case OPT_PAD: return cli_parse_uint("generate", "--pad", v, 0, UINT32_MAX, &a->pad);
    case OPT_THREADS:
        return cli_parse_uint("generate", "--threads", v, 1, BM_MAX_THREADS, &a->threads);
    default: /* OPT_TEMPERATURE */
        if (cli_parse_double("generate", "--temperature", v, &a->temperature))
            return -1;
        if (!(a->temperature >= 0.0)) {
            cli_usage_error("generate", "--temperature: %s is negative (0: greedy)", v);
            return -1;
        }
        return 0;
    }
}

/* Parse the command line into a; CLI_OK, CLI_USAGE, or -1 after --help. */
static int parse(int argc, char **argv, gen_args *a)
{
    static const struct option opts[] = {{"prompt", required_argument, NULL, 'p'},
                                         {"tokens", required_argument, NULL, 'n'},
                                         {"temperature", required_argument, NULL, OPT_TEMPERATURE},
                                         {"top-k", required_argument, NULL, OPT_TOP_K},
                                         {"seed", required_argument, NULL, 's'},
                                         {"utf8", no_argument, NULL, OPT_UTF8},
                                         {"vocab", required_argument, NULL, OPT_VOCAB},
                                         {"pad", required_argument, NULL, OPT_PAD},
                                         {"no-prompt", no_argument, NULL, OPT_NO_PROMPT},
                                         {"threads", required_argument, NULL, OPT_THREADS},
                                         {"output", required_argument, NULL, 'o'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    *a = (gen_args){.tokens = DEFAULT_TOKENS, .temperature = 1.0, .threads = 1};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "p:n:s:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'p': a->prompt = optarg; break;
        case 'o': a->out = optarg; break;
        case OPT_UTF8: a->utf8 = 1; break;
        case OPT_VOCAB: a->vocab = optarg; break;
        case OPT_NO_PROMPT: a->no_prompt = 1; break;
        case 'h': fputs(help, stdout); return -1;
        case 'n': case 's': case OPT_TOP_K: case OPT_PAD: case OPT_THREADS:
        case OPT_TEMPERATURE:
            if (parse_number(c, optarg, a))
                return CLI_USAGE;
            break;
        default: return cli_usage_error("generate", "bad option");
        }
    }
    if (optind != argc - 1)
        return cli_usage_error("generate", "give exactly one MODEL.json");
    a->model = argv[optind];
    if (!a->prompt || !*a->prompt)
        return cli_usage_error("generate", "--prompt TEXT is required and must not be empty");
    if (a->utf8 != (a->vocab != NULL))
        return cli_usage_error("generate", a->utf8 ? "--utf8 needs --vocab FILE"
                                                   : "--vocab is for --utf8 only");
    return CLI_OK;
}

/* Write code point c (<= BM_TEXT_MAX_CODE_POINT) as UTF-8 at w; returns
 * the bytes written (surrogates are written too, and refused by the text
 * reader after). */
static size_t utf8_put(uint32_t c, char *w)
{
    enum { CONT = 0x80, CONT_MASK = 0x3f, TWO = 0xc0, THREE = 0xe0, FOUR = 0xf0 };
    enum { MAX1 = 0x7f, MAX2 = 0x7ff, MAX3 = 0xffff, SHIFT = 6 };
    unsigned char *u = (unsigned char *)w;
    if (c <= MAX1) {
        u[0] = (unsigned char)c;
        return 1;
    }
    if (c <= MAX2) {
        u[0] = (unsigned char)(TWO | (c >> SHIFT));
        u[1] = (unsigned char)(CONT | (c & CONT_MASK));
        return 2;
    }
    if (c <= MAX3) {
        u[0] = (unsigned char)(THREE | (c >> (2 * SHIFT)));
        u[1] = (unsigned char)(CONT | ((c >> SHIFT) & CONT_MASK));
        u[2] = (unsigned char)(CONT | (c & CONT_MASK));
        return 3;
    }
    u[0] = (unsigned char)(FOUR | (c >> (3 * SHIFT)));
    u[1] = (unsigned char)(CONT | ((c >> (2 * SHIFT)) & CONT_MASK));
    u[2] = (unsigned char)(CONT | ((c >> SHIFT) & CONT_MASK));
    u[3] = (unsigned char)(CONT | (c & CONT_MASK));
    return BM_TEXT_UTF8_MAX_BYTES;
}

/* The text whose vocabulary the ids use: bytes (256), or the code points of
 * the vocabulary CSV (id,symbol with ids 0.. in order and symbols rising, as
 * `bmnn data text --vocab` writes it): their UTF-8 read as a text has that
 * very vocabulary, in the same order. */
static int load_vocab(const gen_args *a, bm_text **t)
{
    bm_error err = {0};
    bm_text_opts o = bm_text_defaults();
    if (!a->utf8) {
        if (bm_text_from_bytes(a->prompt, strlen(a->prompt), &o, t, &err) != BM_OK)
            return cli_fail("generate", "%s", err.msg);
        return CLI_OK;
    }
    bm_dataset ds = {0};
    bm_csv_opts csv = bm_csv_defaults();
    csv.regression = 1; /* the symbols as numbers, y [N,1] */
    if (bm_data_load_csv(&ds, a->vocab, &csv, BM_F64, &err) != BM_OK)
        return cli_fail("generate", "%s", err.msg);
    size_t n = ds.x->shape[0];
    char *utf8 = malloc(n * BM_TEXT_UTF8_MAX_BYTES + 1), *w = utf8;
    int rc = utf8 ? CLI_OK : cli_fail("generate", "out of memory");
    for (size_t i = 0; i < n && rc == CLI_OK; i++) {
        double id = bm_tensor_get(ds.x, i), sym = bm_tensor_get(ds.y, i);
        double prev = i ? bm_tensor_get(ds.y, i - 1) : -1.0;
        if (id != (double)i || !(sym > prev) || sym > BM_TEXT_MAX_CODE_POINT ||
            sym != (double)(uint32_t)sym)
            rc = cli_fail("generate", "%s: row %zu is not id %zu and a rising code point",
                          a->vocab, i + 1, i);
        else
            w += utf8_put((uint32_t)sym, w);
    }
    bm_dataset_free(&ds);
    o.level = BM_TEXT_UTF8;
    if (rc == CLI_OK && bm_text_from_bytes(utf8, (size_t)(w - utf8), &o, t, &err) != BM_OK)
        rc = cli_fail("generate", "%s: %s", a->vocab, err.msg);
    if (rc == CLI_OK && bm_text_vocab_size(*t) != n)
        rc = cli_fail("generate", "%s: %zu symbols make a vocabulary of %zu", a->vocab, n,
                      bm_text_vocab_size(*t));
    free(utf8);
    return rc;
}

/* Encode the prompt, generate, decode and write. */
static int run(const gen_args *a, bm_model *m, const bm_text *t)
{
    bm_error err = {0};
    size_t len = strlen(a->prompt), n = 0, bytes = 0;
    uint32_t *ids = malloc((len + a->tokens) * sizeof *ids);
    if (!ids)
        return cli_fail("generate", "out of memory");
    int rc = CLI_OK;
    bm_generate_opts o = bm_generate_defaults();
    o.tokens = (size_t)a->tokens;
    o.temperature = a->temperature;
    o.top_k = (size_t)a->top_k;
    o.seed = a->seed;
    o.vocab = bm_text_vocab_size(t);
    o.pad = (uint32_t)a->pad;
    if (bm_text_encode(t, a->prompt, len, ids, len, &n, &err) != BM_OK ||
        bm_generate(m, ids, n, &o, ids + n, &err) != BM_OK)
        rc = cli_fail("generate", "%s: %s", a->model, err.msg);
    size_t first = a->no_prompt ? n : 0, count = n + o.tokens - first;
    char *buf = NULL;
    if (rc == CLI_OK && bm_text_decode(t, ids + first, count, NULL, 0, &bytes, &err) != BM_OK &&
        err.code != BM_ERR_SIZE)
        rc = cli_fail("generate", "%s", err.msg);
    if (rc == CLI_OK && !(buf = malloc(bytes + 1)))
        rc = cli_fail("generate", "out of memory");
    if (rc == CLI_OK && bm_text_decode(t, ids + first, count, buf, bytes + 1, &bytes, &err))
        rc = cli_fail("generate", "%s", err.msg);
    if (rc == CLI_OK)
        rc = cli_write_file("generate", a->out, buf, bytes);
    free(buf);
    free(ids);
    return rc;
}

int cmd_generate(int argc, char **argv)
{
    gen_args a;
    int rc = parse(argc, argv, &a);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    bm_text *t = NULL;
    if (load_vocab(&a, &t) != CLI_OK)
        return CLI_FAIL;
    bm_error err = {0};
    bm_model *m = bm_model_load(a.model, NULL, &err);
    if (!m)
        rc = cli_fail("generate", "%s", err.msg);
    else if (bm_model_set_threads(m, (int)a.threads, &err) != BM_OK)
        rc = cli_fail("generate", "%s", err.msg);
    else
        rc = run(&a, m, t);
    bm_model_free(m);
    bm_text_free(t);
    return rc;
}
