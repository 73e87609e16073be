#define _POSIX_C_SOURCE 200809L
/* test_data.c — data set generators, subsets, CSV load/save (IDX files:
 * test_data_idx.c). */
#include "test_data_files.h"

/* ------------------------------------------------------------ generators */

START_TEST(spiral_shapes_and_ranges)
{
    const size_t per = 100, classes = 3;
    for (int dt = BM_F32; dt <= BM_F64; dt++) {
        bm_rng rng;
        bm_rng_seed(&rng, 0);
        bm_dataset ds = {0};
        ck_assert_int_eq(bm_data_spiral(&ds, per, classes, (bm_dtype)dt, &rng, NULL), BM_OK);
        ck_assert_int_eq(ds.x->rank, 2);
        ck_assert_uint_eq(ds.x->shape[0], per * classes);
        ck_assert_uint_eq(ds.x->shape[1], 2);
        ck_assert_int_eq(ds.y->rank, 1);
        ck_assert_uint_eq(ds.y->shape[0], per * classes);
        ck_assert_uint_eq(ds.n_classes, classes);
        ck_assert_int_eq(ds.x->dtype, dt);
        size_t count[3] = {0};
        for (size_t i = 0; i < per * classes; i++) {
            double c = bm_tensor_get(ds.y, i);
            ck_assert(c == 0 || c == 1 || c == 2);
            ck_assert_uint_eq((size_t)c, i / per); /* class blocks in order */
            count[(size_t)c]++;
            double x0 = bm_tensor_get(ds.x, 2 * i), x1 = bm_tensor_get(ds.x, 2 * i + 1);
            ck_assert(sqrt(x0 * x0 + x1 * x1) <= 1.0 + 1e-6);
        }
        for (size_t c = 0; c < classes; c++) {
            ck_assert_uint_eq(count[c], per);
            /* r = linspace(0, 1): first point at the origin, last on the unit circle */
            ck_near(bm_tensor_get(ds.x, 2 * c * per), 0.0, 0.0);
            ck_near(bm_tensor_get(ds.x, 2 * c * per + 1), 0.0, 0.0);
            size_t last = c * per + per - 1;
            double a = bm_tensor_get(ds.x, 2 * last), b = bm_tensor_get(ds.x, 2 * last + 1);
            ck_near(sqrt(a * a + b * b), 1.0, 1e-6);
        }
        bm_dataset_free(&ds);
        ck_assert_ptr_null(ds.x);
        ck_assert_ptr_null(ds.y);
    }
}
END_TEST

START_TEST(spiral_matches_formula)
{
    /* Recompute nnfs spiral_data with the same draws, in the same order. */
    const size_t per = 7, classes = 2;
    bm_rng a, b;
    bm_rng_seed(&a, 123);
    bm_rng_seed(&b, 123);
    bm_dataset ds = {0};
    ck_assert_int_eq(bm_data_spiral(&ds, per, classes, BM_F64, &a, NULL), BM_OK);
    for (size_t c = 0; c < classes; c++)
        for (size_t i = 0; i < per; i++) {
            double r = (double)i / (double)(per - 1);
            double t = 4.0 * (double)c + 4.0 * (double)i / (double)(per - 1);
            t += 0.2 * bm_rng_normal(&b);
            size_t row = c * per + i;
            ck_near(bm_tensor_get(ds.x, 2 * row), r * sin(2.5 * t), 1e-12);
            ck_near(bm_tensor_get(ds.x, 2 * row + 1), r * cos(2.5 * t), 1e-12);
        }
    /* the generator consumed exactly per*classes draws */
    ck_assert_uint_eq(bm_rng_next(&a), bm_rng_next(&b));
    bm_dataset_free(&ds);

    /* one sample per class: r = 0, every point at the origin */
    ck_assert_int_eq(bm_data_spiral(&ds, 1, 4, BM_F64, &a, NULL), BM_OK);
    for (size_t i = 0; i < ds.x->size; i++)
        ck_near(bm_tensor_get(ds.x, i), 0.0, 0.0);
    bm_dataset_free(&ds);
}
END_TEST

