#define _POSIX_C_SOURCE 200809L
/* text.c — a text as token ids (bm_text.h): reading a file through the
 * library's regular-file opener, the strict UTF-8 codec, the code-point
 * vocabulary, encode and decode.
 *
 * The UTF-8 vocabulary is found in two passes over the bytes: the first
 * marks every code point seen in a bitmap over U+0000..U+10FFFF (34816
 * words), the second gives each token its rank among the marked points,
 * read in O(1) from a running count per bitmap word. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file_internal.h"
#include "text_internal.h"

/* Code points covered by the bitmap. */
#define CP_COUNT ((size_t)BM_TEXT_MAX_CODE_POINT + 1)
/* Bits per bitmap word. */
#define WORD_BITS 32u
/* Bitmap words. */
#define MAP_WORDS (CP_COUNT / WORD_BITS)
/* Surrogates (U+D800..U+DFFF) are not code points of UTF-8. */
#define SURROGATE_LO 0xD800u
#define SURROGATE_HI 0xDFFFu
/* A UTF-8 continuation byte is 10xxxxxx: mask and value, and its 6 payload bits. */
#define CONT_MASK 0xC0u
#define CONT_TAG 0x80u
#define CONT_BITS 6u
#define CONT_PAYLOAD 0x3Fu
/* Lead bytes: ASCII below 0x80; 2-byte leads 0xC2..0xDF (0xC0, 0xC1 only make
 * overlong forms); 3-byte 0xE0..0xEF; 4-byte 0xF0..0xF4 (above: over U+10FFFF). */
#define LEAD2_LO 0xC2u
#define LEAD2_HI 0xDFu
#define LEAD3_LO 0xE0u
#define LEAD3_HI 0xEFu
#define LEAD4_LO 0xF0u
#define LEAD4_HI 0xF4u
/* Payload bits of a lead byte of 2, 3 and 4 bytes. */
#define LEAD2_PAYLOAD 0x1Fu
#define LEAD3_PAYLOAD 0x0Fu
#define LEAD4_PAYLOAD 0x07u
/* Smallest code point that needs 2, 3 and 4 bytes (anything less is overlong). */
#define MIN2 0x80u
#define MIN3 0x800u
#define MIN4 0x10000u
/* Lead-byte tags of 2, 3 and 4 bytes. */
#define TAG2 0xC0u
#define TAG3 0xE0u
#define TAG4 0xF0u
/* Room for a "NAME: " prefix in messages. */
#define NAME_SHOWN 200

size_t bm_utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
    unsigned b = s[0];
    size_t n;
    uint32_t c, min;
    if (b < MIN2) {
        *cp = b;
        return 1;
    }
    if (b >= LEAD2_LO && b <= LEAD2_HI) {
        n = 2, c = b & LEAD2_PAYLOAD, min = MIN2;
    } else if (b >= LEAD3_LO && b <= LEAD3_HI) {
        n = 3, c = b & LEAD3_PAYLOAD, min = MIN3;
    } else if (b >= LEAD4_LO && b <= LEAD4_HI) {
        n = 4, c = b & LEAD4_PAYLOAD, min = MIN4;
    } else {
        return 0;
    }
    if (len < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & CONT_MASK) != CONT_TAG)
            return 0;
        c = c << CONT_BITS | (s[i] & CONT_PAYLOAD);
    }
    if (c < min || c > BM_TEXT_MAX_CODE_POINT || (c >= SURROGATE_LO && c <= SURROGATE_HI))
        return 0;
    *cp = c;
    return n;
}

size_t bm_utf8_encode(uint32_t cp, unsigned char out[BM_TEXT_UTF8_MAX_BYTES])
{
    size_t n = cp < MIN2 ? 1 : cp < MIN3 ? 2 : cp < MIN4 ? 3 : 4;
    static const unsigned tags[BM_TEXT_UTF8_MAX_BYTES + 1] = {0, 0, TAG2, TAG3, TAG4};
    if (n == 1) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    for (size_t i = n - 1; i > 0; i--) {
        out[i] = (unsigned char)(CONT_TAG | (cp & CONT_PAYLOAD));
        cp >>= CONT_BITS;
    }
    out[0] = (unsigned char)(tags[n] | cp);
    return n;
}

