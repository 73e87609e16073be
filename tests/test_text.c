#define _POSIX_C_SOURCE 200809L
/* test_text.c — character-level text data sets (bm_text.h): byte and UTF-8
 * round trips (4-byte code points included), windows against a hand-made
 * text, the split boundary, seeded random windows, and bad input with its
 * messages; Debian's fortunes file when it is installed (the text_fortunes
 * test: a skip without it). */
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "test_data_files.h"

/* The corpus of the zoo (package fortunes-min). */
#define FORTUNES_PATH "/usr/share/games/fortunes/fortunes"
/* The committed sample: 113 bytes, 102 code points, 35 distinct. */
#define SMALL_PATH BM_TEST_DATA "/text_small.txt"

static bm_text *from_str(const char *s, bm_text_level level)
{
    bm_text_opts o = bm_text_defaults();
    o.level = level;
    bm_text *t = NULL;
    bm_error e = {0};
    ck_assert_msg(bm_text_from_bytes(s, strlen(s), &o, &t, &e) == BM_OK, "%s", e.msg);
    return t;
}

/* Row i of a [N,T] tensor (or element i of [N]) as a string of byte tokens. */
static void row_str(const bm_tensor *m, size_t i, size_t T, char *out)
{
    for (size_t j = 0; j < T; j++)
        out[j] = (char)bm_tensor_get(m, i * T + j);
    out[T] = '\0';
}