/* Generate with a seed into ds (spiral or vertical). */
static void gen(bm_dataset *ds, int vertical, uint64_t seed)
{
    bm_rng r;
    bm_rng_seed(&r, seed);
    bm_status s = vertical ? bm_data_vertical(ds, 50, 3, BM_F32, &r, NULL)
                           : bm_data_spiral(ds, 50, 3, BM_F32, &r, NULL);
    ck_assert_int_eq(s, BM_OK);
}

START_TEST(generators_deterministic_per_seed)
{
    for (int v = 0; v <= 1; v++) {
        bm_dataset a = {0}, b = {0}, c = {0};
        gen(&a, v, 42);
        gen(&b, v, 42);
        gen(&c, v, 43);
        size_t bytes = a.x->size * bm_dtype_size(a.x->dtype);
        ck_assert_int_eq(memcmp(a.x->data, b.x->data, bytes), 0);
        ck_assert_int_ne(memcmp(a.x->data, c.x->data, bytes), 0);
        ck_assert_int_eq(memcmp(a.y->data, c.y->data, a.y->size * sizeof(float)), 0);
        bm_dataset_free(&a);
        bm_dataset_free(&b);
        bm_dataset_free(&c);
    }
}
END_TEST

START_TEST(vertical_blobs)
{
    const size_t per = 400, classes = 3;
    bm_rng rng, ref;
    bm_rng_seed(&rng, 5);
    bm_rng_seed(&ref, 5);
    bm_dataset ds = {0};
    ck_assert_int_eq(bm_data_vertical(&ds, per, classes, BM_F64, &rng, NULL), BM_OK);
    ck_assert_uint_eq(ds.x->shape[0], per * classes);
    ck_assert_uint_eq(ds.x->shape[1], 2);
    ck_assert_uint_eq(ds.n_classes, classes);
    /* draw order: all x0 of class 0, then all its x1 */
    for (size_t i = 0; i < per; i++)
        ck_near(bm_tensor_get(ds.x, 2 * i), 0.1 * bm_rng_normal(&ref), 1e-15);
    for (size_t i = 0; i < per; i++)
        ck_near(bm_tensor_get(ds.x, 2 * i + 1), 0.1 * bm_rng_normal(&ref) + 0.5, 1e-15);
    for (size_t c = 0; c < classes; c++) {
        double m0 = 0, m1 = 0;
        size_t count = 0;
        for (size_t i = c * per; i < (c + 1) * per; i++) {
            m0 += bm_tensor_get(ds.x, 2 * i);
            m1 += bm_tensor_get(ds.x, 2 * i + 1);
            count += bm_tensor_get(ds.y, i) == (double)c;
        }
        ck_assert_uint_eq(count, per);
        ck_near(m0 / per, (double)c / 3.0, 0.02);
        ck_near(m1 / per, 0.5, 0.02);
    }
    bm_dataset_free(&ds);
}
END_TEST

START_TEST(sine_values)
{
    const size_t n = 1000;
    bm_dataset ds = {0};
    ck_assert_int_eq(bm_data_sine(&ds, n, BM_F64, NULL), BM_OK);
    ck_assert_int_eq(ds.x->rank, 2);
    ck_assert_uint_eq(ds.x->shape[0], n);
    ck_assert_uint_eq(ds.x->shape[1], 1);
    ck_assert_int_eq(ds.y->rank, 2);
    ck_assert_uint_eq(ds.y->shape[0], n);
    ck_assert_uint_eq(ds.y->shape[1], 1);
    ck_assert_uint_eq(ds.n_classes, 0);
    for (size_t i = 0; i < n; i++) {
        double x = (double)i / (double)n;
        ck_near(bm_tensor_get(ds.x, i), x, 0.0);
        ck_near(bm_tensor_get(ds.y, i), sin(2.0 * 3.14159265358979323846 * x), 1e-15);
    }
    ck_near(bm_tensor_get(ds.y, 0), 0.0, 0.0);
    ck_near(bm_tensor_get(ds.y, n / 4), 1.0, 1e-12);
    ck_near(bm_tensor_get(ds.y, 3 * n / 4), -1.0, 1e-12);
    bm_dataset_free(&ds);
}
END_TEST