/* Set bits of a 32-bit word. */
static unsigned popcount32(uint32_t w)
{
    unsigned n = 0;
    for (; w; w &= w - 1)
        n++;
    return n;
}

bm_text_opts bm_text_defaults(void)
{
    return (bm_text_opts){.level = BM_TEXT_BYTES, .max_bytes = BM_TEXT_MAX_FILE_BYTES};
}

void bm_text_free(bm_text *t)
{
    if (!t)
        return;
    free(t->tokens);
    free(t->symbols);
    free(t);
}

/* The message for invalid UTF-8 at byte offset off of s. */
static bm_status bad_utf8(const char *name, const unsigned char *s, size_t off, bm_error *err)
{
    return bm_error_set(err, BM_ERR_PARSE, "%.*s: invalid UTF-8 at byte offset %zu (0x%02x)",
                        NAME_SHOWN, name, off, (unsigned)s[off]);
}

/* UTF-8 level: tokens and the sorted vocabulary of s[0 .. len) into t. */
static bm_status utf8_tokens(bm_text *t, const unsigned char *s, size_t len, const char *name,
                             bm_error *err)
{
    uint32_t *map = calloc(MAP_WORDS, sizeof *map);
    uint32_t *before = malloc(MAP_WORDS * sizeof *before); /* marked points in earlier words */
    bm_status st = BM_OK;
    if (!map || !before)
        st = bm_error_set(err, BM_ERR_NOMEM, "%.*s: no memory for the vocabulary", NAME_SHOWN,
                          name);
    size_t n = 0;
    uint32_t cp = 0;
    for (size_t i = 0; st == BM_OK && i < len; n++) { /* pass 1: mark */
        size_t k = bm_utf8_decode(s + i, len - i, &cp);
        if (!k)
            st = bad_utf8(name, s, i, err);
        else
            map[cp / WORD_BITS] |= 1u << (cp % WORD_BITS);
        i += k;
    }
    size_t vocab = 0;
    for (size_t w = 0; st == BM_OK && w < MAP_WORDS; w++) {
        before[w] = (uint32_t)vocab;
        vocab += popcount32(map[w]);
    }
    if (st == BM_OK) {
        t->symbols = malloc(vocab * sizeof *t->symbols);
        t->tokens = malloc(n * sizeof *t->tokens);
        if (!t->symbols || !t->tokens)
            st = bm_error_set(err, BM_ERR_NOMEM, "%.*s: no memory for %zu tokens", NAME_SHOWN,
                              name, n);
    }
    for (size_t w = 0, v = 0; st == BM_OK && w < MAP_WORDS; w++) /* ascending */
        for (uint32_t bits = map[w], b = 0; bits; bits >>= 1, b++)
            if (bits & 1u)
                t->symbols[v++] = (uint32_t)(w * WORD_BITS + b);
    for (size_t i = 0, j = 0; st == BM_OK && i < len; j++) { /* pass 2: ranks */
        i += bm_utf8_decode(s + i, len - i, &cp);
        uint32_t w = map[cp / WORD_BITS], low = (1u << (cp % WORD_BITS)) - 1u;
        t->tokens[j] = before[cp / WORD_BITS] + popcount32(w & low);
    }
    free(map);
    free(before);
    t->length = n;
    t->vocab = vocab;
    return st;
}

