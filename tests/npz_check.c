/* npz_check.c — the C side of tests/npz_check.py (NumPy interop):
 *   npz_check write F.npz | read F.npz | npy-write F.npy | npy-read F.npy
 * write: saves a fixed set of tensors; read: loads a file. Either way it
 * prints one line per tensor, "name|dtype|d0,d1,...|bits bits ..." (each
 * element's IEEE bits in hex), for the script to compare with NumPy's. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <bmnn.h>

/* Elements of the test tensors. */
#define N_B 5
/* The value of the small tensors. */
#define PI 3.14159265358979323846

/* Print an error; returns 1. */
static int fail(const char *msg)
{
    fprintf(stderr, "%s\n", msg);
    return 1;
}

static void print_tensor(const char *name, const bm_tensor *t)
{
    printf("%s|%s|", name, bm_dtype_name(t->dtype));
    for (int k = 0; k < t->rank; k++)
        printf(k ? ",%zu" : "%zu", t->shape[k]);
    putchar('|');
    for (size_t i = 0; i < t->size; i++) {
        if (t->dtype == BM_F32) {
            uint32_t u;
            memcpy(&u, (const float *)t->data + i, sizeof u);
            printf(i ? " %08" PRIx32 : "%08" PRIx32, u);
        } else {
            uint64_t u;
            memcpy(&u, (const double *)t->data + i, sizeof u);
            printf(i ? " %016" PRIx64 : "%016" PRIx64, u);
        }
    }
    putchar('\n');
}

/* Values that catch a lost bit: signs, -0, a subnormal, extremes, randoms. */
static void fill(bm_tensor *t, bm_rng *rng)
{
    for (size_t i = 0; i < t->size; i++)
        bm_tensor_set(t, i, bm_rng_normal(rng) * pow(10.0, (double)(i % 7) - 3.0));
    bm_tensor_set(t, 0, -0.0);
    bm_tensor_set(t, 1, t->dtype == BM_F32 ? 1e-40 : 1e-310);
    bm_tensor_set(t, 2, t->dtype == BM_F32 ? 3.4e38 : 1.7e308);
}

static int write_set(const char *path, int npy)
{
    bm_error e = {0};
    bm_rng rng;
    bm_rng_seed(&rng, 7);
    size_t sw[2] = {3, 4}, sb[1] = {N_B}, st[4] = {2, 1, 3, 2};
    bm_tensor *t[4] = {bm_tensor_new(BM_F32, 2, sw, &e), bm_tensor_new(BM_F64, 1, sb, &e),
                       bm_tensor_new(BM_F64, 0, NULL, &e), bm_tensor_new(BM_F32, 4, st, &e)};
    const char *names[4] = {"w1", "b1", "scalar", "layer.t4"};
    int rc = 0;
    for (int k = 0; k < 4; k++) {
        if (!t[k])
            return fail(e.msg);
        if (t[k]->size > 2)
            fill(t[k], &rng);
        else
            bm_tensor_set(t[k], 0, PI);
    }
    bm_status s = npy ? bm_npy_save(path, t[0], &e)
                      : bm_npz_save(path, names, (const bm_tensor *const *)t, 4, &e);
    if (s != BM_OK) {
        fprintf(stderr, "%s\n", e.msg);
        rc = 1;
    }
    for (int k = 0; rc == 0 && k < (npy ? 1 : 4); k++)
        print_tensor(npy ? "array" : names[k], t[k]);
    for (int k = 0; k < 4; k++)
        bm_tensor_free(t[k]);
    return rc;
}

int main(int argc, char **argv)
{
    bm_error e = {0};
    if (argc != 3)
        return 2 * fail("usage: npz_check write|read|npy-write|npy-read FILE");
    if (strcmp(argv[1], "write") == 0 || strcmp(argv[1], "npy-write") == 0)
        return write_set(argv[2], argv[1][0] == 'n');
    if (strcmp(argv[1], "npy-read") == 0) {
        bm_tensor *t = bm_npy_load(argv[2], &e);
        if (!t)
            return fail(e.msg);
        print_tensor("array", t);
        bm_tensor_free(t);
        return 0;
    }
    bm_npz z;
    if (bm_npz_read(argv[2], &z, &e) != BM_OK)
        return fail(e.msg);
    for (size_t i = 0; i < z.n; i++)
        print_tensor(z.names[i], z.tensors[i]);
    bm_npz_free(&z);
    return 0;
}
