/* npz_internal.h — what the .npy coder (npy.c) and the .npz zip layer
 * (npz.c) share (not installed). */
#ifndef BM_NPZ_INTERNAL_H
#define BM_NPZ_INTERNAL_H

#include "bm_npz.h"

/* The bytes of a .npy file holding t (F32 or F64; format 1.0, the host's
 * byte order) into *out (malloc'd, the caller frees it) and *len. what
 * names the file or entry in messages. */
bm_status bm_npy_encode(const bm_tensor *t, unsigned char **out, size_t *len, const char *what,
                        bm_error *err);
/* A new tensor from the .npy bytes p[0..len), checked; messages are
 * "WHAT: what is wrong". */
bm_tensor *bm_npy_decode(const unsigned char *p, size_t len, const char *what, bm_error *err);
/* Read the file at path (at most BM_NPZ_MAX_FILE_BYTES) into *out
 * (malloc'd) and *len. */
bm_status bm_npz_slurp(const char *path, unsigned char **out, size_t *len, bm_error *err);

#endif