START_TEST(bytes_round_trip)
{
    unsigned char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (unsigned char)(255 - i);
    bm_text *t = NULL;
    bm_error e = {0};
    ck_assert_int_eq(bm_text_from_bytes(all, sizeof all, NULL, &t, &e), BM_OK);
    ck_assert_int_eq(bm_text_get_level(t), BM_TEXT_BYTES);
    ck_assert_uint_eq(bm_text_length(t), 256);
    ck_assert_uint_eq(bm_text_vocab_size(t), 256);
    const uint32_t *ids = bm_text_tokens(t);
    for (int i = 0; i < 256; i++) {
        ck_assert_uint_eq(ids[i], all[i]);
        ck_assert_uint_eq(bm_text_symbol(t, (uint32_t)i), (uint32_t)i);
    }
    ck_assert_uint_eq(bm_text_symbol(t, 256), UINT32_MAX);
    char back[257];
    size_t len = 0;
    ck_assert_int_eq(bm_text_decode(t, ids, 256, back, sizeof back, &len, &e), BM_OK);
    ck_assert_uint_eq(len, 256);
    ck_assert_int_eq(memcmp(back, all, 256), 0);
    ck_assert_int_eq(back[256], '\0');
    uint32_t enc[256];
    size_t n = 0;
    ck_assert_int_eq(bm_text_encode(t, (const char *)all, 256, enc, 256, &n, &e), BM_OK);
    ck_assert_uint_eq(n, 256);
    ck_assert_int_eq(memcmp(enc, ids, sizeof enc), 0);
    /* a UTF-8 string at byte level is its bytes: "é" is two tokens */
    ck_assert_int_eq(bm_text_encode(t, "\xc3\xa9", 2, enc, 256, &n, &e), BM_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(enc[0], 0xc3);
    ck_assert_uint_eq(enc[1], 0xa9);
    bm_text_free(t);
}
END_TEST

START_TEST(utf8_round_trip)
{
    /* a, é (2 bytes), € (3 bytes), 😀 U+1F600 and 𝄞 U+1D11E (4 bytes) */
    const char *s = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80" "a\xf0\x9d\x84\x9e";
    bm_text *t = from_str(s, BM_TEXT_UTF8);
    ck_assert_int_eq(bm_text_get_level(t), BM_TEXT_UTF8);
    ck_assert_uint_eq(bm_text_length(t), 6);
    ck_assert_uint_eq(bm_text_vocab_size(t), 5);
    static const uint32_t cps[5] = {0x61, 0xE9, 0x20AC, 0x1D11E, 0x1F600}; /* sorted */
    static const uint32_t want[6] = {0, 1, 2, 4, 0, 3};
    for (uint32_t i = 0; i < 5; i++)
        ck_assert_uint_eq(bm_text_symbol(t, i), cps[i]);
    ck_assert_int_eq(memcmp(bm_text_tokens(t), want, sizeof want), 0);
    char back[64];
    size_t len = 0;
    bm_error e = {0};
    ck_assert_int_eq(bm_text_decode(t, want, 6, back, sizeof back, &len, &e), BM_OK);
    ck_assert_uint_eq(len, strlen(s));
    ck_assert_str_eq(back, s);
    /* measuring: no buffer */
    ck_assert_int_eq(bm_text_decode(t, want, 6, NULL, 0, &len, &e), BM_OK);
    ck_assert_uint_eq(len, strlen(s));
    uint32_t ids[8];
    size_t n = 0;
    ck_assert_int_eq(bm_text_encode(t, "\xf0\x9f\x98\x80\xc3\xa9", 6, ids, 8, &n, &e), BM_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_uint_eq(ids[0], 4);
    ck_assert_uint_eq(ids[1], 1);
    /* counting: no array */
    ck_assert_int_eq(bm_text_encode(t, s, strlen(s), NULL, 0, &n, &e), BM_OK);
    ck_assert_uint_eq(n, 6);
    /* a code point the vocabulary lacks, invalid UTF-8, no room */
    ck_err(bm_text_encode(t, "a\xc3\xa9" "b", 4, ids, 8, &n, &e), e, BM_ERR_ARG,
           "bm_text_encode: U+0062 at byte offset 3 is not in the vocabulary");
    ck_err(bm_text_encode(t, "aa\xe2\x82", 4, ids, 8, &n, &e), e, BM_ERR_PARSE,
           "bm_text_encode: invalid UTF-8 at byte offset 2 (0xe2)");
    ck_err(bm_text_encode(t, "aaa", 3, ids, 2, &n, &e), e, BM_ERR_SIZE, "3 tokens, room for 2");
    ck_assert_uint_eq(n, 3);
    /* decoding: an id outside the vocabulary, no room */
    const uint32_t bad[2] = {1, 5};
    ck_err(bm_text_decode(t, bad, 2, back, sizeof back, &len, &e), e, BM_ERR_ARG,
           "id 5 at position 1 is outside the vocabulary of 5");
    ck_err(bm_text_decode(t, want, 6, back, 4, &len, &e), e, BM_ERR_SIZE, "room for 4");
    ck_assert_uint_eq(len, strlen(s));
    bm_text_free(t);
}
END_TEST

START_TEST(file_both_levels)
{
    bm_text *b = NULL, *u = NULL;
    bm_error e = {0};
    bm_text_opts o = bm_text_defaults();
    ck_assert_msg(bm_text_load(SMALL_PATH, &o, &b, &e) == BM_OK, "%s", e.msg);
    o.level = BM_TEXT_UTF8;
    ck_assert_msg(bm_text_load(SMALL_PATH, &o, &u, &e) == BM_OK, "%s", e.msg);
    ck_assert_uint_eq(bm_text_length(b), 113);
    ck_assert_uint_eq(bm_text_length(u), 102);
    ck_assert_uint_eq(bm_text_vocab_size(u), 35);
    for (uint32_t i = 1; i < 35; i++) /* sorted, distinct */
        ck_assert_uint_lt(bm_text_symbol(u, i - 1), bm_text_symbol(u, i));
    ck_assert_uint_eq(bm_text_symbol(u, 34), 0x1F600);
    /* both decode back to the file's bytes */
    char fb[128], db[128], du[128];
    FILE *f = fopen(SMALL_PATH, "rb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fread(fb, 1, sizeof fb, f), 113);
    fclose(f);
    size_t len = 0;
    ck_assert_int_eq(bm_text_decode(b, bm_text_tokens(b), 113, db, sizeof db, &len, &e), BM_OK);
    ck_assert_uint_eq(len, 113);
    ck_assert_int_eq(memcmp(db, fb, 113), 0);
    ck_assert_int_eq(bm_text_decode(u, bm_text_tokens(u), 102, du, sizeof du, &len, &e), BM_OK);
    ck_assert_uint_eq(len, 113);
    ck_assert_int_eq(memcmp(du, fb, 113), 0);
    bm_text_free(b);
    bm_text_free(u);
}
END_TEST

START_TEST(windows_contents)
{
    bm_text *t = from_str("abcdefgh", BM_TEXT_BYTES);
    bm_text_window_opts o = bm_text_window_defaults(3);
    o.stride = 2;
    o.dtype = BM_F64;
    bm_dataset ds = {0};
    bm_error e = {0};
    ck_assert_int_eq(bm_text_windows(t, &o, 0, 8, &ds, &e), BM_OK);
    ck_assert_uint_eq(ds.x->shape[0], 3); /* positions 0, 2, 4 (5 is the last with a target) */
    ck_assert_uint_eq(ds.x->shape[1], 3);
    ck_assert_int_eq(ds.y->rank, 2);
    ck_assert_uint_eq(ds.y->shape[1], 3);
    ck_assert_uint_eq(ds.n_classes, 256);
    ck_assert_int_eq(ds.x->dtype, BM_F64);
    static const char *xs[3] = {"abc", "cde", "efg"}, *ys[3] = {"bcd", "def", "fgh"};
    char r[8];
    for (size_t i = 0; i < 3; i++) {
        row_str(ds.x, i, 3, r);
        ck_assert_str_eq(r, xs[i]);
        row_str(ds.y, i, 3, r);
        ck_assert_str_eq(r, ys[i]);
    }
    bm_dataset_free(&ds);
    /* stride 1: every position; the next-token target: y [N] */
    o.stride = 1;
    o.target = BM_TEXT_TARGET_NEXT;
    ck_assert_int_eq(bm_text_windows(t, &o, 0, 8, &ds, &e), BM_OK);
    ck_assert_uint_eq(ds.x->shape[0], 5);
    ck_assert_int_eq(ds.y->rank, 1);
    row_str(ds.x, 4, 3, r);
    ck_assert_str_eq(r, "efg");
    row_str(ds.y, 0, 5, r);
    ck_assert_str_eq(r, "defgh");
    bm_dataset_free(&ds);
    /* a sub-range, and a stride larger than it: one window */
    o.stride = 100;
    ck_assert_int_eq(bm_text_windows(t, &o, 2, 7, &ds, &e), BM_OK);
    ck_assert_uint_eq(ds.x->shape[0], 1);
    row_str(ds.x, 0, 3, r);
    ck_assert_str_eq(r, "cde");
    ck_near(bm_tensor_get(ds.y, 0), 'f', 0);
    bm_dataset_free(&ds);
    /* T + 1 == the text: exactly one window */
    o = bm_text_window_defaults(7);
    ck_assert_int_eq(bm_text_windows(t, &o, 0, 8, &ds, &e), BM_OK);
    ck_assert_uint_eq(ds.x->shape[0], 1);
    ck_assert_int_eq(ds.x->dtype, BM_F32);
    row_str(ds.y, 0, 7, r);
    ck_assert_str_eq(r, "bcdefgh");
    bm_dataset_free(&ds);
    bm_text_free(t);
}
END_TEST

START_TEST(utf8_windows_are_ids)
{
    bm_text *t = from_str("\xc3\xa9" "a\xf0\x9f\x98\x80" "a", BM_TEXT_UTF8); /* é a 😀 a */
    bm_text_window_opts o = bm_text_window_defaults(2);
    bm_dataset ds = {0};
    bm_error e = {0};
    ck_assert_int_eq(bm_text_windows(t, &o, 0, 4, &ds, &e), BM_OK);
    ck_assert_uint_eq(ds.n_classes, 3); /* a 0, é 1, 😀 2 */
    static const double x[4] = {1, 0, 0, 2}, y[4] = {0, 2, 2, 0};
    ck_assert_uint_eq(ds.x->size, 4);
    for (size_t i = 0; i < 4; i++) {
        ck_near(bm_tensor_get(ds.x, i), x[i], 0);
        ck_near(bm_tensor_get(ds.y, i), y[i], 0);
    }
    bm_dataset_free(&ds);
    bm_text_free(t);
}
END_TEST

START_TEST(split_boundary)
{
    bm_text *t = from_str("0123456789", BM_TEXT_BYTES);
    size_t b = 0;
    bm_error e = {0};
    ck_assert_int_eq(bm_text_split(t, 0.3, &b, &e), BM_OK);
    ck_assert_uint_eq(b, 7);
    ck_assert_int_eq(bm_text_split(t, 0.0, &b, &e), BM_OK);
    ck_assert_uint_eq(b, 10);
    ck_assert_int_eq(bm_text_split(t, 0.99, &b, &e), BM_OK);
    ck_assert_uint_eq(b, 0);
    ck_err(bm_text_split(t, 1.0, &b, &e), e, BM_ERR_ARG, "fraction 1 is not in [0, 1)");
    ck_err(bm_text_split(t, -0.1, &b, &e), e, BM_ERR_ARG, NULL);
    ck_err(bm_text_split(t, NAN, &b, &e), e, BM_ERR_ARG, NULL);
    ck_assert_int_eq(bm_text_split(t, 0.3, &b, &e), BM_OK);
    /* training windows end at the boundary: the last target is '6' */
    bm_text_window_opts o = bm_text_window_defaults(2);
    bm_dataset tr = {0}, va = {0};
    ck_assert_int_eq(bm_text_windows(t, &o, 0, b, &tr, &e), BM_OK);
    ck_assert_uint_eq(tr.x->shape[0], 5);
    for (size_t i = 0; i < tr.y->size; i++)
        ck_assert_double_lt(bm_tensor_get(tr.y, i), '7');
    char r[4];
    row_str(tr.y, 4, 2, r);
    ck_assert_str_eq(r, "56");
    /* validation windows start at it */
    ck_assert_int_eq(bm_text_windows(t, &o, b, 10, &va, &e), BM_OK);
    ck_assert_uint_eq(va.x->shape[0], 1);
    row_str(va.x, 0, 2, r);
    ck_assert_str_eq(r, "78");
    row_str(va.y, 0, 2, r);
    ck_assert_str_eq(r, "89");
    bm_dataset_free(&va);
    /* a context that does not fit the validation part */
    o.context = 3;
    ck_err(bm_text_windows(t, &o, b, 10, &va, &e), e, BM_ERR_SIZE,
           "bm_text_windows: context 3 needs 4 tokens, the range [7, 10) holds 3");
    ck_assert_ptr_null(va.x);
    bm_dataset_free(&tr);
    bm_text_free(t);
}
END_TEST

START_TEST(random_windows_deterministic)
{
    unsigned char s[200];
    for (int i = 0; i < 200; i++)
        s[i] = (unsigned char)i; /* every token distinct: a window tells its position */
    bm_text *t = NULL;
    ck_assert_int_eq(bm_text_from_bytes(s, sizeof s, NULL, &t, NULL), BM_OK);
    bm_rng r1, r2, r3;
    bm_rng_seed(&r1, 7);
    bm_rng_seed(&r2, 7);
    bm_rng_seed(&r3, 8);
    bm_text_window_opts o = bm_text_window_defaults(5);
    o.count = 50;
    bm_dataset a = {0}, b = {0}, c = {0};
    bm_error e = {0};
    size_t start = 20, end = 120;
    o.rng = &r1;
    ck_assert_int_eq(bm_text_windows(t, &o, start, end, &a, &e), BM_OK);
    o.rng = &r2;
    ck_assert_int_eq(bm_text_windows(t, &o, start, end, &b, &e), BM_OK);
    o.rng = &r3;
    ck_assert_int_eq(bm_text_windows(t, &o, start, end, &c, &e), BM_OK);
    ck_assert_uint_eq(a.x->shape[0], 50);
    int differs = 0, moved = 0;
    for (size_t i = 0; i < a.x->size; i++) {
        ck_near(bm_tensor_get(a.x, i), bm_tensor_get(b.x, i), 0);
        ck_near(bm_tensor_get(a.y, i), bm_tensor_get(b.y, i), 0);
        differs |= bm_tensor_get(a.x, i) != bm_tensor_get(c.x, i);
    }
    ck_assert_msg(differs, "seeds 7 and 8 drew the same windows");
    for (size_t i = 0; i < 50; i++) {
        double p = bm_tensor_get(a.x, i * 5);
        ck_assert(p >= (double)start && p <= (double)(end - 6)); /* the target stays inside */
        moved |= i > 0 && p != bm_tensor_get(a.x, 0);
        for (size_t j = 0; j < 5; j++) {
            ck_near(bm_tensor_get(a.x, i * 5 + j), p + (double)j, 0);
            ck_near(bm_tensor_get(a.y, i * 5 + j), p + (double)j + 1, 0);
        }
    }
    ck_assert(moved);
    bm_dataset_free(&a);
    bm_dataset_free(&b);
    bm_dataset_free(&c);
    bm_text_free(t);
}
END_TEST

/* Each invalid sequence at byte level is fine; at UTF-8 level it is refused at `off`. */
static void check_invalid(const char *name, const char *bytes, size_t len, size_t off)
{
    bm_text_opts o = bm_text_defaults();
    bm_text *t = NULL;
    bm_error e = {0};
    const char *p = write_bytes(name, bytes, len, 3);
    ck_assert_int_eq(bm_text_load(p, &o, &t, &e), BM_OK);
    bm_text_free(t);
    o.level = BM_TEXT_UTF8;
    char want[160];
    snprintf(want, sizeof want, "%s: invalid UTF-8 at byte offset %zu (0x%02x)", name, off,
             (unsigned)(unsigned char)bytes[off]);
    ck_err(bm_text_load(p, &o, &t, &e), e, BM_ERR_PARSE, want);
    ck_assert_ptr_null(t);
}

START_TEST(bad_input)
{
    bm_text *t = NULL;
    bm_error e = {0};
    bm_text_opts o = bm_text_defaults();
    /* empty: from a file and from memory */
    ck_err(bm_text_load(write_bytes("empty.txt", "", 0, 0), &o, &t, &e), e, BM_ERR_SIZE,
           "empty.txt: empty text (0 bytes)");
    ck_assert_ptr_null(t);
    ck_err(bm_text_from_bytes("", 0, &o, &t, &e), e, BM_ERR_SIZE, "empty text");
    /* a FIFO without a writer: refused at once, never waited on */
    const char *fifo = tmp_path("in.fifo", 0);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    ck_err(bm_text_load(fifo, &o, &t, &e), e, BM_ERR_IO, "in.fifo: is a FIFO, not a regular file");
    ck_err(bm_text_load(tmp_dir, &o, &t, &e), e, BM_ERR_IO, "not a regular file");
    ck_err(bm_text_load(tmp_path("none.txt", 0), &o, &t, &e), e, BM_ERR_IO,
           "none.txt: No such file");
    /* over the size limit: refused unread */
    const char *ten = write_bytes("ten.txt", "0123456789", 10, 1);
    o.max_bytes = 9;
    ck_err(bm_text_load(ten, &o, &t, &e), e, BM_ERR_SIZE,
           "ten.txt: the file has 10 bytes, more than the limit of 9");
    ck_err(bm_text_from_bytes("0123456789", 10, &o, &t, &e), e, BM_ERR_SIZE,
           "10 bytes, more than the limit of 9");
    o = bm_text_defaults();
    o.level = (bm_text_level)9;
    ck_err(bm_text_load(ten, &o, &t, &e), e, BM_ERR_ARG, "unknown level 9");
    /* invalid UTF-8 of each kind, with its offset */
    check_invalid("ff.txt", "ab\xff", 3, 2);
    check_invalid("stray.txt", "a\x80", 2, 1);
    check_invalid("truncated.txt", "ab\xc3", 3, 2);
    check_invalid("broken.txt", "\xe2\x82z", 3, 0);
    check_invalid("overlong.txt", "x\xc0\xaf", 3, 1);
    check_invalid("overlong3.txt", "\xe0\x80\xaf", 3, 0);
    check_invalid("surrogate.txt", "xy\xed\xa0\x80", 5, 2);
    check_invalid("toobig.txt", "\xf4\x90\x80\x80", 4, 0);
    /* windows: T 0, T >= the text, stride 0, count 0, bad ranges, absurd sizes */
    o = bm_text_defaults();
    ck_assert_int_eq(bm_text_load(ten, &o, &t, &e), BM_OK);
    bm_dataset ds = {0};
    bm_text_window_opts w = bm_text_window_defaults(0);
    ck_err(bm_text_windows(t, &w, 0, 10, &ds, &e), e, BM_ERR_ARG, "context 0");
    w.context = 10;
    ck_err(bm_text_windows(t, &w, 0, 10, &ds, &e), e, BM_ERR_SIZE,
           "context 10 needs 11 tokens, the range [0, 10) holds 10");
    w.context = SIZE_MAX;
    ck_err(bm_text_windows(t, &w, 0, 10, &ds, &e), e, BM_ERR_SIZE, "the range [0, 10) holds 10");
    w.context = 3;
    w.stride = 0;
    ck_err(bm_text_windows(t, &w, 0, 10, &ds, &e), e, BM_ERR_ARG, "stride 0");
    w.stride = 1;
    ck_err(bm_text_windows(t, &w, 0, 11, &ds, &e), e, BM_ERR_ARG,
           "range [0, 11) is empty or outside the text of 10 tokens");
    ck_err(bm_text_windows(t, &w, 5, 5, &ds, &e), e, BM_ERR_ARG, "range [5, 5) is empty");
    bm_rng rng;
    bm_rng_seed(&rng, 1);
    w.rng = &rng;
    ck_err(bm_text_windows(t, &w, 0, 10, &ds, &e), e, BM_ERR_ARG, "count 0 random windows");
    w.count = SIZE_MAX;
    ck_err(bm_text_windows(t, &w, 0, 10, &ds, &e), e, BM_ERR_SIZE,
           "windows of 3 tokens is more than");
    w.count = 1;
    w.dtype = (bm_dtype)7;
    ck_err(bm_text_windows(t, &w, 0, 10, &ds, &e), e, BM_ERR_DTYPE, "unknown dtype 7");
    w.dtype = BM_F32;
    w.target = (bm_text_target)5;
    ck_err(bm_text_windows(t, &w, 0, 10, &ds, &e), e, BM_ERR_ARG, "unknown target 5");
    ck_assert_ptr_null(ds.x);
    ck_assert_ptr_null(ds.y);
    /* NULLs */
    ck_err(bm_text_windows(NULL, &w, 0, 10, &ds, &e), e, BM_ERR_NULL, "NULL text");
    bm_text *none = NULL;
    ck_err(bm_text_load(NULL, &o, &none, &e), e, BM_ERR_NULL, "NULL path");
    ck_err(bm_text_from_bytes(NULL, 3, &o, &none, &e), e, BM_ERR_NULL, "NULL bytes");
    ck_assert_ptr_null(none);
    ck_assert_uint_eq(bm_text_length(NULL), 0);
    ck_assert_uint_eq(bm_text_vocab_size(NULL), 0);
    ck_assert_ptr_null(bm_text_tokens(NULL));
    bm_text_free(t);
}
END_TEST

START_TEST(fortunes_corpus)
{
    bm_text *b = NULL, *u = NULL;
    bm_error e = {0};
    bm_text_opts o = bm_text_defaults();
    ck_assert_msg(bm_text_load(FORTUNES_PATH, &o, &b, &e) == BM_OK, "%s", e.msg);
    o.level = BM_TEXT_UTF8;
    ck_assert_msg(bm_text_load(FORTUNES_PATH, &o, &u, &e) == BM_OK, "%s", e.msg);
    struct stat st;
    ck_assert_int_eq(stat(FORTUNES_PATH, &st), 0);
    ck_assert_uint_eq(bm_text_length(b), (size_t)st.st_size);
    ck_assert_uint_le(bm_text_length(u), bm_text_length(b));
    ck_assert_uint_ge(bm_text_vocab_size(u), 2);
    /* decoding the UTF-8 tokens gives the file back */
    size_t len = 0;
    char *buf = malloc((size_t)st.st_size + 1);
    ck_assert_int_eq(bm_text_decode(u, bm_text_tokens(u), bm_text_length(u), buf,
                                    (size_t)st.st_size + 1, &len, &e), BM_OK);
    ck_assert_uint_eq(len, (size_t)st.st_size);
    char *back = malloc((size_t)st.st_size + 1);
    ck_assert_int_eq(bm_text_decode(b, bm_text_tokens(b), bm_text_length(b), back,
                                    (size_t)st.st_size + 1, &len, &e), BM_OK);
    ck_assert_int_eq(memcmp(buf, back, len), 0);
    free(buf);
    free(back);
    /* the zoo's windows: context 64, a tenth for validation */
    size_t cut = 0, n = bm_text_length(u);
    ck_assert_int_eq(bm_text_split(u, 0.1, &cut, &e), BM_OK);
    bm_text_window_opts w = bm_text_window_defaults(64);
    w.stride = 64;
    bm_dataset tr = {0}, va = {0};
    ck_assert_int_eq(bm_text_windows(u, &w, 0, cut, &tr, &e), BM_OK);
    ck_assert_int_eq(bm_text_windows(u, &w, cut, n, &va, &e), BM_OK);
    ck_assert_uint_eq(tr.x->shape[0], (cut - 65) / 64 + 1);
    ck_assert_uint_eq(va.x->shape[0], (n - cut - 65) / 64 + 1);
    bm_dataset_free(&tr);
    bm_dataset_free(&va);
    bm_text_free(b);
    bm_text_free(u);
}
END_TEST

static int have_fortunes(void) { return access(FORTUNES_PATH, R_OK) == 0; }

static Suite *make_suite(void)
{
    Suite *s = suite_create("text");
    TCase *tc = tcase_create("text");
    tcase_add_unchecked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_add_test(tc, bytes_round_trip);
    tcase_add_test(tc, utf8_round_trip);
    tcase_add_test(tc, file_both_levels);
    tcase_add_test(tc, windows_contents);
    tcase_add_test(tc, utf8_windows_are_ids);
    tcase_add_test(tc, split_boundary);
    tcase_add_test(tc, random_windows_deterministic);
    tcase_add_test(tc, bad_input);
    suite_add_tcase(s, tc);
    if (have_fortunes()) { /* else text_fortunes reports a skip */
        TCase *f = bm_test_case_needing("fortunes");
        tcase_add_test(f, fortunes_corpus);
        suite_add_tcase(s, f);
    }
    return s;
}

int main(void)
{
    if (bm_test_missing("fortunes", have_fortunes(),
                        FORTUNES_PATH " (Debian package fortunes-min)"))
        return BM_TEST_SKIP;
    return bm_test_run(make_suite());
}
