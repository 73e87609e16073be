#define _POSIX_C_SOURCE 200809L
/* test_data_idx.c — IDX (MNIST) files: loading and scaling, every malformed
 * header and size, and real MNIST files when BM_MNIST_DIR names them (the
 * data_idx_mnist test: a skip without them). */
#include "test_data_files.h"

/* ------------------------------------------------------------------- IDX */

/* 3 images of 2x3 and their labels. */
static const unsigned char px3[18] = {0, 255, 127, 128, 1, 254, 10, 20, 30, 40, 50, 60, 255, 0, 255, 0, 255, 0};
static const unsigned char lb3[3] = {7, 0, 2};

START_TEST(idx_load_and_scale)
{
    const char *ip = write_idx_images("img.idx", 0x803, 3, 2, 3, px3, sizeof px3);
    const char *lp = write_idx_labels("lbl.idx", 0x801, 3, lb3, sizeof lb3);
    for (int dt = BM_F32; dt <= BM_F64; dt++) {
        bm_dataset ds = {0};
        bm_error e = {0};
        ck_assert_int_eq(bm_data_load_idx(&ds, ip, lp, BM_IDX_UNIT, (bm_dtype)dt, &e), BM_OK);
        ck_assert_int_eq(ds.x->rank, 2);
        ck_assert_uint_eq(ds.x->shape[0], 3);
        ck_assert_uint_eq(ds.x->shape[1], 6);
        ck_assert_int_eq(ds.y->rank, 1);
        ck_assert_uint_eq(ds.y->shape[0], 3);
        ck_assert_uint_eq(ds.n_classes, 10);
        double tol = dt == BM_F32 ? 1e-7 : 0.0;
        for (size_t i = 0; i < 18; i++)
            ck_near(bm_tensor_get(ds.x, i), px3[i] / 255.0, tol);
        for (size_t i = 0; i < 3; i++)
            ck_near(bm_tensor_get(ds.y, i), lb3[i], 0.0);
        bm_dataset_free(&ds);

        ck_assert_int_eq(bm_data_load_idx(&ds, ip, lp, BM_IDX_SYMMETRIC, (bm_dtype)dt, &e), BM_OK);
        for (size_t i = 0; i < 18; i++) {
            double v = bm_tensor_get(ds.x, i);
            ck_near(v, (px3[i] - 127.5) / 127.5, tol);
            ck_assert(v >= -1.0 && v <= 1.0);
        }
        ck_near(bm_tensor_get(ds.x, 0), -1.0, 0.0);
        ck_near(bm_tensor_get(ds.x, 1), 1.0, 0.0);
        bm_dataset_free(&ds);
    }
    /* a label above 9 widens n_classes */
    const unsigned char lb_big[3] = {0, 12, 3};
    lp = write_idx_labels("lbl12.idx", 0x801, 3, lb_big, 3);
    bm_dataset ds = {0};
    ck_assert_int_eq(bm_data_load_idx(&ds, ip, lp, BM_IDX_UNIT, BM_F32, NULL), BM_OK);
    ck_assert_uint_eq(ds.n_classes, 13);
    bm_dataset_free(&ds);
}
END_TEST

/* A conv2d model of input shape [1,2,3]: 2 channels of 2x2, flatten, 10 classes. */
static bm_model *conv_model(void)
{
    bm_error e = {0};
    bm_model *m = bm_model_new(BM_F64, 6, &e);
    bm_shape img = {.rank = 3, .dim = {1, 2, 3}};
    ck_assert_int_eq(bm_model_set_input_shape(m, &img, &e), BM_OK);
    bm_layer_spec conv = bm_layer_default(BM_LAYER_CONV2D);
    conv.out = 2;
    conv.kernel[0] = conv.kernel[1] = 2;
    bm_layer_spec flat = bm_layer_default(BM_LAYER_FLATTEN), dense = bm_dense_spec(0, 10);
    bm_optim_config c = bm_optim_defaults(BM_OPT_ADAM);
    ck_assert_msg(bm_model_add(m, &conv, &e) == BM_OK, "%s", e.msg);
    ck_assert_msg(bm_model_add(m, &flat, &e) == BM_OK, "%s", e.msg);
    ck_assert_msg(bm_model_add(m, &dense, &e) == BM_OK, "%s", e.msg);
    ck_assert_int_eq(bm_model_set_loss(m, BM_LOSS_SOFTMAX_CCE, &e), BM_OK);
    ck_assert_int_eq(bm_model_set_optimizer(m, &c, &e), BM_OK);
    ck_assert_int_eq(bm_model_init(m, 4, &e), BM_OK);
    return m;
}

