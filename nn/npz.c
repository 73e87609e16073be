/* npz.c — .npz files: a zip archive (PKWARE APPNOTE) of NAME.npy entries,
 * method 0 ("stored", uncompressed), as np.savez writes them; and the .npy
 * file calls. The archive is built in memory and written atomically; on
 * reading, the central directory gives each entry's size and offset (the
 * local headers np.savez writes carry ZIP64 extra fields, which are
 * skipped), and every entry's CRC-32 is checked. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "file_internal.h"
#include "model_io_internal.h"
#include "npz_internal.h"

/* Signatures and fixed sizes of the zip records. */
#define ZIP_LOCAL_SIG 0x04034b50u
#define ZIP_CENTRAL_SIG 0x02014b50u
#define ZIP_END_SIG 0x06054b50u
#define ZIP_LOCAL_LEN 30
#define ZIP_CENTRAL_LEN 46
#define ZIP_END_LEN 22
/* Longest comment after the end record (its search window). */
#define ZIP_COMMENT_MAX 65535
/* Version needed to extract a stored file (2.0), method "stored". */
#define ZIP_VERSION 20
#define ZIP_STORED 0
/* General purpose flag bit 0: encrypted. */
#define ZIP_ENCRYPTED 1u
/* A ZIP64 marker in a 32-bit size or offset field. */
#define ZIP_MARK32 0xffffffffu
/* MS-DOS date of every entry written (1980-01-01, time 00:00): the same
 * tensors always give the same bytes. */
#define ZIP_DOS_DATE ((1u << 5) | 1u)
/* CRC-32 (IEEE 802.3, reflected) polynomial. */
#define CRC_POLY 0xedb88320u
/* The entry suffix. */
#define NPY_SUFFIX ".npy"
#define NPY_SUFFIX_LEN 4
/* Room for "FILE: ENTRY" in messages. */
#define WHAT_LEN 256

static uint32_t crc32_of(const unsigned char *p, size_t n)
{
    uint32_t table[256], c = ZIP_MARK32;
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t v = i;
        for (int k = 0; k < 8; k++)
            v = v & 1u ? CRC_POLY ^ (v >> 1) : v >> 1;
        table[i] = v;
    }
    for (size_t i = 0; i < n; i++)
        c = table[(c ^ p[i]) & 0xffu] ^ (c >> 8);
    return c ^ ZIP_MARK32;
}

static void wr16(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v & 0xffu);
    p[1] = (unsigned char)(v >> 8 & 0xffu);
}

static void wr32(unsigned char *p, uint32_t v)
{
    wr16(p, v & 0xffffu);
    wr16(p + 2, v >> 16);
}

static uint32_t rd16(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t rd32(const unsigned char *p) { return rd16(p) | rd16(p + 2) << 16; }

bm_status bm_npz_slurp(const char *path, unsigned char **out, size_t *len, bm_error *err)
{
    uint64_t size = 0; /* regular files only, opened without blocking (file_internal.h) */
    *out = NULL;
    *len = 0;
    FILE *f = bm_file_open_read(path, BM_NPZ_MAX_FILE_BYTES, &size, err);
    if (!f)
        return err && err->code != BM_OK ? err->code : BM_ERR_IO;
    size_t n = (size_t)size;
    unsigned char *p = malloc(n ? n : 1);
    if (!p) {
        fclose(f);
        return bm_error_set(err, BM_ERR_NOMEM, "%.*s: out of memory for %zu bytes",
                            BM_IO_NAME_SHOWN, path, n);
    }
    size_t got = fread(p, 1, n, f);
    int bad = ferror(f) || got != n;
    fclose(f);
    if (bad) {
        free(p);
        return bm_error_set(err, BM_ERR_IO, "%.*s: read error", BM_IO_NAME_SHOWN, path);
    }
    *out = p;
    *len = n;
    return BM_OK;
}

/* ---------------------------------------------------------------- .npy */

bm_status bm_npy_save(const char *path, const bm_tensor *t, bm_error *err)
{
    if (!path || !t)
        return bm_error_set(err, BM_ERR_NULL, "bm_npy_save: %s is NULL", !path ? "path" : "tensor");
    unsigned char *p;
    size_t n;
    bm_status s = bm_npy_encode(t, &p, &n, path, err);
    if (s != BM_OK)
        return s;
    s = bm_file_write(path, (const char *)p, n, err);
    free(p);
    return s;
}

bm_tensor *bm_npy_load(const char *path, bm_error *err)
{
    unsigned char *p;
    size_t n;
    if (!path) {
        bm_error_set(err, BM_ERR_NULL, "bm_npy_load: path is NULL");
        return NULL;
    }
    if (bm_npz_slurp(path, &p, &n, err) != BM_OK)
        return NULL;
    bm_tensor *t = bm_npy_decode(p, n, path, err);
    free(p);
    return t;
}

/* ---------------------------------------------------------- writing .npz */

/* A growing byte buffer; fails once, sticky. */
typedef struct buf {
    unsigned char *p;
    size_t len, cap;
    int nomem;
} buf;

static unsigned char *grow(buf *b, size_t n)
{
    if (b->nomem)
        return NULL;
    if (b->cap - b->len < n) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->len < n)
            cap *= 2;
        unsigned char *p = realloc(b->p, cap);
        if (!p) {
            b->nomem = 1;
            return NULL;
        }
        b->p = p;
        b->cap = cap;
    }
    b->len += n;
    return b->p + b->len - n;
}

