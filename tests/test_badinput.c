#define _POSIX_C_SOURCE 200809L
/* test_badinput.c — the bad-input table: for every loader and the C API,
 * truncated and empty files, wrong types and shapes, zero, negative and
 * overflowing sizes, NaN/Inf, unknown names, deep nesting, non-UTF-8 bytes,
 * missing files, unwritable outputs, tensor and tape misuse, and each
 * documented limit. Every case asserts the exact bm_status and a part of
 * the message that names what was wrong (and, for files, the file).
 *
 * What other suites already cover is not repeated here: the malformed
 * model corpus (test_model_io_bad.c, tests/data/bad_models/), the CSV table of
 * test_data.c (csv_bad_files: ragged rows, quotes, nan/inf/1e999, NUL), the
 * IDX cases of test_data_idx.c (idx_bad_files: truncated bodies, magic, 10^12-pixel headers,
 * 2^32-1 sizes), and 100,000-deep JSON nesting. */
#include <fcntl.h>
#include <sys/stat.h>

#include "test_badinput_api.h"
#include "test_data_files.h"

/* Writes a literal's bytes, NULs included: BYTES("a\0b") is "a\0b", 3. */
#define BYTES(s) s, sizeof(s) - 1
/* Room for a message with a path in it. */
#define MSG_LEN 1024

/* ----------------------------------------------------------- file cases */

/* Which loader reads a file case. */
typedef enum loader {
    CSV,     /* bm_data_load_csv, classification, f64 */
    CSV_REG, /* ... regression targets */
    CSV_F32, /* ... classification, f32 */
    IDX,     /* bm_data_load_idx: the bytes are the images (labels: LBL3) */
    IDX_LBL, /* ... the bytes are the labels (images: IMG3) */
    MODEL    /* bm_model_load, then bm_model_from_json on the same bytes */
} loader;

/* One bad (or, with BM_OK, tricky but good) file. */
typedef struct file_case {
    loader kind;
    const char *name; /* file name in the temp dir (any bytes but '/') */
    const char *bytes;
    size_t len;
    bm_status code;
    const char *msg; /* part of the message (after the path) */
} file_case;

/* Three 1x2 images, their labels. */
#define IMG3                                                                                       \
    "\0\0\x08\x03\0\0\0\x03\0\0\0\x01\0\0\0\x02"                                                   \
    "\x01\x02\x03\x04\x05\x06"
#define LBL3                                                                                       \
    "\0\0\x08\x01\0\0\0\x03"                                                                       \
    "\x01\x02\x00"

/* A 34-deep document (one object + 33 arrays) and a 32-deep one. */
#define OPEN33 "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
#define CLOSE33 "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
#define OPEN31 "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
#define CLOSE31 "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
/* A valid spec around one layer's text. */
#define SPEC(layer) "{\"inputs\": 2, \"layers\": [" layer "]}"
#define DENSE23 "{\"type\": \"dense\", \"in\": 2, \"out\": 3}"
/* A valid spec with more root keys. */
#define ROOT(keys) "{\"inputs\": 2, \"layers\": [" DENSE23 "], " keys "}"
/* A spec of one dense 2x3 layer with more keys. */
#define DENSE(keys) SPEC("{\"type\": \"dense\", \"in\": 2, \"out\": 3, " keys "}")

