#define _POSIX_C_SOURCE 200809L
/* fuzz_text.c — libFuzzer harness for the text reader (bm_text.h).
 *
 * Byte 0 picks the level (bit 0: UTF-8) and the context T (bits 1..3: 1..8);
 * the rest goes to a per-process temp file that bm_text_load() reads. A
 * failure must name the file (and, at UTF-8 level, be empty input or a
 * parse error); a success must decode back to the file's bytes exactly,
 * encode them to the same ids, keep every id below the vocabulary (sorted,
 * distinct code points), and cut windows whose x and y are the tokens. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bmnn.h>
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Bits of byte 0 that give the context, and the largest context. */
#define CONTEXT_SHIFT 1
#define CONTEXT_MASK 7u

static fuzz_file file = {"", -1};

/* Windows of T over the whole text: either too short, or the tokens. */
static void check_windows(const bm_text *t, size_t T)
{
    size_t n = bm_text_length(t);
    bm_text_window_opts o = bm_text_window_defaults(T);
    bm_dataset ds = {0};
    bm_error e = {0};
    bm_status s = bm_text_windows(t, &o, 0, n, &ds, &e);
    if (n < T + 1) {
        FUZZ_REQUIRE(s == BM_ERR_SIZE && !ds.x, "%zu tokens, context %zu: %s", n, T, e.msg);
        return;
    }
    FUZZ_REQUIRE(s == BM_OK, "%s", e.msg);
    FUZZ_REQUIRE(ds.x->shape[0] == n - T && ds.n_classes == bm_text_vocab_size(t), "shape");
    const uint32_t *tok = bm_text_tokens(t);
    for (size_t i = 0; i < ds.x->size; i++) {
        size_t p = i / T + i % T;
        FUZZ_REQUIRE(bm_tensor_get(ds.x, i) == tok[p] && bm_tensor_get(ds.y, i) == tok[p + 1],
                     "window element %zu", i);
    }
    bm_dataset_free(&ds);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    fuzz_file_open(&file, "fuzz-text");
    bm_text_opts o = bm_text_defaults();
    o.level = data[0] & 1 ? BM_TEXT_UTF8 : BM_TEXT_BYTES;
    size_t T = 1 + (data[0] >> CONTEXT_SHIFT & CONTEXT_MASK), len = size - 1;
    fuzz_file_write(&file, data + 1, len);

    bm_text *t = NULL;
    bm_error e = {0};
    bm_status s = bm_text_load(file.path, &o, &t, &e);
    if (s != BM_OK) {
        FUZZ_REQUIRE(e.code == s && !t, "status %d, err %d", (int)s, (int)e.code);
        FUZZ_REQUIRE(strstr(e.msg, file.path), "message names no file: '%s'", e.msg);
        FUZZ_REQUIRE(len == 0 ? s == BM_ERR_SIZE : o.level == BM_TEXT_UTF8 && s == BM_ERR_PARSE,
                     "%zu bytes refused: %s", len, e.msg);
        return 0;
    }
    size_t n = bm_text_length(t), v = bm_text_vocab_size(t);
    const uint32_t *tok = bm_text_tokens(t);
    FUZZ_REQUIRE(o.level == BM_TEXT_UTF8 ? n <= len : n == len, "%zu tokens of %zu bytes", n, len);
    for (size_t i = 0; i < n; i++)
        FUZZ_REQUIRE(tok[i] < v, "id %u of %zu", tok[i], v);
    for (uint32_t i = 1; o.level == BM_TEXT_UTF8 && i < v; i++)
        FUZZ_REQUIRE(bm_text_symbol(t, i - 1) < bm_text_symbol(t, i), "vocabulary not sorted");
    char *back = malloc(len + 1);
    uint32_t *ids = malloc(n * sizeof *ids);
    size_t got = 0;
    FUZZ_REQUIRE(back && ids, "no memory");
    FUZZ_REQUIRE(bm_text_decode(t, tok, n, back, len + 1, &got, &e) == BM_OK, "%s", e.msg);
    FUZZ_REQUIRE(got == len && memcmp(back, data + 1, len) == 0, "decoding differs");
    FUZZ_REQUIRE(bm_text_encode(t, back, len, ids, n, &got, &e) == BM_OK, "%s", e.msg);
    FUZZ_REQUIRE(got == n && memcmp(ids, tok, n * sizeof *ids) == 0, "encoding differs");
    free(back);
    free(ids);
    check_windows(t, T);
    bm_text_free(t);
    return 0;
}
