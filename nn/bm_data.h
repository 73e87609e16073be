/* bm_data.h — data sets: generators (spiral, vertical, sine), a CSV loader
 * and saver, an IDX (MNIST) loader, and row subsets.
 *
 * Ownership in one paragraph: every function that fills a bm_dataset makes
 * new caller-owned tensors for x and y; free them together with
 * bm_dataset_free(). Filling overwrites *ds without freeing what it held, so
 * free an old data set first. On failure *ds is left zeroed (safe to free)
 * and nothing leaks. Nothing here aborts or exits the process: every call returns
 * a bm_status and, where given a bm_error, a message naming the file, line
 * and column when there is one ("data.csv:7:3: expected a number, got 'abc'"). */
#ifndef BM_DATA_H
#define BM_DATA_H

#include "bm_autograd.h"

#ifdef __cplusplus
extern "C" {
#endif
BM_API_BEGIN

/* A data set: N rows of features and their labels or targets. */
typedef struct bm_dataset {
    bm_tensor *x;      /* [N, F] features, owned by the data set */
    bm_tensor *y;      /* class labels [N] stored as numbers 0..K-1 when n_classes > 0
                          (one-hot rows [N, K] are accepted by the model too); else
                          targets [N, T]; text windows (bm_text.h) hold token ids
                          [N, T] with n_classes the vocabulary; owned by the data set */
    size_t n_classes;  /* 0 for regression / multi-output targets */
} bm_dataset;

/* ------------------------------------------------------------ generators */

/* nnfs spiral_data: `classes` arms of samples_per_class points each, x [N,2]
 * with radius <= 1, y [N] class numbers. Draws from rng (same seed, same data).
 * Fills *ds with new tensors the caller frees with bm_dataset_free. */
bm_status bm_data_spiral(bm_dataset *ds, size_t samples_per_class, size_t classes,
                         bm_dtype dt, bm_rng *rng, bm_error *err);
/* nnfs vertical_data: per class c, blobs around (c/3, 0.5) with std 0.1.
 * Fills *ds with new tensors the caller frees with bm_dataset_free. */
bm_status bm_data_vertical(bm_dataset *ds, size_t samples_per_class, size_t classes,
                           bm_dtype dt, bm_rng *rng, bm_error *err);
/* nnfs sine_data: x [N,1] = i/N, y [N,1] = sin(2*pi*x), n_classes 0.
 * Fills *ds with new tensors the caller frees with bm_dataset_free. */
bm_status bm_data_sine(bm_dataset *ds, size_t samples, bm_dtype dt, bm_error *err);

/* ------------------------------------------------------------------- CSV */

/* Largest CSV file read (4 GiB): a larger file is refused from its size,
 * unread; one that grows past it while read stops with BM_ERR_SIZE there. */
#define BM_CSV_MAX_FILE_BYTES ((uint64_t)1 << 32)
/* Longest CSV line (64 MiB, room for BM_CSV_MAX_COLUMNS fields of 64
 * bytes); a longer one stops with BM_ERR_SIZE as soon as it passes it. */
#define BM_CSV_MAX_LINE_BYTES ((size_t)1 << 26)
/* Most fields on one CSV line (2^20); a line with more is BM_ERR_SIZE. */
#define BM_CSV_MAX_COLUMNS ((size_t)1 << 20)

/* How bm_data_load_csv reads a file; start from bm_csv_defaults(). */
typedef struct bm_csv_opts {
    int header;               /* -1 auto-detect (a non-numeric field on the first
                                 line), 0 no header, 1 first line is a header */
    const char *label_column; /* NULL: last column; else a header name (not owned) */
    int regression;           /* 1: label is a numeric target, n_classes=0, y [N,1] */
    int no_label;             /* 1: every column is a feature: x [N, columns], y NULL,
                                 n_classes 0 (data to predict on; label_column unused) */
} bm_csv_opts;

/* Defaults: auto-detect the header, label in the last column, classification. */
bm_csv_opts bm_csv_defaults(void);
/* Load a CSV of numbers: one row per line, fields split by ',' (optionally
 * "quoted"), blank lines and lines starting with '#' skipped. Classification
 * labels must be non-negative integers (n_classes = largest + 1). o may be
 * NULL for the defaults. Fills *ds with new tensors the caller frees with
 * bm_dataset_free. Errors: BM_ERR_IO (cannot open/read), BM_ERR_PARSE (bad
 * contents, with file:line:column), BM_ERR_ARG (unknown label column),
 * BM_ERR_SIZE (over BM_CSV_MAX_FILE_BYTES, BM_CSV_MAX_LINE_BYTES or
 * BM_CSV_MAX_COLUMNS). Only regular files are read: a FIFO, device or
 * directory is BM_ERR_IO ("data.csv: is a FIFO, not a regular file"),
 * without blocking. */
bm_status bm_data_load_csv(bm_dataset *ds, const char *path, const bm_csv_opts *o,
                           bm_dtype dt, bm_error *err);
/* Write ds as CSV: header x0,x1,...,label (or y0,y1,... for targets), values
 * with %.17g so they read back bit-identically, atomically (bm_file.h: an
 * existing file is replaced whole or not at all). ds stays the caller's. */
bm_status bm_data_save_csv(const bm_dataset *ds, const char *path, bm_error *err);

/* ------------------------------------------------------------- IDX/MNIST */

/* How pixel bytes 0..255 are scaled. */
typedef enum bm_idx_scale {
    BM_IDX_UNIT = 0,     /* v / 255 in [0, 1] */
    BM_IDX_SYMMETRIC = 1 /* (v - 127.5) / 127.5 in [-1, 1] */
} bm_idx_scale;

/* Load an IDX image file (magic 0x00000803, uint8, N x rows x cols) and its
 * label file (magic 0x00000801, N bytes): x [N, rows*cols] scaled, y [N],
 * n_classes = max(10, largest label + 1); labels_path NULL: the images
 * alone, y NULL and n_classes 0 (data to predict on). Sizes are checked
 * against the file sizes before anything is allocated; both must be regular
 * files (a FIFO or device is BM_ERR_IO, without blocking). Fills *ds with new
 * tensors the caller frees with bm_dataset_free. */
bm_status bm_data_load_idx(bm_dataset *ds, const char *images_path, const char *labels_path,
                           bm_idx_scale scale, bm_dtype dt, bm_error *err);

/* How bm_data_load_idx_as lays the images out. */
typedef enum bm_idx_layout {
    BM_IDX_FLAT = 0, /* x [N, rows*cols], bm_data_load_idx's */
    BM_IDX_NCHW = 1  /* x [N,1,rows,cols]: one channel, the input of a conv2d */
} bm_idx_layout;

/* bm_data_load_idx with the images laid out as `layout` says (the same
 * values in the same order either way; BM_ERR_ARG for an unknown layout). */
bm_status bm_data_load_idx_as(bm_dataset *ds, const char *images_path, const char *labels_path,
                              bm_idx_scale scale, bm_idx_layout layout, bm_dtype dt,
                              bm_error *err);

/* ---------------------------------------------------------------- subsets */

/* Copy rows [start, start+count) of src into *out (new tensors the caller
 * frees with bm_dataset_free; src is untouched). count must be > 0. */
bm_status bm_dataset_subset(bm_dataset *out, const bm_dataset *src, size_t start, size_t count,
                            bm_error *err);
/* Free x and y and zero the struct; safe on a zeroed struct and on NULL. */
void bm_dataset_free(bm_dataset *ds);

BM_API_END
#ifdef __cplusplus
}
#endif
#endif
