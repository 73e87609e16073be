/* model_io_json.c — the model file reader's tools: JSON paths for
 * messages, typed access to cJSON values with range checks, number arrays,
 * the nesting pre-scan and reading a whole file with a size limit. */
#define _POSIX_C_SOURCE 200809L
#include <assert.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "model_io_internal.h"

/* Longest key quoted in a path. */
#define KEY_SHOWN 40
/* Most keys an object of the format may hold (bits of the mask of those seen). */
#define MAX_KEYS 32

/* ------------------------------------------------------------ messages */

/* Set the error "NAME: PATH: message" (no PATH at the top); returns code. */
bm_status bm_io_fail(bm_io_reader *r, bm_status code, const char *fmt, ...)
{
    char msg[BM_ERR_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return bm_error_set(r->err, code, "%.*s: %s%s%s", BM_IO_NAME_SHOWN, r->name, r->path,
                        r->plen ? ": " : "", msg);
}

/* Append ".key" to the path (control characters shown as '?'); returns the
 * old length for bm_io_pop(). */
size_t bm_io_push_key(bm_io_reader *r, const char *key)
{
    size_t old = r->plen;
    if (r->plen > 0 && r->plen < BM_IO_PATH_LEN - 1)
        r->path[r->plen++] = '.';
    for (size_t i = 0; key[i] && i < KEY_SHOWN && r->plen < BM_IO_PATH_LEN - 1; i++) {
        unsigned char c = (unsigned char)key[i];
        r->path[r->plen++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    r->path[r->plen] = '\0';
    return old;
}

/* Append "[i]" to the path; returns the old length for bm_io_pop(). */
size_t bm_io_push_index(bm_io_reader *r, size_t i)
{
    size_t old = r->plen;
    int n = snprintf(r->path + r->plen, BM_IO_PATH_LEN - r->plen, "[%zu]", i);
    if (n > 0)
        r->plen = r->plen + (size_t)n < BM_IO_PATH_LEN ? r->plen + (size_t)n : BM_IO_PATH_LEN - 1;
    return old;
}

void bm_io_pop(bm_io_reader *r, size_t old)
{
    r->plen = old;
    r->path[old] = '\0';
}

/* Skip a "bm_function: " prefix of a library message. */
const char *bm_io_unprefixed(const char *msg)
{
    const char *colon = strstr(msg, ": ");
    if (strncmp(msg, "bm_", 3) == 0 && colon && !memchr(msg, ' ', (size_t)(colon - msg)))
        return colon + 2;
    return msg;
}

/* Line and column (1-based, columns in bytes) of offset pos in s. */
void bm_io_line_col(const char *s, size_t pos, size_t *line, size_t *col)
{
    size_t start = 0;
    *line = 1;
    for (size_t i = 0; i < pos; i++)
        if (s[i] == '\n') {
            (*line)++;
            start = i + 1;
        }
    *col = pos - start + 1;
}

/* ---------------------------------------------------------- JSON values */

const char *bm_io_type_name(const cJSON *j)
{
    switch (j->type & 0xFF) {
    case cJSON_False:
    case cJSON_True: return "a boolean";
    case cJSON_NULL: return "null";
    case cJSON_Number: return "a number";
    case cJSON_String: return "a string";
    case cJSON_Array: return "an array";
    case cJSON_Object: return "an object";
    }
    return "an invalid value";
}

int bm_io_is(const cJSON *j, int type)
{
    return (j->type & 0xFF) == type;
}

size_t bm_io_count(const cJSON *a)
{
    size_t n = 0;
    for (const cJSON *c = a->child; c; c = c->next)
        n++;
    return n;
}

bm_status bm_io_want(bm_io_reader *r, const cJSON *j, int type, const char *what)
{
    return bm_io_is(j, type)
               ? BM_OK
               : bm_io_fail(r, BM_ERR_PARSE, "expected %s, got %s", what, bm_io_type_name(j));
}

/* Unknown and repeated keys of obj fail; allowed has n <= MAX_KEYS keys. */
bm_status bm_io_check_keys(bm_io_reader *r, const cJSON *obj, const char *const *allowed, size_t n)
{
    uint32_t seen = 0;
    assert(n <= MAX_KEYS);
    for (const cJSON *c = obj->child; c; c = c->next) {
        size_t k = 0;
        while (k < n && strcmp(c->string, allowed[k]) != 0)
            k++;
        if (k == n || (seen >> k & 1u)) {
            bm_io_push_key(r, c->string);
            return bm_io_fail(r, BM_ERR_PARSE, k == n ? "unknown key" : "duplicate key");
        }
        seen |= (uint32_t)1 << k;
    }
    return BM_OK;
}

/* obj[key] into *out (NULL when absent); a missing required key fails. */
bm_status bm_io_member(bm_io_reader *r, const cJSON *obj, const char *key, int required,
                       const cJSON **out)
{
    *out = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!*out && required) {
        bm_io_push_key(r, key);
        return bm_io_fail(r, BM_ERR_PARSE, "missing key");
    }
    return BM_OK;
}

/* Does v fit dt (finite there)? Doubles below FLT_MAX + half its ulp round
 * to FLT_MAX; from there on they become Inf in f32. */
int bm_io_finite_in(double v, bm_dtype dt)
{
    if (!isfinite(v))
        return 0;
    return dt == BM_F64 || fabs(v) < (double)FLT_MAX + ldexp(1.0, FLT_MAX_EXP - FLT_MANT_DIG - 1);
}

/* A finite number in range rg (path already at the value). */
bm_status bm_io_want_real(bm_io_reader *r, const cJSON *j, bm_io_range rg, double *out)
{
    bm_status s = bm_io_want(r, j, cJSON_Number, "a number");
    if (s != BM_OK)
        return s;
    double v = j->valuedouble;
    if (!isfinite(v))
        return bm_io_fail(r, BM_ERR_NUMERIC,
                          "the number is not finite (out of the range of a double)");
    if (rg == BM_IO_POSITIVE && !(v > 0.0))
        return bm_io_fail(r, BM_ERR_ARG, "%.17g must be > 0", v);
    if (rg == BM_IO_NONNEGATIVE && !(v >= 0.0))
        return bm_io_fail(r, BM_ERR_ARG, "%.17g must be >= 0", v);
    if (rg == BM_IO_UNIT && !(v >= 0.0 && v < 1.0))
        return bm_io_fail(r, BM_ERR_ARG, "%.17g must be in [0, 1)", v);
    if (rg == BM_IO_UNIT_CLOSED && !(v >= 0.0 && v <= 1.0))
        return bm_io_fail(r, BM_ERR_ARG, "%.17g must be in [0, 1]", v);
    *out = v;
    return BM_OK;
}

/* An integer in [lo, hi]; code is the status of one out of range. */
bm_status bm_io_want_uint(bm_io_reader *r, const cJSON *j, uint64_t lo, uint64_t hi, bm_status code,
                          uint64_t *out)
{
    double v = 0;
    bm_status s = bm_io_want_real(r, j, BM_IO_NONNEGATIVE, &v);
    if (s == BM_ERR_ARG || (s == BM_OK && (v != floor(v) || v < (double)lo || v > (double)hi)))
        return bm_io_fail(r, code, "expected an integer in [%llu, %llu], got %.17g",
                          (unsigned long long)lo, (unsigned long long)hi, j->valuedouble);
    if (s != BM_OK)
        return s;
    *out = (uint64_t)v;
    return BM_OK;
}

/* Optional obj.key as a number in rg; *present says whether it was there. */
bm_status bm_io_get_real(bm_io_reader *r, const cJSON *obj, const char *key, bm_io_range rg,
                         double *out)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!j)
        return BM_OK;
    size_t old = bm_io_push_key(r, key);
    bm_status s = bm_io_want_real(r, j, rg, out);
    if (s == BM_OK)
        bm_io_pop(r, old);
    return s;
}

