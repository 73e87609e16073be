#define _POSIX_C_SOURCE 200809L
/* fuzz_csv.c — libFuzzer harness for the CSV loader.
 *
 * Byte 0 picks the options (header -1/0/1, classification or regression,
 * f32 or f64, label column by name or last); the rest is written to a
 * per-process temp file and loaded with bm_data_load_csv(). A failure must
 * leave the data set empty and name the file. A data set that loads must
 * hold finite values of consistent shapes, and save → load must give the
 * same tensors bit for bit. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <bmnn.h>
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static fuzz_file in_file = {"", -1}, out_file = {"", -1};

static void same_tensor(const bm_tensor *a, const bm_tensor *b, const char *what)
{
    FUZZ_REQUIRE(bm_tensor_same_shape(a, b) && a->rank == b->rank, "%s: shapes differ", what);
    FUZZ_REQUIRE(memcmp(a->data, b->data, a->size * bm_dtype_size(a->dtype)) == 0,
                 "%s: values differ after save -> load", what);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    fuzz_file_open(&in_file, "fuzz-csv");
    fuzz_file_open(&out_file, "fuzz-csv-out");
    unsigned flags = data[0];
    bm_csv_opts o = bm_csv_defaults();
    o.header = (int)(flags % 3) - 1;
    o.regression = (flags >> 2) & 1;
    o.label_column = (flags >> 4) & 1 ? "label" : NULL;
    bm_dtype dt = (flags >> 3) & 1 ? BM_F64 : BM_F32;
    fuzz_file_write(&in_file, data + 1, size - 1);

    bm_dataset ds = {0};
    bm_error e = {0};
    bm_status s = bm_data_load_csv(&ds, in_file.path, &o, dt, &e);
    if (s != BM_OK) {
        FUZZ_REQUIRE(e.code == s, "status %d, err %d", (int)s, (int)e.code);
        FUZZ_REQUIRE(ds.x == NULL && ds.y == NULL, "failed load left tensors");
        FUZZ_REQUIRE(strstr(e.msg, in_file.path) != NULL, "message lacks the file: '%s'", e.msg);
        return 0;
    }
    size_t rows = ds.x->shape[0];
    FUZZ_REQUIRE(ds.x->rank == 2 && rows > 0 && ds.y->shape[0] == rows, "shapes");
    FUZZ_REQUIRE(o.regression ? ds.n_classes == 0 && ds.y->rank == 2 : ds.y->rank == 1,
                 "label shape");
    for (size_t i = 0; i < ds.x->size; i++)
        FUZZ_REQUIRE(isfinite(bm_tensor_get(ds.x, i)), "x[%zu] not finite", i);
    for (size_t i = 0; i < ds.y->size; i++) {
        double v = bm_tensor_get(ds.y, i);
        FUZZ_REQUIRE(isfinite(v), "y[%zu] not finite", i);
        if (!o.regression)
            FUZZ_REQUIRE(v >= 0 && v == floor(v) && v < (double)ds.n_classes, "label %g", v);
    }
    /* save -> load gives the same tensors (label written last, header on) */
    s = bm_data_save_csv(&ds, out_file.path, &e);
    FUZZ_REQUIRE(s == BM_OK, "save failed: %s", e.msg);
    bm_csv_opts back_o = bm_csv_defaults();
    back_o.header = 1;
    back_o.regression = o.regression;
    bm_dataset back = {0};
    s = bm_data_load_csv(&back, out_file.path, &back_o, dt, &e);
    FUZZ_REQUIRE(s == BM_OK, "reload failed: %s", e.msg);
    same_tensor(ds.x, back.x, "x");
    same_tensor(ds.y, back.y, "y");
    FUZZ_REQUIRE(ds.n_classes == back.n_classes, "n_classes %zu vs %zu", ds.n_classes,
                 back.n_classes);
    bm_dataset_free(&back);
    bm_dataset_free(&ds);
    return 0;
}