START_TEST(generator_bad_args)
{
    bm_error e = {0};
    bm_dataset ds = {0};
    bm_rng rng;
    bm_rng_seed(&rng, 1);
    ck_err(bm_data_spiral(&ds, 0, 3, BM_F32, &rng, &e), e, BM_ERR_SIZE, "bm_data_spiral");
    ck_assert_ptr_null(ds.x);
    ck_err(bm_data_vertical(&ds, 10, 0, BM_F32, &rng, &e), e, BM_ERR_SIZE, "bm_data_vertical");
    ck_err(bm_data_spiral(&ds, 10, 3, BM_F32, NULL, &e), e, BM_ERR_NULL, "rng");
    ck_err(bm_data_spiral(NULL, 10, 3, BM_F32, &rng, &e), e, BM_ERR_NULL, NULL);
    ck_err(bm_data_spiral(&ds, SIZE_MAX / 2, 3, BM_F32, &rng, &e), e, BM_ERR_SIZE, "too many");
    ck_err(bm_data_sine(&ds, 0, BM_F64, &e), e, BM_ERR_SIZE, "0 samples");
    ck_err(bm_data_sine(&ds, 4, (bm_dtype)7, &e), e, BM_ERR_DTYPE, NULL);
    /* NULL err is fine too */
    ck_assert_int_eq(bm_data_sine(&ds, 0, BM_F64, NULL), BM_ERR_SIZE);
    bm_dataset_free(&ds);
    bm_dataset_free(NULL);
}
END_TEST

START_TEST(subset_copies_rows)
{
    bm_rng rng;
    bm_rng_seed(&rng, 9);
    bm_dataset ds = {0}, sub = {0}, reg = {0}, rsub = {0};
    bm_error e = {0};
    ck_assert_int_eq(bm_data_spiral(&ds, 10, 3, BM_F64, &rng, NULL), BM_OK);
    ck_assert_int_eq(bm_dataset_subset(&sub, &ds, 8, 5, &e), BM_OK);
    ck_assert_uint_eq(sub.x->shape[0], 5);
    ck_assert_uint_eq(sub.x->shape[1], 2);
    ck_assert_uint_eq(sub.y->shape[0], 5);
    ck_assert_uint_eq(sub.n_classes, 3);
    for (size_t i = 0; i < 5; i++) {
        ck_near(bm_tensor_get(sub.x, 2 * i), bm_tensor_get(ds.x, 2 * (8 + i)), 0.0);
        ck_near(bm_tensor_get(sub.x, 2 * i + 1), bm_tensor_get(ds.x, 2 * (8 + i) + 1), 0.0);
        ck_near(bm_tensor_get(sub.y, i), bm_tensor_get(ds.y, 8 + i), 0.0);
    }
    ck_assert_int_eq(bm_dataset_subset(&rsub, &ds, 0, 30, &e), BM_OK); /* all rows */
    bm_dataset_free(&rsub);
    ck_err(bm_dataset_subset(&rsub, &ds, 28, 3, &e), e, BM_ERR_ARG, "outside the 30 rows");
    ck_err(bm_dataset_subset(&rsub, &ds, SIZE_MAX, 2, &e), e, BM_ERR_ARG, NULL);
    ck_err(bm_dataset_subset(&rsub, &ds, 0, 0, &e), e, BM_ERR_SIZE, NULL);
    ck_assert_ptr_null(rsub.x);
    /* targets [N,1] keep their shape */
    ck_assert_int_eq(bm_data_sine(&reg, 10, BM_F32, NULL), BM_OK);
    ck_assert_int_eq(bm_dataset_subset(&rsub, &reg, 9, 1, &e), BM_OK);
    ck_assert_int_eq(rsub.y->rank, 2);
    ck_near(bm_tensor_get(rsub.x, 0), 0.9f, 0.0);
    bm_dataset_free(&ds);
    bm_dataset_free(&sub);
    bm_dataset_free(&reg);
    bm_dataset_free(&rsub);
}
END_TEST