START_TEST(idx_nchw_layout)
{
    const char *ip = write_idx_images("img4.idx", 0x803, 3, 2, 3, px3, sizeof px3);
    const char *lp = write_idx_labels("lbl4.idx", 0x801, 3, lb3, sizeof lb3);
    bm_dataset flat = {0}, nchw = {0}, alone = {0};
    bm_error e = {0};
    ck_assert_int_eq(bm_data_load_idx(&flat, ip, lp, BM_IDX_UNIT, BM_F64, &e), BM_OK);
    ck_assert_int_eq(bm_data_load_idx_as(&nchw, ip, lp, BM_IDX_UNIT, BM_IDX_NCHW, BM_F64, &e),
                     BM_OK);
    ck_assert_int_eq(nchw.x->rank, 4);
    const size_t want[4] = {3, 1, 2, 3};
    for (int k = 0; k < 4; k++)
        ck_assert_uint_eq(nchw.x->shape[k], want[k]);
    for (size_t i = 0; i < 18; i++) /* the same values in the same order */
        ck_near(bm_tensor_get(nchw.x, i), px3[i] / 255.0, 0.0);
    ck_assert_int_eq(nchw.y->rank, 1);
    ck_assert_uint_eq(nchw.n_classes, 10);
    ck_assert_int_eq(bm_data_load_idx_as(&alone, ip, NULL, BM_IDX_SYMMETRIC, BM_IDX_NCHW,
                                         BM_F32, &e), BM_OK);
    ck_assert_int_eq(alone.x->rank, 4);
    ck_assert_ptr_null(alone.y);
    bm_dataset_free(&alone);
    ck_assert_int_eq(bm_data_load_idx_as(&alone, ip, lp, BM_IDX_UNIT, (bm_idx_layout)2, BM_F64,
                                         &e), BM_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(e.msg, "unknown layout 2"));
    ck_assert_ptr_null(alone.x);
    /* a conv model of input [1,2,3] trains and predicts the same on both layouts */
    bm_model *a = conv_model(), *b = conv_model();
    bm_fit_opts o = bm_fit_defaults();
    o.epochs = 3;
    o.batch_size = 2;
    ck_assert_msg(bm_model_fit(a, &flat, &o, &e) == BM_OK, "%s", e.msg);
    ck_assert_msg(bm_model_fit(b, &nchw, &o, &e) == BM_OK, "%s", e.msg);
    bm_tensor *pa = NULL, *pb = NULL;
    ck_assert_int_eq(bm_model_predict(a, flat.x, &pa, &e), BM_OK);
    ck_assert_int_eq(bm_model_predict(b, nchw.x, &pb, &e), BM_OK);
    ck_assert_uint_eq(pa->size, 30);
    ck_assert_uint_eq(pb->size, 30);
    for (size_t i = 0; i < 30; i++)
        ck_near(bm_tensor_get(pb, i), bm_tensor_get(pa, i), 0.0);
    double la = 0.0, lb = 1.0;
    ck_assert_int_eq(bm_model_evaluate(a, &flat, &la, NULL, &e), BM_OK);
    ck_assert_int_eq(bm_model_evaluate(b, &nchw, &lb, NULL, &e), BM_OK);
    ck_near(lb, la, 0.0);
    bm_tensor_free(pa);
    bm_tensor_free(pb);
    bm_model_free(a);
    bm_model_free(b);
    bm_dataset_free(&flat);
    bm_dataset_free(&nchw);
}
END_TEST

