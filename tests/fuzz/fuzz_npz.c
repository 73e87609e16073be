#define _POSIX_C_SOURCE 200809L
/* fuzz_npz.c — libFuzzer harness for the .npz and .npy readers.
 *
 * Byte 0 picks the reader (bit 0: bm_npy_load, else bm_npz_read); the rest
 * is the file. A failure must leave nothing behind and name the file; a
 * success must give f32/f64 tensors of rank <= BM_MAX_RANK whose names
 * are set, and saving them again must read back the same names and bits. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <bmnn.h>
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static fuzz_file in = {"", -1}, again = {"", -1};

/* Do a and b hold the same dtype, shape and bits? */
static int same(const bm_tensor *a, const bm_tensor *b)
{
    if (a->dtype != b->dtype || a->rank != b->rank || a->size != b->size)
        return 0;
    for (int k = 0; k < a->rank; k++)
        if (a->shape[k] != b->shape[k])
            return 0;
    return memcmp(a->data, b->data, a->size * bm_dtype_size(a->dtype)) == 0;
}

static void check_tensor(const bm_tensor *t)
{
    FUZZ_REQUIRE(t && (t->dtype == BM_F32 || t->dtype == BM_F64), "dtype");
    FUZZ_REQUIRE(t->rank >= 0 && t->rank <= BM_MAX_RANK, "rank %d", t->rank);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    fuzz_file_open(&in, "fuzz-npz");
    fuzz_file_open(&again, "fuzz-npz-again");
    fuzz_file_write(&in, data + 1, size - 1);
    bm_error e = {0};
    if (data[0] & 1) {
        bm_tensor *t = bm_npy_load(in.path, &e);
        if (!t) {
            FUZZ_REQUIRE(e.code != BM_OK && strstr(e.msg, in.path), "message '%s'", e.msg);
            return 0;
        }
        check_tensor(t);
        FUZZ_REQUIRE(bm_npy_save(again.path, t, &e) == BM_OK, "save: %s", e.msg);
        bm_tensor *r = bm_npy_load(again.path, &e);
        FUZZ_REQUIRE(r && same(t, r), "npy round trip: %s", e.msg);
        bm_tensor_free(r);
        bm_tensor_free(t);
        return 0;
    }
    bm_npz z;
    bm_status s = bm_npz_read(in.path, &z, &e);
    if (s != BM_OK) {
        FUZZ_REQUIRE(e.code == s && strstr(e.msg, in.path), "message '%s'", e.msg);
        FUZZ_REQUIRE(z.n == 0 && !z.names && !z.tensors, "failed read left entries");
        return 0;
    }
    int savable = 1;
    for (size_t i = 0; i < z.n; i++) {
        check_tensor(z.tensors[i]);
        FUZZ_REQUIRE(z.names[i] != NULL, "name %zu", i);
        size_t k = strlen(z.names[i]);
        savable &= k > 0 && k <= BM_NPZ_MAX_NAME;
    }
    if (savable) {
        bm_npz r;
        FUZZ_REQUIRE(bm_npz_save(again.path, (const char *const *)z.names,
                                 (const bm_tensor *const *)z.tensors, z.n, &e) == BM_OK,
                     "save: %s", e.msg);
        FUZZ_REQUIRE(bm_npz_read(again.path, &r, &e) == BM_OK && r.n == z.n, "read: %s", e.msg);
        for (size_t i = 0; i < z.n; i++)
            FUZZ_REQUIRE(strcmp(r.names[i], z.names[i]) == 0 && same(r.tensors[i], z.tensors[i]),
                         "npz round trip, entry %zu", i);
        bm_npz_free(&r);
    }
    bm_npz_free(&z);
    return 0;
}
