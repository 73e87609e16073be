#define _POSIX_C_SOURCE 200809L
/* fuzz_idx.c — libFuzzer harness for the IDX (MNIST) loader.
 *
 * Byte 0 is the length L of the labels part, byte 1 picks the scale and the
 * dtype; of the rest, the last min(L, rest) bytes are the label file and
 * the bytes before them the image file. Both go to per-process temp files
 * and bm_data_load_idx() loads them. A failure must leave the data set
 * empty and name a file; a success must give x [N, rows*cols] in the scale's
 * range and N labels below n_classes. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <bmnn.h>
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static fuzz_file images = {"", -1}, labels = {"", -1};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    fuzz_file_open(&images, "fuzz-images");
    fuzz_file_open(&labels, "fuzz-labels");
    size_t rest = size - 2, nl = data[0] < rest ? data[0] : rest;
    bm_idx_scale scale = data[1] & 1 ? BM_IDX_SYMMETRIC : BM_IDX_UNIT;
    bm_dtype dt = data[1] & 2 ? BM_F64 : BM_F32;
    fuzz_file_write(&images, data + 2, rest - nl);
    fuzz_file_write(&labels, data + 2 + rest - nl, nl);

    bm_dataset ds = {0};
    bm_error e = {0};
    bm_status s = bm_data_load_idx(&ds, images.path, labels.path, scale, dt, &e);
    if (s != BM_OK) {
        FUZZ_REQUIRE(e.code == s, "status %d, err %d", (int)s, (int)e.code);
        FUZZ_REQUIRE(ds.x == NULL && ds.y == NULL, "failed load left tensors");
        FUZZ_REQUIRE(strstr(e.msg, images.path) || strstr(e.msg, labels.path),
                     "message names no file: '%s'", e.msg);
        return 0;
    }
    size_t n = ds.x->shape[0];
    FUZZ_REQUIRE(ds.x->rank == 2 && ds.y->rank == 1 && ds.y->shape[0] == n, "shapes");
    FUZZ_REQUIRE(16 + ds.x->size == rest - nl && 8 + n == nl, "sizes do not match the files");
    double lo = scale == BM_IDX_SYMMETRIC ? -1.0 : 0.0;
    for (size_t i = 0; i < ds.x->size; i++) {
        double v = bm_tensor_get(ds.x, i);
        FUZZ_REQUIRE(v >= lo && v <= 1.0, "pixel %zu = %g", i, v);
    }
    for (size_t i = 0; i < n; i++)
        FUZZ_REQUIRE(bm_tensor_get(ds.y, i) < (double)ds.n_classes, "label %zu", i);
    bm_dataset_free(&ds);
    return 0;
}