/* The fields local and central headers share, from "version needed" on. */
static void put_common(unsigned char *p, uint32_t crc, uint32_t size, size_t name_len)
{
    wr16(p, ZIP_VERSION);      /* version needed */
    wr16(p + 2, 0);            /* flags */
    wr16(p + 4, ZIP_STORED);   /* method */
    wr16(p + 6, 0);            /* time */
    wr16(p + 8, ZIP_DOS_DATE); /* date */
    wr32(p + 10, crc);
    wr32(p + 14, size); /* compressed */
    wr32(p + 18, size); /* uncompressed */
    wr16(p + 22, (uint32_t)name_len);
}

/* Check the arguments of bm_npz_save. */
static bm_status check_save(const char *const *names, const bm_tensor *const *tensors, size_t n,
                            bm_error *err)
{
    static const char fn[] = "bm_npz_save";
    if (!names || !tensors)
        return bm_error_set(err, BM_ERR_NULL, "%s: %s is NULL", fn, !names ? "names" : "tensors");
    if (n == 0 || n > BM_NPZ_MAX_ENTRIES)
        return bm_error_set(err, BM_ERR_ARG, "%s: %zu tensors (1..%d)", fn, n, BM_NPZ_MAX_ENTRIES);
    for (size_t i = 0; i < n; i++) {
        if (!names[i] || !tensors[i])
            return bm_error_set(err, BM_ERR_NULL, "%s: %s[%zu] is NULL", fn,
                                !names[i] ? "names" : "tensors", i);
        size_t k = strlen(names[i]);
        if (k == 0 || k > BM_NPZ_MAX_NAME)
            return bm_error_set(err, BM_ERR_ARG, "%s: names[%zu] has %zu bytes (1..%d)", fn, i, k,
                                BM_NPZ_MAX_NAME);
        for (size_t j = 0; j < i; j++)
            if (strcmp(names[i], names[j]) == 0)
                return bm_error_set(err, BM_ERR_ARG, "%s: names[%zu] and names[%zu] are both "
                                    "'%.64s'", fn, j, i, names[i]);
    }
    return BM_OK;
}

