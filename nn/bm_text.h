/* bm_text.h — character-level text data sets: any text file as a sequence of
 * token ids (bytes, or UTF-8 code points), context windows of T tokens with
 * their next tokens as targets (torch's char-RNN / char-GPT layout), and a
 * train/validation split by position.
 *
 * Tokens. At byte level the vocabulary is the 256 byte values and a token's
 * id is its byte. At UTF-8 level the vocabulary is the distinct code points
 * of the text, sorted, and a token's id is its rank among them (id 0 is the
 * smallest code point seen). Invalid UTF-8 (a stray continuation byte, a
 * truncated or overlong sequence, a surrogate, a value over U+10FFFF) is
 * refused with BM_ERR_PARSE naming the byte offset ("book.txt: invalid UTF-8
 * at byte offset 17 (0xff)"), never mapped to a replacement: a file that is
 * not UTF-8 can still be read at byte level.
 *
 * Windows. The window at position p is x = tokens[p .. p+T-1] and (target
 * BM_TEXT_TARGET_SEQUENCE) y = tokens[p+1 .. p+T], so it needs T + 1 tokens;
 * windows over a range [start, end) of token positions lie wholly inside it
 * (targets included), so the windows of the two sides of a split never cross
 * the boundary.
 *
 * Ownership: bm_text_load and bm_text_from_bytes make a bm_text the caller
 * frees with bm_text_free; bm_text_windows fills a bm_dataset (bm_data.h)
 * with new tensors freed by bm_dataset_free. Nothing here aborts or exits;
 * every function is NULL-safe and returns a bm_status, with a message in the
 * bm_error when one is given. */
#ifndef BM_TEXT_H
#define BM_TEXT_H

#include "bm_autograd.h"
#include "bm_data.h"