static const file_case FILES[] = {
    /* CSV: truncated, empty, encodings */
    {CSV, "trunc.csv", BYTES("x0,x1,label\n1,2,0\n3,"), BM_ERR_PARSE,
     ":3: expected 3 columns, got 2"},
    {CSV, "trunc-quote.csv", BYTES("1,2,0\n1,\"2"), BM_ERR_PARSE, ":2:2: unterminated quote"},
    {CSV, "crlf-only.csv", BYTES("\r\n\r\n\t \r\n"), BM_ERR_PARSE, ": file is empty"},
    {CSV, "bom.csv",
     BYTES("\xef\xbb\xbf"
           "1,2,0\n3,4,1\n"),
     BM_OK, NULL},
    {CSV, "latin1.csv", BYTES("1,2,0\n1,2\xe9,0\n"), BM_ERR_PARSE,
     ":2:2: expected a number, got '2?'"},
    {CSV, "utf8-number.csv", BYTES("1,2,0\n1,\xd9\xa3,0\n"), BM_ERR_PARSE,
     ":2:2: expected a number, got '?\?'"},
    {CSV, "latin1-header.csv", BYTES("caf\xe9,b,label\n1,2,0\n"), BM_OK, NULL},
    {CSV, "caf\xe9-name.csv", BYTES("1,2,0\n"), BM_OK, NULL},
    /* CSV: wrong types, NaN/Inf not in test_data.c, label range */
    {CSV, "bool.csv", BYTES("1,2,0\n1,true,0\n"), BM_ERR_PARSE,
     ":2:2: expected a number, got 'true'"},
    {CSV, "cat.csv", BYTES("1,2,0\n1,2,cat\n"), BM_ERR_PARSE, ":2:3: expected a number, got 'cat'"},
    {CSV, "neginf.csv", BYTES("1,-inf,0\n"), BM_ERR_PARSE, ":1:2: value is not finite"},
    {CSV, "NaN.csv", BYTES("1,2,0\n1,NaN,0\n"), BM_ERR_PARSE, ":2:2: value is not finite"},
    {CSV, "infinity.csv", BYTES("1,Infinity,0\n"), BM_ERR_PARSE, ":1:2: value is not finite"},
    {CSV, "hexinf.csv", BYTES("1,0x1p99999,0\n"), BM_ERR_PARSE, ":1:2: value is not finite"},
    {CSV, "nan-label.csv", BYTES("1,2,nan\n"), BM_ERR_PARSE, ":1:3: value is not finite"},
    {CSV_REG, "inf-target.csv", BYTES("1,2,0.5\n1,2,-1e999\n"), BM_ERR_PARSE,
     ":2:3: value is not finite"},
    {CSV_F32, "f32.csv", BYTES("1,3.5e38,0\n"), BM_ERR_PARSE, ":1:2: value is not finite in f32"},
    {CSV, "label-big.csv", BYTES("1,2,16777217\n"), BM_ERR_PARSE,
     ":1:3: class label must be an integer in 0..16777216"},
    {CSV, "label-negzero.csv", BYTES("1,2,-0\n"), BM_OK, NULL},
    /* IDX images: empty, truncated, wrong type, zero, overflow */
    {IDX, "empty-images", BYTES(""), BM_ERR_PARSE,
     ": file holds 0 bytes, too short for an IDX images header of 16"},
    {IDX, "header-only-images", BYTES("\0\0\x08\x03\0\0\0\x01\0\0\0\x01\0\0\0\x01"), BM_ERR_PARSE,
     ": header says 1 images of 1x1 but the file holds 16 bytes"},
    {IDX, "float-images",
     BYTES("\0\0\x0d\x03\0\0\0\x01\0\0\0\x01\0\0\0\x01"
           "\0\0\0\0"),
     BM_ERR_PARSE, ": bad magic 0x00000d03, expected 0x00000803"},
    {IDX, "2d-images",
     BYTES("\0\0\x08\x02\0\0\0\x03\0\0\0\x02"
           "\1\2\3\4\5\6"),
     BM_ERR_PARSE, ": bad magic 0x00000802"},
    {IDX, "zero-n-images", BYTES("\0\0\x08\x03\0\0\0\0\0\0\0\x01\0\0\0\x02"), BM_ERR_PARSE,
     ": dimension 0 is 0"},
    {IDX, "wide-images",
     BYTES("\0\0\x08\x03\0\0\0\x01\0\x01\0\0\0\x01\0\0"
           "\1"),
     BM_ERR_PARSE, ": header says 1 images of 65536x65536 but the file holds 17 bytes"},
    {IDX, "im\xff-images", BYTES(IMG3), BM_OK, NULL},
    /* IDX labels: empty, short header, zero, count, wrong magic */
    {IDX_LBL, "empty-labels", BYTES(""), BM_ERR_PARSE,
     ": file holds 0 bytes, too short for an IDX labels header of 8"},
    {IDX_LBL, "short-labels", BYTES("\0\0\x08\x01\0"), BM_ERR_PARSE,
     ": file holds 5 bytes, too short"},
    {IDX_LBL, "zero-labels", BYTES("\0\0\x08\x01\0\0\0\0"), BM_ERR_PARSE, ": dimension 0 is 0"},
    {IDX_LBL, "images-as-labels", BYTES(IMG3), BM_ERR_PARSE,
     ": bad magic 0x00000803, expected 0x00000801"},
    {IDX_LBL, "lbl\xfe-labels", BYTES(LBL3), BM_OK, NULL},
    /* model files: truncated, empty, encodings */
    {MODEL, "trunc-string.json", BYTES("{\"inputs\": 2, \"layers\": [{\"type\": \"den"),
     BM_ERR_PARSE, ": malformed JSON near line 1 column"},
    {MODEL, "blank.json", BYTES(" \n\t\n"), BM_ERR_PARSE, ": malformed JSON near line 3 column 1"},
    {MODEL, "bom.json", BYTES("\xef\xbb\xbf" SPEC(DENSE23)), BM_OK, NULL},
    {MODEL, "latin1-type.json", BYTES(SPEC(DENSE23 ", {\"type\": \"r\xe9lu\"}")), BM_ERR_PARSE,
     ": layers[1].type: unknown layer type 'r\xe9lu'"},
    {MODEL, "latin1-key.json", BYTES("{\"inp\xfcts\": 2}"), BM_ERR_PARSE,
     ": inp\xfcts: unknown key"},
    {MODEL, "surrogate.json", BYTES("{\"inputs\": 2, \"loss\": \"\\ud800\"}"), BM_ERR_PARSE,
     ": malformed JSON near line 1 column"},
    {MODEL, "m\xff.json", BYTES(SPEC(DENSE23)), BM_OK, NULL},
    /* model files: wrong types */
    {MODEL, "layers-object.json", BYTES("{\"inputs\": 2, \"layers\": {}}"), BM_ERR_PARSE,
     ": layers: expected an array of layers, got an object"},
    {MODEL, "inputs-bool.json", BYTES("{\"inputs\": true, \"layers\": []}"), BM_ERR_PARSE,
     ": inputs: expected a number, got a boolean"},
    {MODEL, "inputs-null.json", BYTES("{\"inputs\": null}"), BM_ERR_PARSE,
     ": inputs: expected a number, got null"},
    {MODEL, "dtype-number.json", BYTES("{\"dtype\": 64}"), BM_ERR_PARSE,
     ": dtype: expected a string, got a number"},
    {MODEL, "optim-string.json", BYTES(ROOT("\"optimizer\": \"adam\"")), BM_ERR_PARSE,
     ": optimizer: expected an object, got a string"},
    {MODEL, "training-array.json", BYTES(ROOT("\"training\": []")), BM_ERR_PARSE,
     ": training: expected an object, got an array"},
    {MODEL, "top-string.json", BYTES("\"model\""), BM_ERR_PARSE,
     ": expected a JSON object at the top, got a string"},
    /* model files: wrong shapes */
    {MODEL, "weights-empty.json", BYTES(DENSE("\"weights\": [], \"biases\": [0, 0, 0]")),
     BM_ERR_SHAPE, ": layers[0].weights: expected 2x3, got an array of 0 values"},
    {MODEL, "biases-nested.json",
     BYTES(DENSE("\"weights\": [[1, 2, 3], [4, 5, 6]], \"biases\": [[0, 0, 0]]")), BM_ERR_SHAPE,
     ": layers[0].biases: expected 3 numbers, got 1"},
    /* model files: zero, negative and overflowing sizes */
    {MODEL, "out-zero.json", BYTES(SPEC("{\"type\": \"dense\", \"in\": 2, \"out\": 0}")),
     BM_ERR_SIZE, ": layers[0].out: expected an integer in [1, 268435456], got 0"},
    {MODEL, "inputs-zero.json", BYTES("{\"inputs\": 0}"), BM_ERR_SIZE,
     ": inputs: expected an integer in [1, 268435456], got 0"},
    {MODEL, "in-negzero.json", BYTES(SPEC("{\"type\": \"dense\", \"in\": -0.0, \"out\": 3}")),
     BM_ERR_SIZE, ": layers[0].in: expected an integer in [1, 268435456], got -0"},
    {MODEL, "inputs-2e64.json", BYTES("{\"inputs\": 18446744073709551616}"), BM_ERR_SIZE,
     ": inputs: expected an integer in [1, 268435456], got 1.8446744073709552e+19"},
    {MODEL, "out-1e308.json", BYTES(SPEC("{\"type\": \"dense\", \"in\": 2, \"out\": 1e308}")),
     BM_ERR_SIZE, ": layers[0].out: expected an integer in [1, 268435456], got 1e+308"},
    {MODEL, "epochs-negative.json", BYTES(ROOT("\"training\": {\"epochs\": -1}")), BM_ERR_ARG,
     ": training.epochs: expected an integer in [0, 9007199254740992], got -1"},
    /* model files: NaN/Inf */
    {MODEL, "lr-nan.json", BYTES(ROOT("\"optimizer\": {\"lr\": NaN}")), BM_ERR_PARSE,
     ": malformed JSON near line 1 column"},
    {MODEL, "lr-inf.json", BYTES(ROOT("\"optimizer\": {\"lr\": 1e999}")), BM_ERR_NUMERIC,
     ": optimizer.lr: the number is not finite"},
    {MODEL, "rate-neginf.json", BYTES(SPEC(DENSE23 ", {\"type\": \"dropout\", \"rate\": -1e999}")),
     BM_ERR_NUMERIC, ": layers[1].rate: the number is not finite"},
    /* model files: unknown names (layer names are exact, optimizer names any case) */
    {MODEL, "Dense.json", BYTES(SPEC("{\"type\": \"Dense\", \"in\": 2, \"out\": 3}")), BM_ERR_PARSE,
     ": layers[0].type: unknown layer type 'Dense'"},
    {MODEL, "SGD.json", BYTES(ROOT("\"optimizer\": {\"type\": \"SGD\"}")), BM_OK, NULL},
    {MODEL, "nesterov.json", BYTES(ROOT("\"optimizer\": {\"type\": \"nesterov\"}")), BM_ERR_PARSE,
     ": optimizer.type: unknown optimizer 'nesterov'"},
    {MODEL, "loss-space.json", BYTES(ROOT("\"loss\": \"mse \"")), BM_ERR_PARSE,
     ": loss: unknown loss 'mse '"},
    /* model files: nesting (the limit is 32 levels) */
    {MODEL, "deep-value.json", BYTES("{\"inputs\": " OPEN33 CLOSE33 "}"), BM_ERR_PARSE,
     ": nested deeper than 32 levels at line 1 column 43"},
    {MODEL, "deep32.json", BYTES(OPEN31 "[]" CLOSE31), BM_ERR_PARSE,
     ": expected a JSON object at the top, got an array"},
};
#define N_FILES (sizeof FILES / sizeof FILES[0])