bm_status bm_npz_save(const char *path, const char *const *names, const bm_tensor *const *tensors,
                      size_t n, bm_error *err)
{
    if (!path)
        return bm_error_set(err, BM_ERR_NULL, "bm_npz_save: path is NULL");
    bm_status s = check_save(names, tensors, n, err);
    if (s != BM_OK)
        return s;
    buf b = {0}, cd = {0}; /* the archive; its central directory */
    char what[WHAT_LEN];
    for (size_t i = 0; i < n && s == BM_OK; i++) {
        unsigned char *npy, *h;
        size_t len, nl = strlen(names[i]) + NPY_SUFFIX_LEN, at = b.len;
        snprintf(what, sizeof what, "%.100s: %.100s", path, names[i]);
        if ((s = bm_npy_encode(tensors[i], &npy, &len, what, err)) != BM_OK)
            break;
        if ((uint64_t)at + ZIP_LOCAL_LEN + nl + len > BM_NPZ_MAX_FILE_BYTES) {
            free(npy);
            s = bm_error_set(err, BM_ERR_SIZE, "%s: the archive would pass 4 GiB (ZIP64 is "
                             "not written)", what);
            break;
        }
        uint32_t crc = crc32_of(npy, len);
        if ((h = grow(&b, ZIP_LOCAL_LEN + nl + len)) != NULL) {
            wr32(h, ZIP_LOCAL_SIG);
            put_common(h + 4, crc, (uint32_t)len, nl);
            wr16(h + 28, 0); /* extra length */
            memcpy(h + ZIP_LOCAL_LEN, names[i], nl - NPY_SUFFIX_LEN);
            memcpy(h + ZIP_LOCAL_LEN + nl - NPY_SUFFIX_LEN, NPY_SUFFIX, NPY_SUFFIX_LEN);
            memcpy(h + ZIP_LOCAL_LEN + nl, npy, len);
        }
        if ((h = grow(&cd, ZIP_CENTRAL_LEN + nl)) != NULL) {
            memset(h, 0, ZIP_CENTRAL_LEN);
            wr32(h, ZIP_CENTRAL_SIG);
            wr16(h + 4, ZIP_VERSION); /* version made by: MS-DOS, 2.0 */
            put_common(h + 6, crc, (uint32_t)len, nl);
            wr32(h + 42, (uint32_t)at); /* extra, comment, disk, attributes: 0 */
            memcpy(h + ZIP_CENTRAL_LEN, names[i], nl - NPY_SUFFIX_LEN);
            memcpy(h + ZIP_CENTRAL_LEN + nl - NPY_SUFFIX_LEN, NPY_SUFFIX, NPY_SUFFIX_LEN);
        }
        free(npy);
    }
    size_t cd_at = b.len;
    unsigned char *e;
    if (s == BM_OK && (uint64_t)cd_at + cd.len + ZIP_END_LEN > BM_NPZ_MAX_FILE_BYTES)
        s = bm_error_set(err, BM_ERR_SIZE, "%.*s: the archive would pass 4 GiB", BM_IO_NAME_SHOWN,
                         path);
    if (s == BM_OK && cd.p && (e = grow(&b, cd.len + ZIP_END_LEN)) != NULL) {
        memcpy(e, cd.p, cd.len);
        e += cd.len;
        memset(e, 0, ZIP_END_LEN);
        wr32(e, ZIP_END_SIG);
        wr16(e + 8, (uint32_t)n);  /* entries on this disk */
        wr16(e + 10, (uint32_t)n); /* entries */
        wr32(e + 12, (uint32_t)cd.len);
        wr32(e + 16, (uint32_t)cd_at);
    }
    if (s == BM_OK && (b.nomem || cd.nomem))
        s = bm_error_set(err, BM_ERR_NOMEM, "%.*s: out of memory", BM_IO_NAME_SHOWN, path);
    if (s == BM_OK)
        s = bm_file_write(path, (const char *)b.p, b.len, err);
    free(b.p);
    free(cd.p);
    return s;
}

/* ---------------------------------------------------------- reading .npz */

/* One entry of the archive, located and checked. */
typedef struct entry {
    const unsigned char *name, *data;
    size_t name_len, len;
} entry;

/* The end record of p[0..n), or NULL. */
static const unsigned char *find_end(const unsigned char *p, size_t n)
{
    for (size_t k = n - ZIP_END_LEN;; k--) {
        if (rd32(p + k) == ZIP_END_SIG && k + ZIP_END_LEN + rd16(p + k + 20) == n)
            return p + k;
        if (k == 0 || n - ZIP_END_LEN - k > ZIP_COMMENT_MAX)
            return NULL;
    }
}