/* ------------------------------------------------------------------- CSV */

static void ck_same_tensor(const bm_tensor *a, const bm_tensor *b)
{
    ck_assert(bm_tensor_same_shape(a, b));
    ck_assert_int_eq(a->rank, b->rank);
    ck_assert_int_eq(memcmp(a->data, b->data, a->size * bm_dtype_size(a->dtype)), 0);
}

START_TEST(csv_round_trip_bit_identical)
{
    for (int dt = BM_F32; dt <= BM_F64; dt++) {
        bm_rng rng;
        bm_rng_seed(&rng, 77);
        bm_dataset ds = {0}, back = {0};
        bm_error e = {0};
        const char *p = tmp_path("spiral.csv", 0);
        ck_assert_int_eq(bm_data_spiral(&ds, 40, 3, (bm_dtype)dt, &rng, NULL), BM_OK);
        ck_assert_int_eq(bm_data_save_csv(&ds, p, &e), BM_OK);
        ck_assert_int_eq(bm_data_load_csv(&back, p, NULL, (bm_dtype)dt, &e), BM_OK);
        ck_same_tensor(ds.x, back.x);
        ck_same_tensor(ds.y, back.y);
        ck_assert_uint_eq(back.n_classes, 3);
        bm_dataset_free(&back);
        bm_dataset_free(&ds);

        /* regression targets [N,1] */
        bm_csv_opts o = bm_csv_defaults();
        o.regression = 1;
        ck_assert_int_eq(bm_data_sine(&ds, 33, (bm_dtype)dt, NULL), BM_OK);
        ck_assert_int_eq(bm_data_save_csv(&ds, p, &e), BM_OK);
        ck_assert_int_eq(bm_data_load_csv(&back, p, &o, (bm_dtype)dt, &e), BM_OK);
        ck_same_tensor(ds.x, back.x);
        ck_same_tensor(ds.y, back.y);
        ck_assert_uint_eq(back.n_classes, 0);
        bm_dataset_free(&back);
        bm_dataset_free(&ds);
    }
}
END_TEST

START_TEST(csv_save_format)
{
    double xv[4] = {0.1, -2, 3e-300, 4}, yv[2] = {1, 0};
    size_t xs[2] = {2, 2}, ys[1] = {2};
    bm_dataset ds = {bm_tensor_from(BM_F64, 2, xs, xv, NULL), bm_tensor_from(BM_F64, 1, ys, yv, NULL), 2};
    bm_error e = {0};
    const char *p = tmp_path("fmt.csv", 0);
    ck_assert_int_eq(bm_data_save_csv(&ds, p, &e), BM_OK);
    char buf[256] = {0};
    FILE *f = fopen(p, "r");
    ck_assert_uint_gt(fread(buf, 1, sizeof buf - 1, f), 0);
    fclose(f);
    ck_assert_str_eq(buf, "x0,x1,label\n0.10000000000000001,-2,1\n3.0000000000000002e-300,4,0\n");
    /* non-finite values and missing directories are refused */
    bm_tensor_set(ds.x, 1, NAN);
    ck_err(bm_data_save_csv(&ds, p, &e), e, BM_ERR_NUMERIC, "x[0,1]");
    bm_tensor_set(ds.x, 1, 1.0);
    ck_err(bm_data_save_csv(&ds, "/nonexistent-dir/x.csv", &e), e, BM_ERR_IO, "/nonexistent-dir/x.csv");
    bm_dataset empty = {0};
    ck_err(bm_data_save_csv(&empty, p, &e), e, BM_ERR_NULL, NULL);
    bm_dataset_free(&ds);
}
END_TEST