#ifdef __cplusplus
extern "C" {
#endif
BM_API_BEGIN

/* Largest text read (1 GiB): a larger file is BM_ERR_SIZE, unread. Each token
 * takes 4 bytes in memory. */
#define BM_TEXT_MAX_FILE_BYTES ((uint64_t)1 << 30)
/* Vocabulary of the byte level: every byte value. */
#define BM_TEXT_BYTE_VOCAB 256u
/* Largest Unicode code point. */
#define BM_TEXT_MAX_CODE_POINT 0x10FFFFu
/* Most bytes one UTF-8 encoded code point takes. */
#define BM_TEXT_UTF8_MAX_BYTES 4u

/* What a token is. */
typedef enum bm_text_level {
    BM_TEXT_BYTES = 0, /* one byte, vocabulary 256 */
    BM_TEXT_UTF8 = 1   /* one UTF-8 code point, vocabulary the distinct ones seen */
} bm_text_level;

/* How a text is read; start from bm_text_defaults(). */
typedef struct bm_text_opts {
    bm_text_level level;
    uint64_t max_bytes; /* refuse a larger text (BM_ERR_SIZE); 0: BM_TEXT_MAX_FILE_BYTES */
} bm_text_opts;

/* Byte level, the default size limit. */
bm_text_opts bm_text_defaults(void);

/* A text as token ids and its vocabulary (opaque). */
typedef struct bm_text bm_text;

/* Read the file at path as a text (o NULL: the defaults) into *out, a new
 * bm_text the caller frees with bm_text_free. Only regular files are read:
 * a FIFO, device or directory is BM_ERR_IO without blocking. Errors:
 * BM_ERR_IO (cannot open or read), BM_ERR_SIZE (an empty file, or one over
 * the limit), BM_ERR_PARSE (invalid UTF-8 at UTF-8 level, with the byte
 * offset), BM_ERR_ARG (an unknown level). *out is NULL on failure. */
bm_status bm_text_load(const char *path, const bm_text_opts *o, bm_text **out, bm_error *err);
/* The same from len bytes in memory (copied; bytes stays the caller's). */
bm_status bm_text_from_bytes(const void *bytes, size_t len, const bm_text_opts *o, bm_text **out,
                             bm_error *err);
/* Free a text; safe on NULL. */
void bm_text_free(bm_text *t);

/* The text's level (BM_TEXT_BYTES for NULL). */
bm_text_level bm_text_get_level(const bm_text *t);
/* Tokens in the text (0 for NULL). */
size_t bm_text_length(const bm_text *t);
/* Tokens in the vocabulary: 256 at byte level, the distinct code points at
 * UTF-8 level (0 for NULL). Ids run 0 .. size-1. */
size_t bm_text_vocab_size(const bm_text *t);
/* The token ids, bm_text_length of them, owned by t (NULL for NULL). */
const uint32_t *bm_text_tokens(const bm_text *t);
/* The byte value or code point of token id (UINT32_MAX for NULL t or an id
 * outside the vocabulary). */
uint32_t bm_text_symbol(const bm_text *t, uint32_t id);

/* Encode len bytes of s into token ids of t's vocabulary: at most cap ids go
 * to ids; *n (may be NULL) gets how many the whole of s makes, so ids may be
 * NULL with cap 0 to count. BM_ERR_SIZE when cap is too small (nothing is
 * promised about ids then); at UTF-8 level BM_ERR_PARSE for invalid UTF-8
 * and BM_ERR_ARG for a code point the vocabulary lacks, each with the byte
 * offset ("bm_text_encode: U+00E9 at byte offset 3 is not in the
 * vocabulary"). */
bm_status bm_text_encode(const bm_text *t, const char *s, size_t len, uint32_t *ids, size_t cap,
                         size_t *n, bm_error *err);
/* Decode n token ids into bytes (UTF-8 at UTF-8 level) in buf, followed by
 * a NUL when there is room: *len (may be NULL) gets the bytes the ids make,
 * without the NUL, so buf may be NULL with cap 0 to measure. BM_ERR_SIZE
 * when cap is less than that, BM_ERR_ARG for an id outside the vocabulary
 * (naming its position). */
bm_status bm_text_decode(const bm_text *t, const uint32_t *ids, size_t n, char *buf, size_t cap,
                         size_t *len, bm_error *err);

/* ------------------------------------------------------------ windows */

/* What a window's y holds. */
typedef enum bm_text_target {
    BM_TEXT_TARGET_SEQUENCE = 0, /* y [N,T]: the next token of every position
                                    (token ids, not one-hot) */
    BM_TEXT_TARGET_NEXT = 1      /* y [N]: the token after the window, as a class
                                    label (the CSV layout `bmnn train` reads) */
} bm_text_target;

/* How windows are cut; start from bm_text_window_defaults(T). */
typedef struct bm_text_window_opts {
    size_t context;        /* T, tokens per window: >= 1 */
    size_t stride;         /* windows start at start, start+stride, ...: >= 1 (1:
                              every position); unused when rng is set */
    bm_rng *rng;           /* NULL: strided windows; else `count` windows whose
                              positions are drawn uniformly from rng (seeded, so
                              deterministic; rng advances) */
    size_t count;          /* random windows to draw: >= 1 when rng is set */
    bm_text_target target;
    bm_dtype dtype;        /* of x and y: BM_F32 or BM_F64 (ids are exact in both) */
} bm_text_window_opts;

/* context T, stride 1, no rng, target BM_TEXT_TARGET_SEQUENCE, BM_F32. */
bm_text_window_opts bm_text_window_defaults(size_t context);

/* Cut windows out of the tokens in positions [start, end) into *ds: x [N,T]
 * of token ids, y as o->target says, n_classes the vocabulary size. Strided:
 * N = (end - start - T - 1) / stride + 1 windows, in order. Random: N = count
 * windows. Errors: BM_ERR_ARG (T or stride 0, count 0 with an rng, a range
 * outside the text or empty, an unknown target), BM_ERR_SIZE (a range of
 * fewer than T + 1 tokens: "context 8 needs 9 tokens, the range [0, 5) holds
 * 5"; N x T over BM_MAX_ELEMENTS), BM_ERR_DTYPE. *ds is zeroed on failure. */
bm_status bm_text_windows(const bm_text *t, const bm_text_window_opts *o, size_t start,
                          size_t end, bm_dataset *ds, bm_error *err);

/* The train/validation boundary: *boundary = floor((1 - val_fraction) x
 * length); train on positions [0, boundary), validate on [boundary, length)
 * (windows of each side stay on it). val_fraction in [0, 1) (0: all train);
 * BM_ERR_ARG outside it. */
bm_status bm_text_split(const bm_text *t, double val_fraction, size_t *boundary, bm_error *err);

BM_API_END
#ifdef __cplusplus
}
#endif
#endif