START_TEST(bad_file)
{
    const file_case *c = &FILES[_i];
    char path[MSG_LEN], aux[MSG_LEN];
    snprintf(path, sizeof path, "%s", write_bytes(c->name, c->bytes, c->len, 0));
    bm_dataset ds = {0};
    bm_error e = {0};
    bm_status s;
    const char *named = path; /* the file the message must name */
    if (c->kind == IDX || c->kind == IDX_LBL) {
        const char *other = c->kind == IDX ? LBL3 : IMG3;
        size_t olen = c->kind == IDX ? sizeof LBL3 - 1 : sizeof IMG3 - 1;
        snprintf(aux, sizeof aux, "%s",
                 write_bytes(c->kind == IDX ? "other-labels" : "other-images", other, olen, 1));
        s = c->kind == IDX ? bm_data_load_idx(&ds, path, aux, BM_IDX_UNIT, BM_F32, &e)
                           : bm_data_load_idx(&ds, aux, path, BM_IDX_UNIT, BM_F32, &e);
    } else if (c->kind == MODEL) {
        bm_model *m = bm_model_load(path, NULL, &e);
        s = m ? BM_OK : e.code;
        bm_error e2 = {0};
        bm_model *m2 = bm_model_from_json(c->bytes, c->len, path, NULL, &e2);
        ck_assert_msg(!m == !m2 && strcmp(e.msg, e2.msg) == 0, "%s: file '%s', memory '%s'",
                      c->name, e.msg, e2.msg);
        bm_model_free(m);
        bm_model_free(m2);
    } else {
        bm_csv_opts o = bm_csv_defaults();
        o.regression = c->kind == CSV_REG;
        s = bm_data_load_csv(&ds, path, &o, c->kind == CSV_F32 ? BM_F32 : BM_F64, &e);
    }
    if (c->code == BM_OK) {
        ck_assert_msg(s == BM_OK, "%s: %s", c->name, e.msg);
        bm_dataset_free(&ds);
        return;
    }
    ck_assert_msg(s == c->code && e.code == c->code, "%s: status %s, expected %s (%s)", c->name,
                  bm_status_name(s), bm_status_name(c->code), e.msg);
    ck_assert_msg(strncmp(e.msg, named, strlen(named)) == 0,
                  "%s: '%s' does not start with the file", c->name, e.msg);
    ck_assert_msg(strstr(e.msg + strlen(named), c->msg) != NULL, "%s: '%s' lacks '%s'", c->name,
                  e.msg, c->msg);
    ck_assert_ptr_null(ds.x);
    ck_assert_ptr_null(ds.y);
}
END_TEST

