#define _POSIX_C_SOURCE 200809L
/* data_idx.c — load MNIST-style IDX files (big-endian headers, uint8 data).
 *
 * images: magic 0x00000803, then N, rows, cols (uint32 BE), then N*rows*cols
 * bytes. labels: magic 0x00000801, then N, then N bytes. Every size in the
 * header is checked against the file's size (fstat) before anything is
 * allocated, so a lying header fails cleanly and cheaply. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bm_data.h"
#include "file_internal.h"

/* Magic number of an IDX file of uint8 with 3 dimensions (images). */
#define IDX_MAGIC_IMAGES 0x00000803u
/* Magic number of an IDX file of uint8 with 1 dimension (labels). */
#define IDX_MAGIC_LABELS 0x00000801u
/* Header bytes of an image file: magic + 3 dimensions. */
#define IDX_IMAGES_HEADER 16u
/* Header bytes of a label file: magic + 1 dimension. */
#define IDX_LABELS_HEADER 8u
/* Bytes per big-endian header word. */
#define IDX_WORD 4u
/* Largest pixel value. */
#define IDX_PIXEL_MAX 255.0
/* Centre of the symmetric scale: (v - centre) / centre is in [-1, 1]. */
#define IDX_PIXEL_CENTRE 127.5
/* At least this many classes (the ten MNIST digits). */
#define IDX_MIN_CLASSES 10u
/* Pixels converted per read. */
#define IDX_CHUNK 65536u

/* An open IDX file and what its header says. */
typedef struct idx_file {
    FILE *f;
    const char *path;
    uint64_t file_size;
    uint32_t dims[3];
} idx_file;

static uint32_t be32(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3];
}

/* Open path, read and check its magic and `ndims` dimensions. */
static bm_status idx_open(idx_file *fi, const char *path, uint32_t magic, int ndims,
                          const char *what, bm_error *err)
{
    unsigned char hdr[IDX_IMAGES_HEADER];
    size_t hdr_len = IDX_WORD * (size_t)(1 + ndims);
    memset(fi, 0, sizeof *fi);
    fi->path = path;
    /* regular files only (a FIFO would block, a device never ends); the
     * header's sizes must then match the file's size exactly */
    fi->f = bm_file_open_read(path, UINT64_MAX, &fi->file_size, err);
    if (!fi->f)
        return err ? err->code : BM_ERR_IO;
    if (fi->file_size < hdr_len || fread(hdr, 1, hdr_len, fi->f) != hdr_len)
        return bm_error_set(err, BM_ERR_PARSE,
                            "%s: file holds %" PRIu64 " bytes, too short for an IDX %s header of %zu",
                            path, fi->file_size, what, hdr_len);
    uint32_t m = be32(hdr);
    if (m != magic)
        return bm_error_set(err, BM_ERR_PARSE,
                            "%s: bad magic 0x%08" PRIx32 ", expected 0x%08" PRIx32
                            " (IDX %s: uint8, %d dimension%s)",
                            path, m, magic, what, ndims, ndims > 1 ? "s" : "");
    for (int i = 0; i < ndims; i++) {
        fi->dims[i] = be32(hdr + IDX_WORD * (size_t)(i + 1));
        if (fi->dims[i] == 0)
            return bm_error_set(err, BM_ERR_PARSE, "%s: dimension %d is 0", path, i);
    }
    return BM_OK;
}

/* Read y->size label bytes into y; n_classes = max(10, largest + 1). */
static bm_status read_labels(idx_file *fl, bm_tensor *y, size_t *n_classes, bm_error *err)
{
    unsigned char buf[IDX_CHUNK];
    unsigned max = 0;
    for (size_t done = 0; done < y->size;) {
        size_t k = y->size - done < IDX_CHUNK ? y->size - done : IDX_CHUNK;
        if (fread(buf, 1, k, fl->f) != k)
            return bm_error_set(err, BM_ERR_IO, "%s: read failed after %zu labels", fl->path,
                                done);
        for (size_t i = 0; i < k; i++) {
            bm_tensor_set(y, done + i, (double)buf[i]);
            if (buf[i] > max)
                max = buf[i];
        }
        done += k;
    }
    *n_classes = max + 1u > IDX_MIN_CLASSES ? max + 1u : IDX_MIN_CLASSES;
    return BM_OK;
}

/* Check the label header against the file size. */
static bm_status check_labels(const idx_file *fl, bm_error *err)
{
    uint64_t want = (uint64_t)IDX_LABELS_HEADER + fl->dims[0];
    if (fl->file_size != want)
        return bm_error_set(err, BM_ERR_PARSE,
                            "%s: header says %" PRIu32 " labels but the file holds %" PRIu64
                            " bytes (expected %" PRIu64 ")",
                            fl->path, fl->dims[0], fl->file_size, want);
    return BM_OK;
}