START_TEST(csv_header_auto_detect)
{
    bm_dataset ds = {0};
    bm_error e = {0};
    /* no header: every row is data */
    const char *p = write_text("nohdr.csv", "1,2,0\n3,4,1\n\n5,6,1\n");
    ck_assert_int_eq(bm_data_load_csv(&ds, p, NULL, BM_F64, &e), BM_OK);
    ck_assert_uint_eq(ds.x->shape[0], 3);
    ck_assert_uint_eq(ds.x->shape[1], 2);
    ck_assert_uint_eq(ds.n_classes, 2);
    ck_near(bm_tensor_get(ds.x, 4), 5.0, 0.0);
    bm_dataset_free(&ds);
    /* header: skipped; CRLF, comments, spaces and quotes are accepted */
    p = write_text("hdr.csv", "# a comment\r\n\"a\", b ,class\r\n  \r\n 1.5, \"2\" ,2\r\n3,-4e1,0\r\n");
    ck_assert_int_eq(bm_data_load_csv(&ds, p, NULL, BM_F32, &e), BM_OK);
    ck_assert_uint_eq(ds.x->shape[0], 2);
    ck_assert_uint_eq(ds.n_classes, 3);
    ck_near(bm_tensor_get(ds.x, 0), 1.5, 0.0);
    ck_near(bm_tensor_get(ds.x, 1), 2.0, 0.0);
    ck_near(bm_tensor_get(ds.x, 3), -40.0, 0.0);
    ck_near(bm_tensor_get(ds.y, 0), 2.0, 0.0);
    bm_dataset_free(&ds);
    /* header forced on a numeric first line: that line is dropped */
    bm_csv_opts o = bm_csv_defaults();
    o.header = 1;
    p = write_text("force.csv", "1,2,0\n3,4,1\n");
    ck_assert_int_eq(bm_data_load_csv(&ds, p, &o, BM_F64, &e), BM_OK);
    ck_assert_uint_eq(ds.x->shape[0], 1);
    bm_dataset_free(&ds);
    /* header off on a header file: the names are bad numbers */
    o.header = 0;
    p = write_text("nohdr2.csv", "a,b,c\n1,2,0\n");
    ck_err(bm_data_load_csv(&ds, p, &o, BM_F64, &e), e, BM_ERR_PARSE,
           "nohdr2.csv:1:1: expected a number, got 'a'");
    ck_assert_ptr_null(ds.x);
    o.header = 2;
    ck_err(bm_data_load_csv(&ds, p, &o, BM_F64, &e), e, BM_ERR_ARG, "header must be");
}
END_TEST

START_TEST(csv_named_label_column)
{
    bm_dataset ds = {0};
    bm_error e = {0};
    bm_csv_opts o = bm_csv_defaults();
    o.label_column = "species";
    const char *p = write_text("named.csv", "len,species,width\n1,2,3\n4,0,6\n");
    ck_assert_int_eq(bm_data_load_csv(&ds, p, &o, BM_F64, &e), BM_OK);
    ck_assert_uint_eq(ds.x->shape[1], 2);
    ck_assert_uint_eq(ds.n_classes, 3);
    ck_near(bm_tensor_get(ds.x, 0), 1.0, 0.0);
    ck_near(bm_tensor_get(ds.x, 1), 3.0, 0.0);
    ck_near(bm_tensor_get(ds.x, 3), 6.0, 0.0);
    ck_near(bm_tensor_get(ds.y, 0), 2.0, 0.0);
    ck_near(bm_tensor_get(ds.y, 1), 0.0, 0.0);
    bm_dataset_free(&ds);
    /* the fixture: a named regression target in the middle */
    o.label_column = "price";
    o.regression = 1;
    ck_assert_int_eq(bm_data_load_csv(&ds, BM_TEST_DATA "/data_tiny.csv", &o, BM_F64, &e), BM_OK);
    ck_assert_uint_eq(ds.x->shape[0], 4);
    ck_assert_uint_eq(ds.x->shape[1], 2);
    ck_assert_int_eq(ds.y->rank, 2);
    ck_near(bm_tensor_get(ds.y, 3), -0.25, 0.0);
    ck_near(bm_tensor_get(ds.x, 7), 8.0, 0.0);
    bm_dataset_free(&ds);
    /* unknown name; a name without a header */
    o.label_column = "nope";
    ck_err(bm_data_load_csv(&ds, p, &o, BM_F64, &e), e, BM_ERR_ARG, "no column named 'nope'");
    p = write_text("plain.csv", "1,2,0\n");
    ck_err(bm_data_load_csv(&ds, p, &o, BM_F64, &e), e, BM_ERR_ARG, "no header");
}
END_TEST

