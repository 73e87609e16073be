/* bm_npz.h — named tensors in NumPy's .npy and .npz formats, for models
 * built directly on the tape: np.load reads what bm_npz_save writes and
 * bm_npz_load / bm_npz_read read what np.save / np.savez write, values
 * bit for bit.
 *
 * .npy: format versions 1.0 (written), 1.0, 2.0 and 3.0 (read); dtype
 * float32 or float64 ('<f4', '<f8', or big-endian '>f4', '>f8', swapped
 * on reading), C order, rank 0..BM_MAX_RANK, no zero-length axis. .npz:
 * an uncompressed zip (method "stored", as np.savez writes; np.savez_compressed
 * files are refused) of NAME.npy entries, under 4 GiB (no ZIP64).
 *
 * Saving is atomic, as bm_model_save: a synced temp file renamed over
 * PATH. Reading checks everything and refuses a malformed file with a
 * message "FILE: ENTRY: what" (bad magic, unsupported dtype or Fortran
 * order, truncated data, absurd shapes, a bad CRC). Nothing here aborts.
 *
 * Ownership: tensors and names passed in stay the caller's; bm_npy_load
 * returns a tensor the caller frees with bm_tensor_free; bm_npz_read fills
 * a bm_npz the caller frees with bm_npz_free. */
#ifndef BM_NPZ_H
#define BM_NPZ_H

#include <stddef.h>
#include <stdint.h>

#include "bm_autograd.h"

#ifdef __cplusplus
extern "C" {
#endif
BM_API_BEGIN

/* Largest .npy or .npz file written or read (4 GiB - 1: zip without ZIP64). */
#define BM_NPZ_MAX_FILE_BYTES (((uint64_t)1 << 32) - 1)
/* Most entries of an .npz (a zip's 16-bit count). */
#define BM_NPZ_MAX_ENTRIES 65535
/* Longest tensor name (the entry is NAME.npy). */
#define BM_NPZ_MAX_NAME 1024

/* Everything an .npz holds: n entries, in the file's order. */
typedef struct bm_npz {
    size_t n;
    char **names;        /* entry names without ".npy", each malloc'd */
    bm_tensor **tensors; /* their tensors (F32 or F64, as in the file) */
} bm_npz;

/* Write t (F32 or F64) to path as one .npy file, atomically. */
bm_status bm_npy_save(const char *path, const bm_tensor *t, bm_error *err);
/* Read a .npy file into a new tensor the caller frees with bm_tensor_free;
 * NULL with err set on any problem. */
bm_tensor *bm_npy_load(const char *path, bm_error *err);

/* Write n tensors to path as an .npz, entry names[i] + ".npy" for
 * tensors[i] (names non-empty, unique, at most BM_NPZ_MAX_NAME bytes, no
 * NUL; n >= 1), atomically: np.load(path)[names[i]] is tensors[i]. */
bm_status bm_npz_save(const char *path, const char *const *names, const bm_tensor *const *tensors,
                      size_t n, bm_error *err);
/* Read the entries names[0..n) of the .npz at path into tensors[i]'s data:
 * each must be there with tensors[i]'s dtype and shape (entries not named
 * are ignored). Nothing is changed on error. */
bm_status bm_npz_load(const char *path, const char *const *names, bm_tensor *const *tensors,
                      size_t n, bm_error *err);
/* Read every entry of the .npz at path into *out (zeroed first; freed and
 * zeroed again on error). */
bm_status bm_npz_read(const char *path, bm_npz *out, bm_error *err);
/* The tensor named name in z (NULL when there is none). */
bm_tensor *bm_npz_find(const bm_npz *z, const char *name);
/* Free what bm_npz_read filled and zero *z; NULL and a zeroed z are fine. */
void bm_npz_free(bm_npz *z);

BM_API_END
#ifdef __cplusplus
}
#endif
#endif