/* Central directory entry at q (inside p[0..cd_end)) into *e; *next after it. */
static bm_status central_entry(const char *path, const unsigned char *p, size_t cd_at,
                               size_t cd_end, size_t at, size_t *next, entry *e, bm_error *err)
{
    const unsigned char *q = p + at;
    if (cd_end - at < ZIP_CENTRAL_LEN || rd32(q) != ZIP_CENTRAL_SIG)
        return bm_error_set(err, BM_ERR_PARSE, "%.*s: corrupt zip central directory",
                            BM_IO_NAME_SHOWN, path);
    uint32_t flags = rd16(q + 8), method = rd16(q + 10), crc = rd32(q + 16);
    uint32_t csize = rd32(q + 20), usize = rd32(q + 24), off = rd32(q + 42);
    size_t nl = rd16(q + 28), skip = nl + rd16(q + 30) + rd16(q + 32);
    if (cd_end - at - ZIP_CENTRAL_LEN < skip)
        return bm_error_set(err, BM_ERR_PARSE, "%.*s: corrupt zip central directory",
                            BM_IO_NAME_SHOWN, path);
    *next = at + ZIP_CENTRAL_LEN + skip;
    e->name = q + ZIP_CENTRAL_LEN;
    e->name_len = nl;
    int shown = nl > BM_IO_NAME_SHOWN ? BM_IO_NAME_SHOWN : (int)nl;
    if (flags & ZIP_ENCRYPTED)
        return bm_error_set(err, BM_ERR_PARSE, "%.*s: %.*s: encrypted", BM_IO_NAME_SHOWN, path,
                            shown, e->name);
    if (method != ZIP_STORED)
        return bm_error_set(err, BM_ERR_PARSE, "%.*s: %.*s: compressed (zip method %u, as "
                            "np.savez_compressed writes): only stored entries (np.savez) are read",
                            BM_IO_NAME_SHOWN, path, shown, e->name, method);
    if (csize == ZIP_MARK32 || usize == ZIP_MARK32 || off == ZIP_MARK32)
        return bm_error_set(err, BM_ERR_PARSE, "%.*s: %.*s: a ZIP64 entry (not read)",
                            BM_IO_NAME_SHOWN, path, shown, e->name);
    if (csize != usize || off > cd_at || cd_at - off < ZIP_LOCAL_LEN ||
        rd32(p + off) != ZIP_LOCAL_SIG)
        return bm_error_set(err, BM_ERR_PARSE, "%.*s: %.*s: corrupt zip entry", BM_IO_NAME_SHOWN,
                            path, shown, e->name);
    size_t data = (size_t)off + ZIP_LOCAL_LEN + rd16(p + off + 26) + rd16(p + off + 28);
    if (data > cd_at || cd_at - data < csize)
        return bm_error_set(err, BM_ERR_PARSE, "%.*s: %.*s: truncated", BM_IO_NAME_SHOWN, path,
                            shown, e->name);
    e->data = p + data;
    e->len = csize;
    if (crc32_of(e->data, e->len) != crc)
        return bm_error_set(err, BM_ERR_PARSE, "%.*s: %.*s: CRC-32 mismatch (corrupt data)",
                            BM_IO_NAME_SHOWN, path, shown, e->name);
    return BM_OK;
}

/* The checked entries of the archive p[0..n) into *out (malloc'd). */
static bm_status zip_entries(const char *path, const unsigned char *p, size_t n, entry **out,
                             size_t *count, bm_error *err)
{
    static const char npy_magic[] = "\x93NUMPY";
    if (n >= sizeof npy_magic - 1 && memcmp(p, npy_magic, sizeof npy_magic - 1) == 0)
        return bm_error_set(err, BM_ERR_PARSE, "%.*s: a .npy file, not an .npz (bm_npy_load "
                            "reads it)", BM_IO_NAME_SHOWN, path);
    const unsigned char *e = n >= ZIP_END_LEN && rd32(p) == ZIP_LOCAL_SIG ? find_end(p, n) : NULL;
    if (!e)
        return bm_error_set(err, BM_ERR_PARSE, "%.*s: not an .npz file (%s)", BM_IO_NAME_SHOWN,
                            path, n >= 4 && rd32(p) == ZIP_LOCAL_SIG
                                      ? "a zip without its end record: truncated?"
                                      : "bad magic: not a zip archive");
    size_t ents = rd16(e + 10), cd_len = rd32(e + 12), cd_at = rd32(e + 16);
    size_t end_at = (size_t)(e - p);
    if (rd16(e + 4) != 0 || rd16(e + 6) != 0 || rd16(e + 8) != ents)
        return bm_error_set(err, BM_ERR_PARSE, "%.*s: a multi-disk zip (not read)",
                            BM_IO_NAME_SHOWN, path);
    if (cd_at > end_at || end_at - cd_at < cd_len)
        return bm_error_set(err, BM_ERR_PARSE, "%.*s: truncated or corrupt zip (the central "
                            "directory lies outside the file)", BM_IO_NAME_SHOWN, path);
    if (ents == 0)
        return bm_error_set(err, BM_ERR_PARSE, "%.*s: no arrays in the archive", BM_IO_NAME_SHOWN,
                            path);
    entry *es = calloc(ents, sizeof *es);
    if (!es)
        return bm_error_set(err, BM_ERR_NOMEM, "%.*s: out of memory", BM_IO_NAME_SHOWN, path);
    size_t at = cd_at;
    for (size_t i = 0; i < ents; i++) {
        bm_status s = central_entry(path, p, cd_at, cd_at + cd_len, at, &at, &es[i], err);
        if (s != BM_OK) {
            free(es);
            return s;
        }
    }
    *out = es;
    *count = ents;
    return BM_OK;
}

void bm_npz_free(bm_npz *z)
{
    if (!z)
        return;
    for (size_t i = 0; i < z->n; i++) {
        if (z->names)
            free(z->names[i]);
        if (z->tensors)
            bm_tensor_free(z->tensors[i]);
    }
    free(z->names);
    free(z->tensors);
    memset(z, 0, sizeof *z);
}