/* The UTF-8 BOM is skipped: both rows are data, not a header and a row. */
START_TEST(csv_bom_is_not_a_header)
{
    bm_dataset ds = {0};
    bm_error e = {0};
    const char *p = write_text("bom2.csv", "\xef\xbb\xbf"
                                           "1,2,0\n3,4,1\n");
    ck_assert_msg(bm_data_load_csv(&ds, p, NULL, BM_F64, &e) == BM_OK, "%s", e.msg);
    ck_assert_uint_eq(ds.x->shape[0], 2);
    ck_near(bm_tensor_get(ds.x, 0), 1.0, 0.0);
    bm_dataset_free(&ds);
    /* a header after a BOM is still a header */
    p = write_text("bom3.csv", "\xef\xbb\xbf"
                               "a,b,label\n1,2,0\n");
    ck_assert_int_eq(bm_data_load_csv(&ds, p, NULL, BM_F64, &e), BM_OK);
    ck_assert_uint_eq(ds.x->shape[0], 1);
    bm_dataset_free(&ds);
}
END_TEST

/* ----------------------------------------------------------- path cases */

/* Missing files, directories and unwritable outputs: every loader and saver. */
START_TEST(bad_paths)
{
    bm_dataset ds = {0}, good = {0};
    bm_error e = {0};
    char lbl[MSG_LEN], img[MSG_LEN], file[MSG_LEN], under[MSG_LEN + 4];
    static const unsigned char px[6] = {1, 2, 3, 4, 5, 6}, lb[3] = {1, 2, 0};
    snprintf(lbl, sizeof lbl, "%s", write_idx_labels("l-labels", 0x801, 3, lb, 3));
    snprintf(img, sizeof img, "%s", write_idx_images("i-images", 0x803, 3, 1, 2, px, 6));
    snprintf(file, sizeof file, "%s", write_text("file.txt", "x"));
    snprintf(under, sizeof under, "%s/x", file); /* a path under a regular file */
    const char *nonutf8 = tmp_path("caf\xe9-missing.csv", 2);
    ck_err(bm_data_load_csv(&ds, nonutf8, NULL, BM_F64, &e), e, BM_ERR_IO,
           "caf\xe9-missing.csv: No such file");
    ck_err(bm_data_load_csv(&ds, "", NULL, BM_F64, &e), e, BM_ERR_IO, ": No such file");
    ck_err(bm_data_load_csv(&ds, tmp_dir, NULL, BM_F64, &e), e, BM_ERR_IO,
           ": is a directory, not a regular file");
    ck_assert_ptr_nonnull(strstr(e.msg, tmp_dir));
    ck_err(bm_data_load_csv(&ds, under, NULL, BM_F64, &e), e, BM_ERR_IO,
           "file.txt/x: Not a directory");
    ck_err(bm_data_load_idx(&ds, img, tmp_dir, BM_IDX_UNIT, BM_F32, &e), e, BM_ERR_IO,
           "not a regular file");
    ck_assert_ptr_nonnull(strstr(e.msg, tmp_dir));
    ck_err(bm_data_load_idx(&ds, img, tmp_path("no-labels", 3), BM_IDX_UNIT, BM_F32, &e), e,
           BM_ERR_IO, "no-labels: No such file");
    ck_err(bm_data_load_idx(&ds, under, lbl, BM_IDX_UNIT, BM_F32, &e), e, BM_ERR_IO,
           "file.txt/x: Not a directory");
    ck_assert_ptr_null(bm_model_load(tmp_path("m\xff-missing.json", 2), NULL, &e));
    ck_err(e.code, e, BM_ERR_IO, "m\xff-missing.json: No such file");
    ck_assert_ptr_null(bm_model_load("", NULL, &e));
    ck_err(e.code, e, BM_ERR_IO, ": No such file");
    /* unwritable outputs: under a regular file (root can write anywhere else) */
    ck_assert_int_eq(bm_data_load_idx(&good, img, lbl, BM_IDX_UNIT, BM_F64, &e), BM_OK);
    ck_err(bm_data_save_csv(&good, under, &e), e, BM_ERR_IO,
           "file.txt/x: cannot create a temp file: Not a directory");
    ck_err(bm_data_save_csv(&good, "/nonexistent/x.csv", &e), e, BM_ERR_IO,
           "/nonexistent/x.csv: cannot create a temp file: No such file");
    ck_err(bm_data_save_csv(&good, tmp_dir, &e), e, BM_ERR_IO,
           ": cannot rename the temp file over it: Is a directory");
    ck_err(bm_data_save_csv(&good, "", &e), e, BM_ERR_IO, ": No such file");
    bm_model *m = bm_model_from_json(BYTES(SPEC(DENSE23)), "spec", NULL, &e);
    ck_assert_ptr_nonnull(m);
    ck_err(bm_model_save(m, under, NULL, &e), e, BM_ERR_IO,
           "file.txt/x: cannot create a temp file: Not a directory");
    ck_err(bm_model_save(m, "/nonexistent/m.json", NULL, &e), e, BM_ERR_IO,
           "/nonexistent/m.json: cannot create a temp file: No such file");
    ck_err(bm_model_save(m, "", NULL, &e), e, BM_ERR_IO, "cannot");
    bm_model_free(m);
    /* the graph writers on a stream that cannot be written */
    FILE *ro = fopen(file, "r");
    bm_tape *t = bm_tape_new();
    size_t sh[1] = {2};
    bm_tensor *x = bm_tape_leaf(t, BM_F64, 1, sh, BM_REQUIRES_GRAD);
    bm_tensor *y = bm_sum(t, bm_relu(t, x), -1, 0);
    ck_assert_ptr_nonnull(y);
    ck_err(bm_graph_write_dot(t, y, ro, NULL, &e), e, BM_ERR_IO, "write");
    ck_err(bm_graph_write_json(t, y, ro, NULL, &e), e, BM_ERR_IO, "write");
    fclose(ro);
    bm_tape_free(t);
    bm_dataset_free(&good);
    ck_assert_ptr_null(ds.x);
}
END_TEST

