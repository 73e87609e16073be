#define _POSIX_C_SOURCE 200809L
/* data_csv.c — load and save data sets as CSV.
 *
 * Reading: regular files only (bm_file_open_read), lines up to
 * BM_CSV_MAX_LINE_BYTES (the limits enforced as a line grows), fields split by ',' with optional
 * "double quotes" ("" is a quote inside), spaces around fields ignored,
 * CRLF accepted, a leading UTF-8 byte order mark ignored, blank lines and
 * '#' comment lines skipped. Every error names
 * path:line[:column]. Values are collected as doubles in growable arrays and
 * copied into tensors once the row count is known. Saving goes through the
 * atomic writer (bm_file.h). */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bm_data.h"
#include "file_internal.h"

/* At most this many characters of a bad field are quoted in a message. */
#define CSV_SHOW_CHARS 40
/* Largest class label accepted (n_classes = label + 1 must stay sane). */
#define CSV_MAX_LABEL 16777216.0
/* First capacity of the growable arrays. */
#define CSV_INITIAL_CAP 64
/* Starts a comment line (after optional spaces). */
#define CSV_COMMENT '#'
/* Separates fields. */
#define CSV_SEP ','
/* Encloses a quoted field. */
#define CSV_QUOTE '"'
/* The UTF-8 byte order mark some editors put at the start of a file. */
#define CSV_BOM "\xef\xbb\xbf"
#define CSV_BOM_LEN 3
/* Name of the label column written by bm_data_save_csv. */
#define CSV_LABEL_NAME "label"

bm_csv_opts bm_csv_defaults(void)
{
    bm_csv_opts o = {.header = -1, .label_column = NULL};
    return o;
}

/* A growable array of doubles. */
typedef struct dvec {
    double *v;
    size_t n, cap;
} dvec;

/* Append x; 0 on success, -1 when out of memory or the size overflows. */
static int dvec_push(dvec *d, double x)
{
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap : CSV_INITIAL_CAP;
        if (d->cap) {
            if (d->cap > SIZE_MAX / 2 / sizeof(double))
                return -1;
            cap = d->cap * 2;
        }
        double *v = realloc(d->v, cap * sizeof(double));
        if (!v)
            return -1;
        d->v = v;
        d->cap = cap;
    }
    d->v[d->n++] = x;
    return 0;
}

/* Fields of one line: pointers into the line buffer. */
typedef struct fieldv {
    char **f;
    size_t n, cap;
} fieldv;