bm_tensor *bm_npz_find(const bm_npz *z, const char *name)
{
    for (size_t i = 0; z && name && i < z->n; i++)
        if (strcmp(z->names[i], name) == 0)
            return z->tensors[i];
    return NULL;
}

/* Entry e's name without ".npy", malloc'd (NULL when out of memory). */
static char *entry_name(const entry *e)
{
    size_t k = e->name_len;
    if (k >= NPY_SUFFIX_LEN && memcmp(e->name + k - NPY_SUFFIX_LEN, NPY_SUFFIX, NPY_SUFFIX_LEN) == 0)
        k -= NPY_SUFFIX_LEN;
    char *s = malloc(k + 1);
    if (s) {
        memcpy(s, e->name, k);
        s[k] = '\0';
    }
    return s;
}

bm_status bm_npz_read(const char *path, bm_npz *out, bm_error *err)
{
    if (!path || !out)
        return bm_error_set(err, BM_ERR_NULL, "bm_npz_read: %s is NULL", !path ? "path" : "out");
    memset(out, 0, sizeof *out);
    unsigned char *p;
    size_t n, count = 0;
    entry *es = NULL;
    bm_status s = bm_npz_slurp(path, &p, &n, err);
    if (s != BM_OK)
        return s;
    if ((s = zip_entries(path, p, n, &es, &count, err)) == BM_OK &&
        (!(out->names = calloc(count, sizeof *out->names)) ||
         !(out->tensors = calloc(count, sizeof *out->tensors))))
        s = bm_error_set(err, BM_ERR_NOMEM, "%.*s: out of memory", BM_IO_NAME_SHOWN, path);
    for (size_t i = 0; s == BM_OK && i < count; i++) {
        char what[WHAT_LEN];
        out->n = i + 1;
        if (!(out->names[i] = entry_name(&es[i]))) {
            s = bm_error_set(err, BM_ERR_NOMEM, "%.*s: out of memory", BM_IO_NAME_SHOWN, path);
            break;
        }
        snprintf(what, sizeof what, "%.100s: %.100s", path, out->names[i]);
        if (bm_npz_find(out, out->names[i]) != NULL) /* among the entries before */
            s = bm_error_set(err, BM_ERR_PARSE, "%s: the name appears twice", what);
        else if (!(out->tensors[i] = bm_npy_decode(es[i].data, es[i].len, what, err)))
            s = err ? err->code : BM_ERR_PARSE;
    }
    free(es);
    free(p);
    if (s != BM_OK)
        bm_npz_free(out);
    return s;
}

bm_status bm_npz_load(const char *path, const char *const *names, bm_tensor *const *tensors,
                      size_t n, bm_error *err)
{
    static const char fn[] = "bm_npz_load";
    if (!path || !names || !tensors)
        return bm_error_set(err, BM_ERR_NULL, "%s: %s is NULL", fn,
                            !path ? "path" : !names ? "names" : "tensors");
    for (size_t i = 0; i < n; i++)
        if (!names[i] || !tensors[i])
            return bm_error_set(err, BM_ERR_NULL, "%s: %s[%zu] is NULL", fn,
                                !names[i] ? "names" : "tensors", i);
    bm_npz z;
    bm_status s = bm_npz_read(path, &z, err);
    char a[64], b[64];
    for (size_t i = 0; s == BM_OK && i < n; i++) { /* check all, then copy */
        const bm_tensor *src = bm_npz_find(&z, names[i]), *dst = tensors[i];
        int same = src && src->rank == dst->rank;
        for (int k = 0; same && k < src->rank; k++)
            same = src->shape[k] == dst->shape[k];
        if (!src)
            s = bm_error_set(err, BM_ERR_ARG, "%.*s: no array named '%.64s'", BM_IO_NAME_SHOWN,
                             path, names[i]);
        else if (src->dtype != dst->dtype || !same)
            s = bm_error_set(err, src->dtype != dst->dtype ? BM_ERR_DTYPE : BM_ERR_SHAPE,
                             "%.*s: %.64s: the file has %s %s, the tensor is %s %s",
                             BM_IO_NAME_SHOWN, path, names[i], bm_dtype_name(src->dtype),
                             bm_shape_str(src, a, sizeof a), bm_dtype_name(dst->dtype),
                             bm_shape_str(dst, b, sizeof b));
    }
    for (size_t i = 0; s == BM_OK && i < n; i++) {
        const bm_tensor *src = bm_npz_find(&z, names[i]);
        memcpy(tensors[i]->data, src->data, src->size * bm_dtype_size(src->dtype));
    }
    bm_npz_free(&z);
    return s;
}
