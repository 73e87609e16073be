/* text_internal.h — the bm_text struct and the UTF-8 codec shared by
 * text.c and text_windows.c (not installed). */
#ifndef BM_TEXT_INTERNAL_H
#define BM_TEXT_INTERNAL_H

#include <stdint.h>

#include "bm_text.h"

struct bm_text {
    bm_text_level level;
    size_t length;     /* tokens */
    uint32_t *tokens;  /* [length] ids */
    size_t vocab;      /* ids run 0 .. vocab-1 */
    uint32_t *symbols; /* UTF-8: [vocab] code points, ascending; bytes: NULL (id = byte) */
};

/* Decode the code point at s[0 .. len) (len >= 1) into *cp; returns the
 * bytes it takes (1..4), or 0 when they are not valid UTF-8 (stray
 * continuation, truncated, overlong, surrogate, over U+10FFFF). */
size_t bm_utf8_decode(const unsigned char *s, size_t len, uint32_t *cp);
/* Encode code point cp (<= U+10FFFF, not a surrogate) into out; returns the
 * bytes written (1..4). */
size_t bm_utf8_encode(uint32_t cp, unsigned char out[BM_TEXT_UTF8_MAX_BYTES]);

#endif