/* ------------------------------------------------------------ API cases */

/* The table API[] of test_badinput_api.h: each misuse gives its status and message. */
START_TEST(bad_api_call)
{
    const api_case *c = &API[_i];
    bm_error e = {0};
    bm_status s = c->run(&e);
    ck_assert_msg(s == c->code && e.code == c->code, "%s: status %s, expected %s (%s)", c->what,
                  bm_status_name(s), bm_status_name(c->code), e.msg);
    ck_assert_msg(strstr(e.msg, c->msg) != NULL, "%s: '%s' lacks '%s'", c->what, e.msg, c->msg);
}
END_TEST

/* --------------------------------------------------------------- limits */

/* A sparse file of `size` bytes starting with `head`. */
static const char *sparse_file(const char *name, const void *head, size_t hlen, off_t size,
                               int slot)
{
    const char *p = write_bytes(name, head, hlen, slot);
    int fd = open(p, O_WRONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, size), 0);
    close(fd);
    return p;
}

START_TEST(limit_rank_and_elements)
{
    bm_error e = {0};
    size_t sh4[4] = {1, 2, 3, 4}, n = 0;
    bm_tensor *t = bm_tensor_new(BM_F32, BM_MAX_RANK, sh4, &e);
    ck_assert_ptr_nonnull(t);
    bm_tensor_free(t);
    ck_err(bm_shape_check(BM_MAX_RANK + 1, SH5, &n, &e), e, BM_ERR_RANK, "rank 5 is outside 0..4");
    size_t at[2] = {(size_t)1 << 20, (size_t)1 << 20},
           over[2] = {((size_t)1 << 20) + 1, (size_t)1 << 20};
    ck_assert_int_eq(bm_shape_check(2, at, &n, &e), BM_OK);
    ck_assert_uint_eq(n, BM_MAX_ELEMENTS);
    ck_err(bm_shape_check(2, over, &n, &e), e, BM_ERR_SIZE, "more than 1099511627776 elements");
    size_t wrap[3] = {(size_t)1 << 32, (size_t)1 << 32, 2}; /* 2^65: wraps 64 bits */
    ck_err(bm_shape_check(3, wrap, &n, &e), e, BM_ERR_SIZE, "shape overflows");
}
END_TEST