/* Read the pixels into x [N, rows*cols], scaled. */
static bm_status read_pixels(idx_file *fi, bm_tensor *x, bm_idx_scale scale, bm_error *err)
{
    unsigned char buf[IDX_CHUNK];
    for (size_t done = 0; done < x->size;) {
        size_t k = x->size - done < IDX_CHUNK ? x->size - done : IDX_CHUNK;
        if (fread(buf, 1, k, fi->f) != k)
            return bm_error_set(err, BM_ERR_IO, "%s: read failed after %zu pixels", fi->path,
                                done);
        for (size_t i = 0; i < k; i++) {
            double v = buf[i];
            v = scale == BM_IDX_SYMMETRIC ? (v - IDX_PIXEL_CENTRE) / IDX_PIXEL_CENTRE
                                          : v / IDX_PIXEL_MAX;
            bm_tensor_set(x, done + i, v);
        }
        done += k;
    }
    return BM_OK;
}

/* Check the image header against the file size; computes pixels per image. */
static bm_status check_images(const idx_file *fi, size_t *pixels, bm_error *err)
{
    uint64_t n = fi->dims[0], per = (uint64_t)fi->dims[1] * fi->dims[2]; /* < 2^64 */
    uint64_t body = fi->file_size - IDX_IMAGES_HEADER;
    /* n * per overflows only when the file could never hold it anyway. */
    int fits = per <= UINT64_MAX / n && n * per == body;
    if (!fits)
        return bm_error_set(err, BM_ERR_PARSE,
                            "%s: header says %" PRIu64 " images of %" PRIu32 "x%" PRIu32
                            " but the file holds %" PRIu64 " bytes",
                            fi->path, n, fi->dims[1], fi->dims[2], fi->file_size);
    if (per > SIZE_MAX)
        return bm_error_set(err, BM_ERR_SIZE, "%s: images of %" PRIu32 "x%" PRIu32 " are too big",
                            fi->path, fi->dims[1], fi->dims[2]);
    *pixels = (size_t)per;
    return BM_OK;
}

static void idx_close(idx_file *fi)
{
    if (fi->f)
        fclose(fi->f);
    fi->f = NULL;
}

bm_status bm_data_load_idx(bm_dataset *ds, const char *images_path, const char *labels_path,
                           bm_idx_scale scale, bm_dtype dt, bm_error *err)
{
    return bm_data_load_idx_as(ds, images_path, labels_path, scale, BM_IDX_FLAT, dt, err);
}

bm_status bm_data_load_idx_as(bm_dataset *ds, const char *images_path, const char *labels_path,
                              bm_idx_scale scale, bm_idx_layout layout, bm_dtype dt,
                              bm_error *err)
{
    bm_error local_err;
    if (!err)
        err = &local_err;
    if (!ds || !images_path)
        return bm_error_set(err, BM_ERR_NULL, "bm_data_load_idx: NULL %s",
                            !ds ? "data set" : "path");
    memset(ds, 0, sizeof *ds);
    if (dt != BM_F32 && dt != BM_F64)
        return bm_error_set(err, BM_ERR_DTYPE, "bm_data_load_idx: unknown dtype %d", (int)dt);
    if (scale != BM_IDX_UNIT && scale != BM_IDX_SYMMETRIC)
        return bm_error_set(err, BM_ERR_ARG, "bm_data_load_idx: unknown scale %d", (int)scale);
    if (layout != BM_IDX_FLAT && layout != BM_IDX_NCHW)
        return bm_error_set(err, BM_ERR_ARG,
                            "bm_data_load_idx: unknown layout %d (flat 0, nchw 1)", (int)layout);
    idx_file fi, fl;
    size_t pixels = 0, n_classes = 0;
    memset(&fl, 0, sizeof fl);
    bm_status s = idx_open(&fi, images_path, IDX_MAGIC_IMAGES, 3, "images", err);
    if (s == BM_OK)
        s = check_images(&fi, &pixels, err);
    if (s == BM_OK && labels_path)
        s = idx_open(&fl, labels_path, IDX_MAGIC_LABELS, 1, "labels", err);
    if (s == BM_OK && labels_path)
        s = check_labels(&fl, err);
    if (s == BM_OK && labels_path && fl.dims[0] != fi.dims[0])
        s = bm_error_set(err, BM_ERR_PARSE,
                         "%s holds %" PRIu32 " images but %s holds %" PRIu32 " labels",
                         images_path, fi.dims[0], labels_path, fl.dims[0]);
    if (s == BM_OK) {
        /* x [N, rows*cols] or [N, 1, rows, cols]; y [N] */
        size_t xs[4] = {fi.dims[0], pixels}, nchw[4] = {fi.dims[0], 1, fi.dims[1], fi.dims[2]};
        int flat = layout == BM_IDX_FLAT;
        bm_error te = {0};
        ds->x = bm_tensor_new(dt, flat ? 2 : 4, flat ? xs : nchw, &te);
        ds->y = ds->x && labels_path ? bm_tensor_new(dt, 1, xs, &te) : NULL;
        s = ds->x && (ds->y || !labels_path) ? BM_OK
                  : bm_error_set(err, te.code, "%s: %" PRIu32 " images of %zu pixels: %s",
                                 images_path, fi.dims[0], pixels, te.msg);
    }
    if (s == BM_OK && labels_path)
        s = read_labels(&fl, ds->y, &n_classes, err);
    if (s == BM_OK)
        s = read_pixels(&fi, ds->x, scale, err);
    idx_close(&fi);
    idx_close(&fl);
    if (s != BM_OK) {
        bm_dataset_free(ds);
        return s;
    }
    ds->n_classes = n_classes;
    return BM_OK;
}