/* obj.key as an integer in [lo, hi]; *present (may be NULL) says whether
 * it was there. */
bm_status bm_io_get_uint(bm_io_reader *r, const cJSON *obj, const char *key, int required,
                         uint64_t lo, uint64_t hi, bm_status code, uint64_t *out, int *present)
{
    const cJSON *j;
    bm_status s = bm_io_member(r, obj, key, required, &j);
    if (s != BM_OK || !j)
        return s;
    size_t old = bm_io_push_key(r, key);
    if ((s = bm_io_want_uint(r, j, lo, hi, code, out)) != BM_OK)
        return s;
    bm_io_pop(r, old);
    if (present)
        *present = 1;
    return BM_OK;
}

/* obj.key as a string (NULL when absent and not required). */
bm_status bm_io_get_string(bm_io_reader *r, const cJSON *obj, const char *key, int required,
                           const char **out)
{
    const cJSON *j;
    *out = NULL;
    bm_status s = bm_io_member(r, obj, key, required, &j);
    if (s != BM_OK || !j)
        return s;
    size_t old = bm_io_push_key(r, key);
    if ((s = bm_io_want(r, j, cJSON_String, "a string")) != BM_OK)
        return s;
    bm_io_pop(r, old);
    *out = j->valuestring;
    return BM_OK;
}

/* A library name parser's failure, reported at obj.key. */
bm_status bm_io_bad_name(bm_io_reader *r, const char *key, const bm_error *e)
{
    bm_io_push_key(r, key);
    return bm_io_fail(r, BM_ERR_PARSE, "%s", bm_io_unprefixed(e->msg));
}

/* ------------------------------------------------------- number arrays */

/* An array of exactly n numbers, each finite in dt. */
bm_status bm_io_want_numbers(bm_io_reader *r, const cJSON *a, size_t n, bm_dtype dt)
{
    bm_status s = bm_io_want(r, a, cJSON_Array, "an array of numbers");
    if (s != BM_OK)
        return s;
    size_t got = bm_io_count(a), i = 0;
    if (got != n)
        return bm_io_fail(r, BM_ERR_SHAPE, "expected %zu numbers, got %zu", n, got);
    for (const cJSON *c = a->child; c; c = c->next, i++) {
        if (!bm_io_is(c, cJSON_Number) || !bm_io_finite_in(c->valuedouble, dt)) {
            bm_io_push_index(r, i);
            if (!bm_io_is(c, cJSON_Number))
                return bm_io_fail(r, BM_ERR_PARSE, "expected a number, got %s", bm_io_type_name(c));
            return bm_io_fail(r, BM_ERR_NUMERIC, "%g is not finite in %s", c->valuedouble,
                              bm_dtype_name(dt));
        }
    }
    return BM_OK;
}