/* One malformed CSV: contents, expected status, expected message part. */
typedef struct bad_csv {
    const char *text;
    bm_status code;
    const char *msg;
} bad_csv;

START_TEST(csv_bad_files)
{
    static const bad_csv cases[] = {
        {"a,b,c\n1,,0\n", BM_ERR_PARSE, "bad.csv:2:2: missing value"},
        {"1,2,0\n1,2,0\n3,4\n", BM_ERR_PARSE, "bad.csv:3: expected 3 columns, got 2"},
        {"1,2,0\n1,2,3,0\n", BM_ERR_PARSE, "bad.csv:2: expected 3 columns, got 4"},
        {"x,y,l\n1,2,0\n\n1,2,0\n#c\n1,2,1\n1,2,abc\n", BM_ERR_PARSE,
         "bad.csv:7:3: expected a number, got 'abc'"},
        {"1,2,0\n1,2 3,0\n", BM_ERR_PARSE, "bad.csv:2:2: expected a number, got '2 3'"},
        {"1,2,0\n1,2,0\n1,2,0\n1,2,0\n1,nan,0\n", BM_ERR_PARSE, "bad.csv:5:2: value is not finite"},
        {"1,inf,0\n", BM_ERR_PARSE, "bad.csv:1:2: value is not finite"},
        {"1,1e999,0\n", BM_ERR_PARSE, "bad.csv:1:2: value is not finite"},
        {"1,2,-1\n", BM_ERR_PARSE, "bad.csv:1:3: class label must be an integer"},
        {"1,2,0.5\n", BM_ERR_PARSE, "bad.csv:1:3: class label must be an integer"},
        {"1,2,1e30\n", BM_ERR_PARSE, "bad.csv:1:3: class label must be an integer"},
        {"", BM_ERR_PARSE, "bad.csv: file is empty"},
        {"\n \n# only a comment\n", BM_ERR_PARSE, "file is empty"},
        {"a,b,label\n", BM_ERR_PARSE, "bad.csv:1: no data rows after the header"},
        {"1\n2\n", BM_ERR_PARSE, "bad.csv:1: expected at least 2 columns"},
        {"1,\"2,0\n", BM_ERR_PARSE, "bad.csv:1:2: unterminated quote"},
        {"1,\"2\"x,0\n", BM_ERR_PARSE, "bad.csv:1:2: text after a closing quote"},
        {"1,2,0\n1,\x01\xff,0\n", BM_ERR_PARSE, "bad.csv:2:2: expected a number, got '?\?'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bm_dataset ds = {0};
        bm_error e = {0};
        const char *p = write_text("bad.csv", cases[i].text);
        bm_status s = bm_data_load_csv(&ds, p, NULL, BM_F64, &e);
        ck_assert_msg(s == cases[i].code && strstr(e.msg, cases[i].msg),
                      "case %zu: status %s, message '%s', expected '%s'", i, bm_status_name(s),
                      e.msg, cases[i].msg);
        ck_assert_ptr_null(ds.x);
        ck_assert_ptr_null(ds.y);
    }
    /* a NUL byte inside a line */
    bm_dataset ds = {0};
    bm_error e = {0};
    const char *p = write_bytes("nul.csv", "1,2,0\n1,\0,0\n", 12, 0);
    ck_err(bm_data_load_csv(&ds, p, NULL, BM_F64, &e), e, BM_ERR_PARSE, "nul.csv:2: line holds a NUL");
    /* f32 overflow is not finite in f32 */
    p = write_text("big.csv", "1,1e300,0\n");
    ck_err(bm_data_load_csv(&ds, p, NULL, BM_F32, &e), e, BM_ERR_PARSE, "big.csv:1:2: value is not finite");
    ck_assert_int_eq(bm_data_load_csv(&ds, p, NULL, BM_F64, &e), BM_OK);
    bm_dataset_free(&ds);
    /* missing file */
    p = tmp_path("missing.csv", 0);
    ck_err(bm_data_load_csv(&ds, p, NULL, BM_F64, &e), e, BM_ERR_IO, "missing.csv: No such file");
    ck_err(bm_data_load_csv(&ds, NULL, NULL, BM_F64, &e), e, BM_ERR_NULL, NULL);
    /* a directory is not a CSV */
    bm_status s = bm_data_load_csv(&ds, tmp_dir, NULL, BM_F64, &e);
    ck_assert(s == BM_ERR_IO || s == BM_ERR_PARSE);
    ck_assert_ptr_null(ds.x);
}
END_TEST

START_TEST(csv_long_lines_and_garbage)
{
    /* one line of 20,000 columns: no fixed line length */
    const size_t cols = 20000;
    char *text = malloc(cols * 4 + 16);
    size_t pos = 0;
    for (size_t j = 0; j + 1 < cols; j++)
        pos += (size_t)sprintf(text + pos, "%zu,", j % 100);
    pos += (size_t)sprintf(text + pos, "1\n");
    bm_dataset ds = {0};
    bm_error e = {0};
    const char *p = write_bytes("wide.csv", text, pos, 0);
    ck_assert_int_eq(bm_data_load_csv(&ds, p, NULL, BM_F32, &e), BM_OK);
    ck_assert_uint_eq(ds.x->shape[1], cols - 1);
    ck_near(bm_tensor_get(ds.x, cols - 2), (double)((cols - 2) % 100), 0.0);
    bm_dataset_free(&ds);
    free(text);
    /* random bytes never crash: either data or an error with a message */
    bm_rng rng;
    bm_rng_seed(&rng, 2024);
    static const char alphabet[] = "0123456789,,,\n\n.-+e\" #\rnaiNf\t\x01";
    char buf[300];
    for (int it = 0; it < 400; it++) {
        size_t n = (size_t)bm_rng_below(&rng, sizeof buf);
        for (size_t i = 0; i < n; i++)
            buf[i] = it % 4 == 0 ? (char)bm_rng_below(&rng, 256)
                                 : alphabet[bm_rng_below(&rng, sizeof alphabet - 1)];
        p = write_bytes("fuzz.csv", buf, n, 0);
        bm_csv_opts o = bm_csv_defaults();
        o.regression = it % 2;
        e.msg[0] = '\0';
        bm_status s = bm_data_load_csv(&ds, p, &o, BM_F64, &e);
        if (s == BM_OK) {
            ck_assert_uint_eq(ds.x->shape[0], ds.y->shape[0]);
            bm_dataset_free(&ds);
        } else {
            ck_assert_ptr_nonnull(strstr(e.msg, "fuzz.csv"));
            ck_assert_ptr_null(ds.x);
        }
    }
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("data");
    TCase *gen_tc = tcase_create("generators");
    tcase_add_test(gen_tc, spiral_shapes_and_ranges);
    tcase_add_test(gen_tc, spiral_matches_formula);
    tcase_add_test(gen_tc, generators_deterministic_per_seed);
    tcase_add_test(gen_tc, vertical_blobs);
    tcase_add_test(gen_tc, sine_values);
    tcase_add_test(gen_tc, generator_bad_args);
    tcase_add_test(gen_tc, subset_copies_rows);
    suite_add_tcase(s, gen_tc);

    TCase *csv_tc = tcase_create("csv");
    tcase_add_unchecked_fixture(csv_tc, tmp_setup, tmp_teardown);
    tcase_add_test(csv_tc, csv_round_trip_bit_identical);
    tcase_add_test(csv_tc, csv_save_format);
    tcase_add_test(csv_tc, csv_header_auto_detect);
    tcase_add_test(csv_tc, csv_named_label_column);
    tcase_add_test(csv_tc, csv_bad_files);
    tcase_add_test(csv_tc, csv_long_lines_and_garbage);
    suite_add_tcase(s, csv_tc);
    return s;
}

int main(void) { return bm_test_run(make_suite()); }