/* Tokens of len bytes at s (len >= 1) into a new text; name heads messages. */
static bm_status make_text(const unsigned char *s, size_t len, bm_text_level level,
                           const char *name, bm_text **out, bm_error *err)
{
    bm_text *t = calloc(1, sizeof *t);
    if (!t)
        return bm_error_set(err, BM_ERR_NOMEM, "%.*s: no memory", NAME_SHOWN, name);
    t->level = level;
    bm_status st = BM_OK;
    if (level == BM_TEXT_UTF8) {
        st = utf8_tokens(t, s, len, name, err);
    } else {
        t->tokens = malloc(len * sizeof *t->tokens);
        if (!t->tokens)
            st = bm_error_set(err, BM_ERR_NOMEM, "%.*s: no memory for %zu tokens", NAME_SHOWN,
                              name, len);
        for (size_t i = 0; st == BM_OK && i < len; i++)
            t->tokens[i] = s[i];
        t->length = len;
        t->vocab = BM_TEXT_BYTE_VOCAB;
    }
    if (st != BM_OK) {
        bm_text_free(t);
        return st;
    }
    *out = t;
    return BM_OK;
}

/* The options' checks shared by both readers; *max gets the size limit. */
static bm_status check_opts(const bm_text_opts *o, const char *fn, uint64_t *max, bm_error *err)
{
    if (o->level != BM_TEXT_BYTES && o->level != BM_TEXT_UTF8)
        return bm_error_set(err, BM_ERR_ARG, "%s: unknown level %d (bytes 0, utf8 1)", fn,
                            (int)o->level);
    *max = o->max_bytes ? o->max_bytes : BM_TEXT_MAX_FILE_BYTES;
    return BM_OK;
}

bm_status bm_text_from_bytes(const void *bytes, size_t len, const bm_text_opts *o, bm_text **out,
                             bm_error *err)
{
    static const char fn[] = "bm_text_from_bytes";
    bm_text_opts d = bm_text_defaults();
    uint64_t max = 0;
    if (out)
        *out = NULL;
    if (!out || (!bytes && len))
        return bm_error_set(err, BM_ERR_NULL, "%s: NULL %s", fn, !out ? "out" : "bytes");
    bm_status st = check_opts(o ? o : &d, fn, &max, err);
    if (st != BM_OK)
        return st;
    if (len == 0)
        return bm_error_set(err, BM_ERR_SIZE, "%s: empty text (0 bytes)", fn);
    if ((uint64_t)len > max)
        return bm_error_set(err, BM_ERR_SIZE, "%s: %zu bytes, more than the limit of %" PRIu64,
                            fn, len, max);
    return make_text(bytes, len, (o ? o : &d)->level, fn, out, err);
}

bm_status bm_text_load(const char *path, const bm_text_opts *o, bm_text **out, bm_error *err)
{
    bm_text_opts d = bm_text_defaults();
    uint64_t max = 0, size = 0;
    if (out)
        *out = NULL;
    if (!path || !out)
        return bm_error_set(err, BM_ERR_NULL, "bm_text_load: NULL %s", !path ? "path" : "out");
    if (!o)
        o = &d;
    bm_status st = check_opts(o, "bm_text_load", &max, err);
    if (st != BM_OK)
        return st;
    FILE *f = bm_file_open_read(path, max, &size, err);
    if (!f)
        return err ? err->code : BM_ERR_IO;
    if (size == 0) {
        fclose(f);
        return bm_error_set(err, BM_ERR_SIZE, "%.*s: empty text (0 bytes)", NAME_SHOWN, path);
    }
    /* the size fits size_t: it is at most max, itself checked by the opener */
    unsigned char *buf = size <= SIZE_MAX ? malloc((size_t)size + 1) : NULL;
    size_t got = buf ? fread(buf, 1, (size_t)size + 1, f) : 0;
    if (!buf)
        st = bm_error_set(err, BM_ERR_NOMEM, "%.*s: no memory for %" PRIu64 " bytes", NAME_SHOWN,
                          path, size);
    else if (ferror(f))
        st = bm_error_set(err, BM_ERR_IO, "%.*s: read failed after %zu bytes", NAME_SHOWN, path,
                          got);
    else if (got != size) /* changed while read: shrank, or grew past its size */
        st = bm_error_set(err, got > size ? BM_ERR_SIZE : BM_ERR_IO,
                          "%.*s: the file changed while read (%" PRIu64 " bytes, then %s)",
                          NAME_SHOWN, path, size, got > size ? "more" : "fewer");
    fclose(f);
    if (st == BM_OK)
        st = make_text(buf, (size_t)size, o->level, path, out, err);
    free(buf);
    return st;
}

