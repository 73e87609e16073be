/* npy.c — NumPy's .npy format (numpy/lib/format.py): a magic string, a
 * version, a header that is a Python dict literal
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 * padded with spaces to a multiple of 64 bytes and ended by '\n', then the
 * elements in C order. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npz_internal.h"

/* "\x93NUMPY", then the major and minor version bytes. */
#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
/* Bytes before the header: magic, 2 version bytes, a 2-byte (version 1)
 * or 4-byte (versions 2, 3) header length. */
#define NPY_PRE_V1 10
#define NPY_PRE_V2 12
/* The versions read; the one written. */
#define NPY_MAJOR_MIN 1
#define NPY_MAJOR_MAX 3
#define NPY_MAJOR_WRITTEN 1
/* numpy aligns the data to this many bytes. */
#define NPY_ALIGN 64
/* Room for the header written (rank <= 4: well under 256 bytes). */
#define NPY_HEADER_MAX 256
/* Largest header read (numpy's own limit is 10000 bytes). */
#define NPY_HEADER_READ_MAX 65536
/* Room for a descr or key string. */
#define NPY_WORD 32

static int host_little(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

bm_status bm_npy_encode(const bm_tensor *t, unsigned char **out, size_t *len, const char *what,
                        bm_error *err)
{
    if (t->dtype != BM_F32 && t->dtype != BM_F64)
        return bm_error_set(err, BM_ERR_DTYPE, "%s: dtype %d is not f32 or f64", what,
                            (int)t->dtype);
    char h[NPY_HEADER_MAX];
    int n = snprintf(h, sizeof h, "{'descr': '%c%s', 'fortran_order': False, 'shape': (",
                     host_little() ? '<' : '>', t->dtype == BM_F32 ? "f4" : "f8");
    for (int i = 0; i < t->rank; i++)
        n += snprintf(h + n, sizeof h - (size_t)n, i ? ", %zu" : "%zu", t->shape[i]);
    n += snprintf(h + n, sizeof h - (size_t)n, "%s), }", t->rank == 1 ? "," : "");
    size_t total = NPY_PRE_V1 + (size_t)n + 1; /* + '\n' */
    size_t pad = (NPY_ALIGN - total % NPY_ALIGN) % NPY_ALIGN, hlen = (size_t)n + pad + 1;
    size_t bytes = t->size * bm_dtype_size(t->dtype);
    if (bytes > BM_NPZ_MAX_FILE_BYTES - NPY_PRE_V1 - hlen)
        return bm_error_set(err, BM_ERR_SIZE, "%s: %zu bytes of data, more than a file holds "
                            "here (4 GiB)", what, bytes);
    unsigned char *p = malloc(NPY_PRE_V1 + hlen + bytes);
    if (!p)
        return bm_error_set(err, BM_ERR_NOMEM, "%s: out of memory", what);
    memcpy(p, NPY_MAGIC, NPY_MAGIC_LEN);
    p[NPY_MAGIC_LEN] = NPY_MAJOR_WRITTEN;
    p[NPY_MAGIC_LEN + 1] = 0;
    p[NPY_MAGIC_LEN + 2] = (unsigned char)(hlen & 0xff); /* little-endian length */
    p[NPY_MAGIC_LEN + 3] = (unsigned char)(hlen >> 8);
    memcpy(p + NPY_PRE_V1, h, (size_t)n);
    memset(p + NPY_PRE_V1 + n, ' ', pad);
    p[NPY_PRE_V1 + hlen - 1] = '\n';
    memcpy(p + NPY_PRE_V1 + hlen, t->data, bytes);
    *out = p;
    *len = NPY_PRE_V1 + hlen + bytes;
    return BM_OK;
}

/* ------------------------------------------------------------ reading */

/* A cursor over the header text. */
typedef struct hdr {
    const char *s, *end;
    const char *what;
    bm_error *err;
} hdr;

static void skip_ws(hdr *h)
{
    while (h->s < h->end && (*h->s == ' ' || *h->s == '\t' || *h->s == '\n' || *h->s == '\r'))
        h->s++;
}

static bm_status bad(hdr *h, const char *msg)
{
    return bm_error_set(h->err, BM_ERR_PARSE, "%s: malformed .npy header: %s", h->what, msg);
}

/* Expect the character c after blanks. */
static bm_status expect(hdr *h, char c, const char *msg)
{
    skip_ws(h);
    if (h->s >= h->end || *h->s != c)
        return bad(h, msg);
    h->s++;
    return BM_OK;
}

/* A quoted string ('...' or "...") of fewer than NPY_WORD bytes into w. */
static bm_status word(hdr *h, char *w, const char *msg)
{
    skip_ws(h);
    if (h->s >= h->end || (*h->s != '\'' && *h->s != '"'))
        return bad(h, msg);
    char q = *h->s++;
    size_t n = 0;
    while (h->s < h->end && *h->s != q && n + 1 < NPY_WORD)
        w[n++] = *h->s++;
    w[n] = '\0';
    if (h->s >= h->end || *h->s != q)
        return bad(h, msg);
    h->s++;
    return BM_OK;
}

/* The shape tuple: (), (n,), (n, m), ... */
static bm_status shape_tuple(hdr *h, int *rank, size_t *shape)
{
    bm_status s = expect(h, '(', "shape: expected a tuple");
    *rank = 0;
    for (;;) {
        if (s != BM_OK)
            return s;
        skip_ws(h);
        if (h->s < h->end && *h->s == ')') {
            h->s++;
            return BM_OK;
        }
        if (h->s >= h->end || *h->s < '0' || *h->s > '9')
            return bad(h, "shape: expected a non-negative integer");
        uint64_t v = 0;
        while (h->s < h->end && *h->s >= '0' && *h->s <= '9') {
            if (v > BM_MAX_ELEMENTS)
                break; /* absurd; the size check below says so */
            v = v * 10 + (uint64_t)(*h->s++ - '0');
        }
        while (h->s < h->end && *h->s >= '0' && *h->s <= '9')
            h->s++;
        if (*rank == BM_MAX_RANK)
            return bm_error_set(h->err, BM_ERR_RANK, "%s: more than %d dimensions", h->what,
                                BM_MAX_RANK);
        if (v == 0)
            return bm_error_set(h->err, BM_ERR_SIZE, "%s: an axis of length 0 (empty arrays are "
                                "not read)", h->what);
        if (v > BM_MAX_ELEMENTS)
            return bm_error_set(h->err, BM_ERR_SIZE, "%s: absurd shape: an axis of more than "
                                "%zu elements", h->what, (size_t)BM_MAX_ELEMENTS);
        shape[(*rank)++] = (size_t)v;
        skip_ws(h);
        if (h->s < h->end && *h->s == ',')
            h->s++;
        else if (!(h->s < h->end && *h->s == ')'))
            return bad(h, "shape: expected ',' or ')'");
    }
}

/* The dict: descr, fortran_order and shape, each once. */
static bm_status parse_header(hdr *h, bm_dtype *dt, int *swap, int *rank, size_t *shape)
{
    char key[NPY_WORD], descr[NPY_WORD] = "";
    int seen = 0, fortran = 0;
    enum { SEEN_DESCR = 1, SEEN_FORTRAN = 2, SEEN_SHAPE = 4, SEEN_ALL = 7 };
    bm_status s = expect(h, '{', "expected '{'");
    while (s == BM_OK) {
        skip_ws(h);
        if (h->s < h->end && *h->s == '}')
            break;
        if ((s = word(h, key, "expected a quoted key")) != BM_OK ||
            (s = expect(h, ':', "expected ':' after a key")) != BM_OK)
            return s;
        int bit = strcmp(key, "descr") == 0           ? SEEN_DESCR
                  : strcmp(key, "fortran_order") == 0 ? SEEN_FORTRAN
                  : strcmp(key, "shape") == 0         ? SEEN_SHAPE
                                                      : 0;
        if (!bit || (seen & bit))
            return bm_error_set(h->err, BM_ERR_PARSE, "%s: .npy header: %s key '%s'", h->what,
                                bit ? "repeated" : "unknown", key);
        seen |= bit;
        if (bit == SEEN_DESCR) {
            s = word(h, descr, "descr: expected a string");
        } else if (bit == SEEN_SHAPE) {
            s = shape_tuple(h, rank, shape);
        } else {
            skip_ws(h);
            size_t left = (size_t)(h->end - h->s);
            if (left >= sizeof "True" - 1 && memcmp(h->s, "True", sizeof "True" - 1) == 0) {
                fortran = 1;
                h->s += sizeof "True" - 1;
            } else if (left >= sizeof "False" - 1 &&
                       memcmp(h->s, "False", sizeof "False" - 1) == 0) {
                h->s += sizeof "False" - 1;
            } else {
                s = bad(h, "fortran_order: expected True or False");
            }
        }
        skip_ws(h);
        if (s == BM_OK && h->s < h->end && *h->s == ',')
            h->s++;
        else if (s == BM_OK && !(h->s < h->end && *h->s == '}'))
            s = bad(h, "expected ',' or '}'");
    }
    if (s != BM_OK || (s = expect(h, '}', "expected '}'")) != BM_OK)
        return s;
    skip_ws(h);
    if (h->s != h->end)
        return bad(h, "text after the dict");
    if (seen != SEEN_ALL)
        return bm_error_set(h->err, BM_ERR_PARSE, "%s: .npy header: missing key '%s'", h->what,
                            !(seen & SEEN_DESCR) ? "descr" : !(seen & SEEN_FORTRAN)
                                                                ? "fortran_order" : "shape");
    if (fortran)
        return bm_error_set(h->err, BM_ERR_ARG, "%s: Fortran order is not supported (save a "
                            "C-ordered array: np.ascontiguousarray)", h->what);
    int order_ok = (descr[0] == '<' || descr[0] == '>') &&
                   (strcmp(descr + 1, "f4") == 0 || strcmp(descr + 1, "f8") == 0);
    if (!order_ok)
        return bm_error_set(h->err, BM_ERR_DTYPE, "%s: unsupported dtype '%s' (expected '<f4' "
                            "or '<f8': float32 or float64)", h->what, descr);
    *dt = descr[2] == '4' ? BM_F32 : BM_F64;
    *swap = (descr[0] == '<') != host_little();
    return BM_OK;
}

/* Reverse the bytes of each of n elements of esz bytes at p. */
static void swap_bytes(unsigned char *p, size_t n, size_t esz)
{
    for (size_t i = 0; i < n; i++, p += esz)
        for (size_t a = 0, b = esz - 1; a < b; a++, b--) {
            unsigned char c = p[a];
            p[a] = p[b];
            p[b] = c;
        }
}

bm_tensor *bm_npy_decode(const unsigned char *p, size_t len, const char *what, bm_error *err)
{
    if (len < NPY_PRE_V1 || memcmp(p, NPY_MAGIC, NPY_MAGIC_LEN) != 0) {
        bm_error_set(err, BM_ERR_PARSE, "%s: not a .npy file (bad magic)", what);
        return NULL;
    }
    int major = p[NPY_MAGIC_LEN];
    if (major < NPY_MAJOR_MIN || major > NPY_MAJOR_MAX) {
        bm_error_set(err, BM_ERR_PARSE, "%s: unsupported .npy version %d.%d", what, major,
                     p[NPY_MAGIC_LEN + 1]);
        return NULL;
    }
    size_t pre = major == 1 ? NPY_PRE_V1 : NPY_PRE_V2, hlen = 0;
    if (len < pre) {
        bm_error_set(err, BM_ERR_PARSE, "%s: truncated .npy header", what);
        return NULL;
    }
    for (size_t k = pre; k-- > NPY_MAGIC_LEN + 2;)
        hlen = hlen << 8 | p[k];
    if (hlen > NPY_HEADER_READ_MAX || hlen > len - pre) {
        bm_error_set(err, BM_ERR_PARSE, "%s: truncated .npy header (%zu bytes announced, %zu "
                     "there)", what, hlen, len - pre);
        return NULL;
    }
    hdr h = {(const char *)p + pre, (const char *)p + pre + hlen, what, err};
    bm_dtype dt = BM_F32;
    int swap = 0, rank = 0;
    size_t shape[BM_MAX_RANK], n = 1;
    if (parse_header(&h, &dt, &swap, &rank, shape) != BM_OK)
        return NULL;
    for (int i = 0; i < rank; i++) {
        if (n > BM_MAX_ELEMENTS / shape[i]) {
            bm_error_set(err, BM_ERR_SIZE, "%s: absurd shape: more than %zu elements", what,
                         (size_t)BM_MAX_ELEMENTS);
            return NULL;
        }
        n *= shape[i];
    }
    size_t esz = bm_dtype_size(dt), have = len - pre - hlen;
    if (have / esz < n || have != n * esz) {
        bm_error_set(err, BM_ERR_PARSE, "%s: %s: the shape needs %zu bytes of data, there are %zu",
                     what, have < n * esz ? "truncated" : "bytes after the data", n * esz, have);
        return NULL;
    }
    bm_tensor *t = bm_tensor_from(dt, rank, shape, p + pre + hlen, err);
    if (t && swap)
        swap_bytes(t->data, t->size, esz);
    return t;
}