START_TEST(limit_model_files)
{
    bm_error e = {0};
    /* parameters: one layer of 1 x 2^28 is 2^29 with its biases */
    static const char params[] = SPEC("{\"type\": \"dense\", \"in\": 2, \"out\": 268435456}");
    ck_assert_ptr_null(bm_model_from_json(BYTES(params), "p.json", NULL, &e));
    ck_err(e.code, e, BM_ERR_SIZE,
           "p.json: layers[0]: 2x268435456 makes 805306368 parameters in all, "
           "more than the limit of 268435456");
    ck_assert_ptr_null(bm_model_from_json(BYTES("{\"inputs\": 268435457}"), "i.json", NULL, &e));
    ck_err(e.code, e, BM_ERR_SIZE, "i.json: inputs: expected an integer in [1, 268435456]");
    /* integers: 2^53 + 2 is past what a double holds exactly */
    static const char big[] = ROOT("\"training\": {\"seed\": 9007199254740994}");
    ck_assert_ptr_null(bm_model_from_json(BYTES(big), "s.json", NULL, &e));
    ck_err(e.code, e, BM_ERR_ARG,
           "s.json: training.seed: expected an integer in [0, 9007199254740992]");
    static const char at[] = ROOT("\"training\": {\"seed\": 9007199254740992}");
    bm_train_settings ts;
    bm_model *m = bm_model_from_json(BYTES(at), "s.json", &ts, &e);
    ck_assert_msg(m != NULL, "%s", e.msg);
    ck_assert(ts.has_seed && ts.seed == BM_MODEL_MAX_INT);
    bm_model_free(m);
    /* depth: 32 levels pass the pre-scan, 33 do not */
    ck_assert_ptr_null(bm_model_from_json(BYTES(OPEN31 "[]" CLOSE31), "d32", NULL, &e));
    ck_err(e.code, e, BM_ERR_PARSE, "d32: expected a JSON object at the top");
    ck_assert_ptr_null(bm_model_from_json(BYTES(OPEN31 "[[]]" CLOSE31), "d33", NULL, &e));
    ck_err(e.code, e, BM_ERR_PARSE, "d33: nested deeper than 32 levels at line 1 column 33");
    /* file size: a sparse file one byte over, refused unread */
    const char *p = sparse_file("huge.json", "{", 1, (off_t)BM_MODEL_MAX_FILE_BYTES + 1, 0);
    ck_assert_ptr_null(bm_model_load(p, NULL, &e));
    ck_err(e.code, e, BM_ERR_SIZE, "huge.json: the file has 1073741825 bytes, more than the limit");
}
END_TEST