static int fieldv_push(fieldv *fv, char *s)
{
    if (fv->n == fv->cap) {
        size_t cap = fv->cap ? fv->cap : CSV_INITIAL_CAP;
        if (fv->cap) {
            if (fv->cap > SIZE_MAX / 2 / sizeof(char *))
                return -1;
            cap = fv->cap * 2;
        }
        char **f = realloc(fv->f, cap * sizeof(char *));
        if (!f)
            return -1;
        fv->f = f;
        fv->cap = cap;
    }
    fv->f[fv->n++] = s;
    return 0;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* State of one load, so helpers can report errors with the position. */
typedef struct csv_reader {
    const char *path;
    size_t line_no;
    bm_error *err;
} csv_reader;

/* Copy s into buf for a message: at most CSV_SHOW_CHARS, unprintables as '?'. */
static const char *show(const char *s, char *buf, size_t len)
{
    size_t i = 0;
    for (; s[i] && i + 4 < len && i < CSV_SHOW_CHARS; i++)
        buf[i] = (s[i] >= ' ' && s[i] < 0x7f) ? s[i] : '?';
    if (s[i]) {
        memcpy(buf + i, "...", 3);
        i += 3;
    }
    buf[i] = '\0';
    return buf;
}

/* Split `line` in place into fields (unquoting, trimming spaces). */
static bm_status split_fields(csv_reader *rd, char *line, fieldv *out)
{
    char *r = line, *w = line;
    out->n = 0;
    for (;;) {
        while (*r == ' ' || *r == '\t')
            r++;
        char *start = w;
        if (*r == CSV_QUOTE) {
            r++;
            for (;;) {
                if (*r == '\0')
                    return bm_error_set(rd->err, BM_ERR_PARSE, "%s:%zu:%zu: unterminated quote",
                                        rd->path, rd->line_no, out->n + 1);
                if (*r == CSV_QUOTE) {
                    if (r[1] != CSV_QUOTE) {
                        r++;
                        break;
                    }
                    r++;
                }
                *w++ = *r++;
            }
            while (*r == ' ' || *r == '\t')
                r++;
            if (*r != CSV_SEP && *r != '\0')
                return bm_error_set(rd->err, BM_ERR_PARSE,
                                    "%s:%zu:%zu: text after a closing quote", rd->path,
                                    rd->line_no, out->n + 1);
        } else {
            while (*r != CSV_SEP && *r != '\0')
                *w++ = *r++;
            while (w > start && (w[-1] == ' ' || w[-1] == '\t'))
                w--;
        }
        char term = *r; /* w <= r: the NUL may overwrite the separator */
        *w++ = '\0';
        if (out->n >= BM_CSV_MAX_COLUMNS)
            return bm_error_set(rd->err, BM_ERR_SIZE, "%s:%zu: more than %zu columns (the limit)",
                                rd->path, rd->line_no, BM_CSV_MAX_COLUMNS);
        if (fieldv_push(out, start) != 0)
            return bm_error_set(rd->err, BM_ERR_NOMEM, "%s:%zu: out of memory", rd->path,
                                rd->line_no);
        if (term == '\0')
            return BM_OK;
        r++;
    }
}

/* Does s parse completely as a number (finite or not)? */
static int parse_number(const char *s, double *v)
{
    if (!*s)
        return 0;
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    return end != s && *end == '\0';
}

/* Parse field `col` (0-based) of the current line as a finite number. */
static bm_status field_value(csv_reader *rd, const char *s, size_t col, bm_dtype dt, double *v)
{
    char buf[CSV_SHOW_CHARS + 8];
    if (!*s)
        return bm_error_set(rd->err, BM_ERR_PARSE, "%s:%zu:%zu: missing value", rd->path,
                            rd->line_no, col + 1);
    if (!parse_number(s, v))
        return bm_error_set(rd->err, BM_ERR_PARSE, "%s:%zu:%zu: expected a number, got '%s'",
                            rd->path, rd->line_no, col + 1, show(s, buf, sizeof buf));
    if (!isfinite(*v) || (dt == BM_F32 && fabs(*v) > FLT_MAX))
        return bm_error_set(rd->err, BM_ERR_PARSE, "%s:%zu:%zu: value is not finite%s ('%s')",
                            rd->path, rd->line_no, col + 1,
                            isfinite(*v) ? " in f32" : "", show(s, buf, sizeof buf));
    return BM_OK;
}

/* Is this line blank or a comment? */
static int skip_line(const char *s)
{
    while (is_space(*s))
        s++;
    return *s == '\0' || *s == CSV_COMMENT;
}

/* Does any non-empty field fail to parse as a number (so the line is a header)? */
static int looks_like_header(const fieldv *fv)
{
    double v;
    for (size_t i = 0; i < fv->n; i++)
        if (fv->f[i][0] && !parse_number(fv->f[i], &v))
            return 1;
    return 0;
}

/* Decide on the first content line: header or not, column count, label column. */
static bm_status first_line(csv_reader *rd, const fieldv *fv, const bm_csv_opts *o,
                            size_t *ncols, size_t *label, int *is_header)
{
    *ncols = fv->n;
    *is_header = o->header == 1 || (o->header < 0 && looks_like_header(fv));
    *label = SIZE_MAX; /* no_label: none */
    if (o->no_label)
        return BM_OK;
    if (*ncols < 2)
        return bm_error_set(rd->err, BM_ERR_PARSE,
                            "%s:%zu: expected at least 2 columns (features and a label), got %zu",
                            rd->path, rd->line_no, *ncols);
    *label = *ncols - 1;
    if (!o->label_column)
        return BM_OK;
    if (!*is_header)
        return bm_error_set(rd->err, BM_ERR_ARG,
                            "%s: label column '%s' asked for but the file has no header",
                            rd->path, o->label_column);
    for (size_t i = 0; i < fv->n; i++)
        if (strcmp(fv->f[i], o->label_column) == 0) {
            *label = i;
            return BM_OK;
        }
    return bm_error_set(rd->err, BM_ERR_ARG, "%s:%zu: no column named '%s' in the header",
                        rd->path, rd->line_no, o->label_column);
}

/* Check a class label: a non-negative integer no larger than CSV_MAX_LABEL. */
static bm_status check_label(csv_reader *rd, const char *s, size_t col, double v)
{
    char buf[CSV_SHOW_CHARS + 8];
    if (v < 0 || v != floor(v) || v > CSV_MAX_LABEL)
        return bm_error_set(rd->err, BM_ERR_PARSE,
                            "%s:%zu:%zu: class label must be an integer in 0..%.0f, got '%s'",
                            rd->path, rd->line_no, col + 1, CSV_MAX_LABEL,
                            show(s, buf, sizeof buf));
    return BM_OK;
}

/* Move the collected values into ds (x [rows, F], y [rows] or [rows, 1]). */
/* x [rows, nfeat] from xs and, unless no_label, y from ys. */
static bm_status build(bm_dataset *ds, const dvec *xs, const dvec *ys, size_t rows,
                       size_t nfeat, int no_label, size_t n_classes, bm_dtype dt, bm_error *err)
{
    size_t xshape[2] = {rows, nfeat}, yshape[2] = {rows, 1};
    ds->x = bm_tensor_new(dt, 2, xshape, err);
    ds->y = ds->x && !no_label ? bm_tensor_new(dt, n_classes ? 1 : 2, yshape, err) : NULL;
    if (!ds->x || (!no_label && !ds->y)) {
        bm_dataset_free(ds);
        return err->code;
    }
    for (size_t i = 0; i < xs->n; i++)
        bm_tensor_set(ds->x, i, xs->v[i]);
    for (size_t i = 0; i < ys->n; i++)
        bm_tensor_set(ds->y, i, ys->v[i]);
    ds->n_classes = n_classes;
    return BM_OK;
}

/* Read the next line of f (through its '\n') into *line, NUL-ended, its
 * length into *len (0 at the end of the file). The limits are enforced
 * while the line grows, so endless input without a newline stops at
 * BM_CSV_MAX_LINE_BYTES (or at BM_CSV_MAX_FILE_BYTES in all, *total). */
static bm_status read_line(csv_reader *rd, FILE *f, uint64_t *total, char **line, size_t *cap,
                           size_t *len)
{
    char eb[BM_FILE_ERRNO_LEN];
    size_t n = 0;
    int c = 0;
    do {
        if (n + 2 > *cap) { /* room for c and the NUL */
            size_t nc = *cap ? 2 * *cap : CSV_INITIAL_CAP;
            if (nc > BM_CSV_MAX_LINE_BYTES + 2)
                nc = BM_CSV_MAX_LINE_BYTES + 2;
            char *p = realloc(*line, nc);
            if (!p)
                return bm_error_set(rd->err, BM_ERR_NOMEM, "%s:%zu: out of memory", rd->path,
                                    rd->line_no);
            *line = p;
            *cap = nc;
        }
        if ((c = getc_unlocked(f)) == EOF)
            break;
        (*line)[n++] = (char)c;
        if (n > BM_CSV_MAX_LINE_BYTES)
            return bm_error_set(rd->err, BM_ERR_SIZE, "%s:%zu: line longer than %zu bytes (the limit)",
                                rd->path, rd->line_no, BM_CSV_MAX_LINE_BYTES);
        if (*total + n > BM_CSV_MAX_FILE_BYTES)
            return bm_error_set(rd->err, BM_ERR_SIZE, "%s:%zu: more than %ju bytes (the limit)",
                                rd->path, rd->line_no, (uintmax_t)BM_CSV_MAX_FILE_BYTES);
    } while (c != '\n');
    if (ferror(f))
        return bm_error_set(rd->err, BM_ERR_IO, "%s: read error: %s", rd->path,
                            bm_file_strerror(errno, eb, sizeof eb));
    (*line)[n] = '\0';
    *total += n;
    *len = n;
    return BM_OK;
}

bm_status bm_data_load_csv(bm_dataset *ds, const char *path, const bm_csv_opts *o,
                           bm_dtype dt, bm_error *err)
{
    bm_error local_err;
    if (!err)
        err = &local_err;
    if (!ds || !path)
        return bm_error_set(err, BM_ERR_NULL, "bm_data_load_csv: NULL %s", ds ? "path" : "data set");
    memset(ds, 0, sizeof *ds);
    if (dt != BM_F32 && dt != BM_F64)
        return bm_error_set(err, BM_ERR_DTYPE, "bm_data_load_csv: unknown dtype %d", (int)dt);
    bm_csv_opts defaults = bm_csv_defaults();
    if (!o)
        o = &defaults;
    if (o->header < -1 || o->header > 1)
        return bm_error_set(err, BM_ERR_ARG, "bm_data_load_csv: header must be -1, 0 or 1, got %d",
                            o->header);
    FILE *f = bm_file_open_read(path, BM_CSV_MAX_FILE_BYTES, NULL, err);
    if (!f)
        return err->code;
    flockfile(f); /* ours alone: read_line's getc_unlocked needs the lock held */
    csv_reader rd = {path, 0, err};
    uint64_t bytes = 0; /* read so far: the file may have grown since fstat */
    char *line = NULL;
    size_t line_cap = 0, ncols = 0, label = 0, content_lines = 0, rows = 0, len = 0;
    double max_label = -1;
    fieldv fv = {0};
    dvec xs = {0}, ys = {0};
    bm_status s = BM_OK;
    for (;;) {
        rd.line_no++;
        if ((s = read_line(&rd, f, &bytes, &line, &line_cap, &len)) != BM_OK)
            goto done;
        if (len == 0) {
            rd.line_no--;
            break;
        }
        if (memchr(line, '\0', len)) {
            s = bm_error_set(err, BM_ERR_PARSE, "%s:%zu: line holds a NUL byte", path, rd.line_no);
            goto done;
        }
        if (rd.line_no == 1 && len >= CSV_BOM_LEN && memcmp(line, CSV_BOM, CSV_BOM_LEN) == 0) {
            len -= CSV_BOM_LEN; /* a UTF-8 byte order mark is not a header field */
            memmove(line, line + CSV_BOM_LEN, len + 1);
        }
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (skip_line(line))
            continue;
        if ((s = split_fields(&rd, line, &fv)) != BM_OK)
            goto done;
        if (content_lines++ == 0) {
            int is_header;
            if ((s = first_line(&rd, &fv, o, &ncols, &label, &is_header)) != BM_OK)
                goto done;
            if (is_header)
                continue;
        }
        if (fv.n != ncols) {
            s = bm_error_set(err, BM_ERR_PARSE, "%s:%zu: expected %zu columns, got %zu", path,
                             rd.line_no, ncols, fv.n);
            goto done;
        }
        rows++;
        for (size_t j = 0; j < ncols; j++) {
            double v = 0;
            if ((s = field_value(&rd, fv.f[j], j, dt, &v)) != BM_OK)
                goto done;
            if (j == label && !o->regression) {
                if ((s = check_label(&rd, fv.f[j], j, v)) != BM_OK)
                    goto done;
                if (v > max_label)
                    max_label = v;
            }
            if (dvec_push(j == label ? &ys : &xs, v) != 0) {
                s = bm_error_set(err, BM_ERR_NOMEM, "%s:%zu: out of memory", path, rd.line_no);
                goto done;
            }
        }
    }
    if (rows == 0) {
        if (content_lines)
            s = bm_error_set(err, BM_ERR_PARSE, "%s:%zu: no data rows after the header", path,
                             rd.line_no);
        else
            s = bm_error_set(err, BM_ERR_PARSE, "%s: file is empty", path);
        goto done;
    }
    s = build(ds, &xs, &ys, rows, o->no_label ? ncols : ncols - 1, o->no_label,
              o->regression || o->no_label ? 0 : (size_t)max_label + 1, dt, err);
done:
    free(line);
    free(fv.f);
    free(xs.v);
    free(ys.v);
    funlockfile(f);
    fclose(f);
    return s;
}

/* ---------------------------------------------------------------- saving */

/* Check ds for saving; computes rows, features and target columns. */
static bm_status check_for_save(const bm_dataset *ds, size_t *rows, size_t *nf, size_t *nt,
                                bm_error *err)
{
    if (!ds || !ds->x || !ds->y || !ds->x->data || !ds->y->data)
        return bm_error_set(err, BM_ERR_NULL, "bm_data_save_csv: data set has no x or y");
    const bm_tensor *x = ds->x, *y = ds->y;
    if (x->rank != 2 || y->rank < 1 || y->rank > 2 || y->shape[0] != x->shape[0])
        return bm_error_set(err, BM_ERR_SHAPE,
                            "bm_data_save_csv: need x [N,F] and y [N] or [N,T], got rank %d and %d",
                            x->rank, y->rank);
    *rows = x->shape[0];
    *nf = x->shape[1];
    *nt = y->rank == 2 ? y->shape[1] : 1;
    if (ds->n_classes && *nt != 1)
        return bm_error_set(err, BM_ERR_SHAPE,
                            "bm_data_save_csv: class labels must be one column, got %zu", *nt);
    for (size_t i = 0; i < x->size; i++)
        if (!isfinite(bm_tensor_get(x, i)))
            return bm_error_set(err, BM_ERR_NUMERIC, "bm_data_save_csv: x[%zu,%zu] is not finite",
                                i / *nf, i % *nf);
    for (size_t i = 0; i < y->size; i++)
        if (!isfinite(bm_tensor_get(y, i)))
            return bm_error_set(err, BM_ERR_NUMERIC, "bm_data_save_csv: y[%zu] is not finite", i);
    return BM_OK;
}

bm_status bm_data_save_csv(const bm_dataset *ds, const char *path, bm_error *err)
{
    bm_error local_err;
    if (!err)
        err = &local_err;
    size_t rows = 0, nf = 0, nt = 0;
    if (!path)
        return bm_error_set(err, BM_ERR_NULL, "bm_data_save_csv: path is NULL");
    bm_status s = check_for_save(ds, &rows, &nf, &nt, err);
    if (s != BM_OK)
        return s;
    bm_writer *w = bm_writer_open(path, err);
    if (!w)
        return err->code;
    for (size_t j = 0; j < nf; j++)
        bm_writer_printf(w, "x%zu,", j);
    if (ds->n_classes)
        bm_writer_printf(w, "%s", CSV_LABEL_NAME);
    else
        for (size_t j = 0; j < nt; j++)
            bm_writer_printf(w, j ? ",y%zu" : "y%zu", j);
    bm_writer_printf(w, "\n");
    for (size_t i = 0; i < rows; i++) {
        for (size_t j = 0; j < nf; j++)
            bm_writer_printf(w, "%.17g,", bm_tensor_get(ds->x, i * nf + j));
        for (size_t j = 0; j < nt; j++)
            bm_writer_printf(w, j ? ",%.17g" : "%.17g", bm_tensor_get(ds->y, i * nt + j));
        if (bm_writer_printf(w, "\n") != BM_OK)
            break; /* the first failure is sticky: commit reports it */
    }
    return bm_writer_commit(w, err);
}