START_TEST(idx_bad_files)
{
    bm_dataset ds = {0};
    bm_error e = {0};
    char good_l[512], good_i[512]; /* copies: the path slots get reused */
    snprintf(good_l, sizeof good_l, "%s", write_idx_labels("l.idx", 0x801, 3, lb3, 3));
    /* truncated images: one pixel short */
    const char *ip = write_idx_images("trunc-images", 0x803, 3, 2, 3, px3, 17);
    ck_err(bm_data_load_idx(&ds, ip, good_l, BM_IDX_UNIT, BM_F32, &e), e, BM_ERR_PARSE,
           "trunc-images: header says 3 images of 2x3 but the file holds 33 bytes");
    /* one byte too many is also wrong */
    unsigned char px19[19] = {0};
    ip = write_idx_images("long-images", 0x803, 3, 2, 3, px19, 19);
    ck_err(bm_data_load_idx(&ds, ip, good_l, BM_IDX_UNIT, BM_F32, &e), e, BM_ERR_PARSE, "long-images");
    /* truncated header */
    ip = write_bytes("short-header", "\0\0\x08\x03\0\0", 6, 1);
    ck_err(bm_data_load_idx(&ds, ip, good_l, BM_IDX_UNIT, BM_F32, &e), e, BM_ERR_PARSE,
           "short-header: file holds 6 bytes, too short");
    /* wrong magic, both files */
    ip = write_idx_images("magic-images", 0x801, 3, 2, 3, px3, 18);
    ck_err(bm_data_load_idx(&ds, ip, good_l, BM_IDX_UNIT, BM_F32, &e), e, BM_ERR_PARSE,
           "magic-images: bad magic 0x00000801, expected 0x00000803");
    snprintf(good_i, sizeof good_i, "%s", write_idx_images("i.idx", 0x803, 3, 2, 3, px3, 18));
    const char *lp = write_idx_labels("magic-labels", 0x803, 3, lb3, 3);
    ck_err(bm_data_load_idx(&ds, good_i, lp, BM_IDX_UNIT, BM_F32, &e), e, BM_ERR_PARSE,
           "magic-labels: bad magic 0x00000803, expected 0x00000801");
    /* count mismatch between images and labels */
    const unsigned char lb2[2] = {1, 2};
    lp = write_idx_labels("two-labels", 0x801, 2, lb2, 2);
    ck_err(bm_data_load_idx(&ds, good_i, lp, BM_IDX_UNIT, BM_F32, &e), e, BM_ERR_PARSE,
           "holds 3 images but");
    ck_assert_ptr_nonnull(strstr(e.msg, "two-labels holds 2 labels"));
    /* truncated label file */
    lp = write_idx_labels("trunc-labels", 0x801, 3, lb3, 2);
    ck_err(bm_data_load_idx(&ds, good_i, lp, BM_IDX_UNIT, BM_F32, &e), e, BM_ERR_PARSE,
           "trunc-labels: header says 3 labels but the file holds 10 bytes");
    /* zero dimension */
    ip = write_idx_images("zero-images", 0x803, 3, 0, 3, px3, 0);
    ck_err(bm_data_load_idx(&ds, ip, good_l, BM_IDX_UNIT, BM_F32, &e), e, BM_ERR_PARSE,
           "zero-images: dimension 1 is 0");
    /* a header claiming 10^12 pixels (10^6 images of 1000x1000) in 139 bytes:
     * refused by the size check (parse), never reaching an allocation (nomem) */
    unsigned char junk[123] = {0};
    ip = write_idx_images("train-images.idx3-ubyte", 0x803, 1000000, 1000, 1000, junk, 123);
    ck_err(bm_data_load_idx(&ds, ip, good_l, BM_IDX_UNIT, BM_F64, &e), e, BM_ERR_PARSE,
           "train-images.idx3-ubyte: header says 1000000 images of 1000x1000 but the file "
           "holds 139 bytes");
    /* the largest header: 2^32-1 images of (2^32-1)^2 pixels overflows 64 bits */
    ip = write_idx_images("max-images", 0x803, UINT32_MAX, UINT32_MAX, UINT32_MAX, junk, 123);
    ck_err(bm_data_load_idx(&ds, ip, good_l, BM_IDX_UNIT, BM_F64, &e), e, BM_ERR_PARSE,
           "max-images: header says 4294967295 images of 4294967295x4294967295");
    /* labels claiming 4 billion entries */
    lp = write_idx_labels("huge-labels", 0x801, UINT32_MAX, lb3, 3);
    ck_err(bm_data_load_idx(&ds, good_i, lp, BM_IDX_UNIT, BM_F64, &e), e, BM_ERR_PARSE,
           "huge-labels: header says 4294967295 labels");
    /* missing files, NULL paths, bad scale */
    ck_err(bm_data_load_idx(&ds, tmp_path("none-images", 3), good_l, BM_IDX_UNIT, BM_F32, &e), e,
           BM_ERR_IO, "none-images: No such file");
    ck_err(bm_data_load_idx(&ds, good_i, tmp_path("none-labels", 3), BM_IDX_UNIT, BM_F32, &e), e,
           BM_ERR_IO, "none-labels: No such file");
    ck_err(bm_data_load_idx(&ds, NULL, good_l, BM_IDX_UNIT, BM_F32, &e), e, BM_ERR_NULL, NULL);
    /* no label file: the images alone, to predict on */
    ck_assert_int_eq(bm_data_load_idx(&ds, good_i, NULL, BM_IDX_UNIT, BM_F32, &e), BM_OK);
    ck_assert_ptr_nonnull(ds.x);
    ck_assert_ptr_null(ds.y);
    ck_assert_uint_eq(ds.n_classes, 0);
    bm_dataset_free(&ds);
    ck_err(bm_data_load_idx(&ds, good_i, good_l, (bm_idx_scale)5, BM_F32, &e), e, BM_ERR_ARG, NULL);
    ck_err(bm_data_load_idx(&ds, tmp_dir, good_l, BM_IDX_UNIT, BM_F32, &e), e, BM_ERR_IO,
           "not a regular file");
    ck_assert_ptr_null(ds.x);
    ck_assert_ptr_null(ds.y);
}
END_TEST