START_TEST(limit_csv)
{
    bm_error e = {0};
    bm_dataset ds = {0};
    /* file size: a sparse file one byte over, refused unread */
    const char *p = sparse_file("huge.csv", "1,2,0\n", 6, (off_t)BM_CSV_MAX_FILE_BYTES + 1, 0);
    ck_err(bm_data_load_csv(&ds, p, NULL, BM_F32, &e), e, BM_ERR_SIZE,
           "huge.csv: the file has 4294967297 bytes, more than the limit of 4294967296");
    /* columns: exactly the limit loads, one more is refused */
    size_t cols = BM_CSV_MAX_COLUMNS, len = 2 * (cols + 1);
    char *text = malloc(len + 1);
    ck_assert_ptr_nonnull(text);
    for (size_t j = 0; j < cols + 1; j++)
        memcpy(text + 2 * j, "1,", 2);
    text[2 * cols - 1] = '\n'; /* cols fields */
    p = write_bytes("wide.csv", text, 2 * cols, 0);
    ck_assert_msg(bm_data_load_csv(&ds, p, NULL, BM_F32, &e) == BM_OK, "%s", e.msg);
    ck_assert_uint_eq(ds.x->shape[1], cols - 1);
    bm_dataset_free(&ds);
    text[2 * cols - 1] = ',';
    text[len - 1] = '\n'; /* cols + 1 fields */
    p = write_bytes("wider.csv", text, len, 0);
    ck_err(bm_data_load_csv(&ds, p, NULL, BM_F32, &e), e, BM_ERR_SIZE,
           "wider.csv:1: more than 1048576 columns (the limit)");
    free(text);
    /* class labels: 2^24 is the largest */
    p = write_text("label.csv", "1,16777216\n");
    ck_assert_int_eq(bm_data_load_csv(&ds, p, NULL, BM_F32, &e), BM_OK);
    ck_assert_uint_eq(ds.n_classes, 16777217);
    bm_dataset_free(&ds);
}
END_TEST