/* An array of `rows` arrays of `cols` numbers (a weights matrix). */
bm_status bm_io_want_matrix(bm_io_reader *r, const cJSON *a, size_t rows, size_t cols, bm_dtype dt)
{
    bm_status s = bm_io_want(r, a, cJSON_Array, "an array of rows");
    if (s != BM_OK)
        return s;
    size_t got = bm_io_count(a), i = 0;
    const cJSON *first = a->child;
    if (got != rows || (first && bm_io_is(first, cJSON_Array) && bm_io_count(first) != cols)) {
        if (!first || !bm_io_is(first, cJSON_Array))
            return bm_io_fail(r, BM_ERR_SHAPE, "expected %zux%zu, got an array of %zu values", rows,
                              cols, got);
        return bm_io_fail(r, BM_ERR_SHAPE, "expected %zux%zu, got %zux%zu", rows, cols, got,
                          bm_io_count(first));
    }
    for (const cJSON *c = a->child; c; c = c->next, i++) {
        size_t old = bm_io_push_index(r, i);
        if ((s = bm_io_want_numbers(r, c, cols, dt)) != BM_OK)
            return s;
        bm_io_pop(r, old);
    }
    return BM_OK;
}

/* Store the numbers of a validated array at dst[off...] in dt. */
size_t bm_io_copy_numbers(const cJSON *a, void *dst, bm_dtype dt, size_t off)
{
    for (const cJSON *c = a->child; c; c = c->next, off++) {
        if (dt == BM_F32)
            ((float *)dst)[off] = (float)c->valuedouble;
        else
            ((double *)dst)[off] = c->valuedouble;
    }
    return off;
}

/* Reject text nested deeper than BM_MODEL_MAX_DEPTH or holding NUL bytes
 * before cJSON (recursive) sees it. */
bm_status bm_io_prescan(bm_io_reader *r, const char *s, size_t len)
{
    size_t depth = 0, line, col;
    int in_string = 0, escaped = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '\0' || (!in_string && (c == '[' || c == '{') && ++depth > BM_MODEL_MAX_DEPTH)) {
            bm_io_line_col(s, i, &line, &col);
            if (c == '\0')
                return bm_io_fail(r, BM_ERR_PARSE, "NUL byte at line %zu column %zu", line, col);
            return bm_io_fail(r, BM_ERR_PARSE,
                              "nested deeper than %d levels at line %zu column %zu",
                              BM_MODEL_MAX_DEPTH, line, col);
        }
        if (in_string) {
            if (escaped)
                escaped = 0;
            else if (c == '\\')
                escaped = 1;
            else if (c == '"')
                in_string = 0;
        } else if (c == '"') {
            in_string = 1;
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return BM_OK;
}

/* Read a whole file (at most BM_MODEL_MAX_FILE_BYTES) into *out, NUL-ended. */
bm_status bm_io_read_file(bm_io_reader *r, char **out, size_t *len)
{
    char eb[BM_FILE_ERRNO_LEN];
    uint64_t size = 0;
    bm_error e = {0};
    FILE *f = bm_file_open_read(r->name, BM_MODEL_MAX_FILE_BYTES, &size, &e);
    if (!f)
        return bm_error_set(r->err, e.code, "%s", e.msg);
    size_t cap = (size_t)size + 2, n = 0; /* one read, then EOF, then the NUL */
    char *buf = malloc(cap);
    bm_status s = buf ? BM_OK : bm_io_fail(r, BM_ERR_NOMEM, "out of memory for %zu bytes", cap);
    while (s == BM_OK) {
        if (cap - n < 2) {
            size_t nc = cap > BM_MODEL_MAX_FILE_BYTES / 2 ? BM_MODEL_MAX_FILE_BYTES + 2 : 2 * cap;
            char *nb = realloc(buf, nc);
            if (!nb) {
                s = bm_io_fail(r, BM_ERR_NOMEM, "out of memory for %zu bytes", nc);
                break;
            }
            buf = nb;
            cap = nc;
        }
        size_t want_n = cap - 1 - n, got = fread(buf + n, 1, want_n, f);
        n += got;
        if (n > BM_MODEL_MAX_FILE_BYTES)
            s = bm_io_fail(r, BM_ERR_SIZE, "the file has more than %zu bytes (the limit)",
                           BM_MODEL_MAX_FILE_BYTES);
        else if (got < want_n)
            break;
    }
    if (s == BM_OK && ferror(f))
        s = bm_io_fail(r, BM_ERR_IO, "read error: %s", bm_file_strerror(errno, eb, sizeof eb));
    fclose(f);
    if (s != BM_OK) {
        free(buf);
        return s;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return BM_OK;
}