bm_text_level bm_text_get_level(const bm_text *t) { return t ? t->level : BM_TEXT_BYTES; }

size_t bm_text_length(const bm_text *t) { return t ? t->length : 0; }

size_t bm_text_vocab_size(const bm_text *t) { return t ? t->vocab : 0; }

const uint32_t *bm_text_tokens(const bm_text *t) { return t ? t->tokens : NULL; }

uint32_t bm_text_symbol(const bm_text *t, uint32_t id)
{
    if (!t || id >= t->vocab)
        return UINT32_MAX;
    return t->symbols ? t->symbols[id] : id;
}

/* The id of code point cp in t's UTF-8 vocabulary (binary search), or -1. */
static int64_t find_symbol(const bm_text *t, uint32_t cp)
{
    size_t lo = 0, hi = t->vocab;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->symbols[mid] < cp)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < t->vocab && t->symbols[lo] == cp ? (int64_t)lo : -1;
}

bm_status bm_text_encode(const bm_text *t, const char *s, size_t len, uint32_t *ids, size_t cap,
                         size_t *n, bm_error *err)
{
    static const char fn[] = "bm_text_encode";
    if (n)
        *n = 0;
    if (!t || (!s && len) || (!ids && cap))
        return bm_error_set(err, BM_ERR_NULL, "%s: NULL %s", fn,
                            !t ? "text" : !s && len ? "s" : "ids");
    const unsigned char *u = (const unsigned char *)s;
    size_t count = 0;
    for (size_t i = 0; i < len; count++) {
        uint32_t cp = u[i];
        size_t k = 1;
        if (t->level == BM_TEXT_UTF8) {
            k = bm_utf8_decode(u + i, len - i, &cp);
            if (!k)
                return bad_utf8(fn, u, i, err);
            int64_t id = find_symbol(t, cp);
            if (id < 0)
                return bm_error_set(err, BM_ERR_ARG,
                                    "%s: U+%04" PRIX32 " at byte offset %zu is not in the "
                                    "vocabulary",
                                    fn, cp, i);
            cp = (uint32_t)id;
        }
        if (count < cap)
            ids[count] = cp;
        i += k;
    }
    if (n)
        *n = count;
    if (count > cap && (ids || cap))
        return bm_error_set(err, BM_ERR_SIZE, "%s: %zu tokens, room for %zu", fn, count, cap);
    return BM_OK;
}

bm_status bm_text_decode(const bm_text *t, const uint32_t *ids, size_t n, char *buf, size_t cap,
                         size_t *len, bm_error *err)
{
    static const char fn[] = "bm_text_decode";
    if (len)
        *len = 0;
    if (!t || (!ids && n) || (!buf && cap))
        return bm_error_set(err, BM_ERR_NULL, "%s: NULL %s", fn,
                            !t ? "text" : !ids && n ? "ids" : "buf");
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] >= t->vocab)
            return bm_error_set(err, BM_ERR_ARG,
                                "%s: id %" PRIu32 " at position %zu is outside the vocabulary "
                                "of %zu",
                                fn, ids[i], i, t->vocab);
        unsigned char b[BM_TEXT_UTF8_MAX_BYTES];
        size_t k = 1;
        if (t->symbols)
            k = bm_utf8_encode(t->symbols[ids[i]], b);
        else
            b[0] = (unsigned char)ids[i];
        for (size_t j = 0; j < k; j++, used++)
            if (used < cap)
                buf[used] = (char)b[j];
    }
    if (len)
        *len = used;
    if (used < cap)
        buf[used] = '\0';
    if (used > cap && (buf || cap))
        return bm_error_set(err, BM_ERR_SIZE, "%s: %zu bytes, room for %zu", fn, used, cap);
    return BM_OK;
}