/* The files tools/fetch_mnist.sh writes, in the folder BM_MNIST_DIR names. */
static int mnist_paths(char *ip, char *lp, size_t len)
{
    const char *dir = getenv("BM_MNIST_DIR");
    if (!dir)
        return 0;
    snprintf(ip, len, "%s/train-images-idx3-ubyte", dir);
    snprintf(lp, len, "%s/train-labels-idx1-ubyte", dir);
    return access(ip, R_OK) == 0 && access(lp, R_OK) == 0;
}

/* In case "mnist", only where mnist_paths finds the files. */
START_TEST(idx_real_mnist)
{
    char ip[512], lp[512];
    ck_assert(mnist_paths(ip, lp, sizeof ip));
    bm_dataset ds = {0};
    bm_error e = {0};
    ck_assert_msg(bm_data_load_idx(&ds, ip, lp, BM_IDX_UNIT, BM_F32, &e) == BM_OK, "%s", e.msg);
    ck_assert_uint_eq(ds.x->shape[1], 784);
    ck_assert_uint_eq(ds.n_classes, 10);
    size_t count[10] = {0};
    for (size_t i = 0; i < ds.y->size; i++)
        count[(size_t)bm_tensor_get(ds.y, i)]++;
    for (size_t c = 0; c < 10; c++)
        ck_assert_uint_gt(count[c], ds.y->size / 20);
    bm_dataset_free(&ds);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("data_idx");
    TCase *idx_tc = tcase_create("idx");
    tcase_add_unchecked_fixture(idx_tc, tmp_setup, tmp_teardown);
    tcase_add_test(idx_tc, idx_load_and_scale);
    tcase_add_test(idx_tc, idx_nchw_layout);
    tcase_add_test(idx_tc, idx_bad_files);
    suite_add_tcase(s, idx_tc);
    char ip[512], lp[512];
    if (mnist_paths(ip, lp, sizeof ip)) { /* else data_idx_mnist reports a skip */
        TCase *mnist = bm_test_case_needing("mnist");
        tcase_add_test(mnist, idx_real_mnist);
        suite_add_tcase(s, mnist);
    }
    return s;
}

int main(void)
{
    char ip[512], lp[512];
    if (bm_test_missing("mnist", mnist_paths(ip, lp, sizeof ip),
                        "BM_MNIST_DIR naming tools/fetch_mnist.sh's files"))
        return BM_TEST_SKIP;
    return bm_test_run(make_suite());
}