START_TEST(limit_idx_elements)
{
    /* 65536 images of 4096x4097 pixels: the file size matches the header
     * (a sparse file), but x would hold more than 2^40 elements */
    bm_error e = {0};
    bm_dataset ds = {0};
    static const unsigned char head[16] = {0, 0, 8, 3, 0, 1, 0, 0, 0, 0, 0x10, 0, 0, 0, 0x10, 1};
    off_t body = (off_t)65536 * 4096 * 4097;
    const char *ip = sparse_file("huge-images", head, sizeof head, 16 + body, 0);
    static const unsigned char lhead[8] = {0, 0, 8, 1, 0, 1, 0, 0};
    const char *lp = sparse_file("huge-labels", lhead, sizeof lhead, 8 + 65536, 1);
    ck_err(bm_data_load_idx(&ds, ip, lp, BM_IDX_UNIT, BM_F32, &e), e, BM_ERR_SIZE,
           "huge-images: 65536 images of 16781312 pixels: shape overflows: more than "
           "1099511627776 elements");
    ck_assert_ptr_null(ds.x);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("badinput");
    TCase *tc = tcase_create("files");
    tcase_add_unchecked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_add_loop_test(tc, bad_file, 0, (int)N_FILES);
    tcase_add_test(tc, csv_bom_is_not_a_header);
    tcase_add_test(tc, bad_paths);
    suite_add_tcase(s, tc);

    tc = tcase_create("api");
    tcase_add_loop_test(tc, bad_api_call, 0, (int)N_API);
    suite_add_tcase(s, tc);

    tc = tcase_create("limits");
    tcase_add_unchecked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_add_test(tc, limit_rank_and_elements);
    tcase_add_test(tc, limit_model_files);
    tcase_add_test(tc, limit_csv);
    tcase_add_test(tc, limit_idx_elements);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return bm_test_run(make_suite()); }
