/* anomaly.c — anomaly mode: find the first NaN or Inf an op produces.
 *
 * With bm_tape_set_detect_anomaly(tape, 1), tape.c calls these checks after
 * every op's forward (recording and replay) and on every gradient a vjp gives.
 * The first non-finite value becomes the tape's sticky BM_ERR_NUMERIC error,
 * with a message that names the op, its tape position, the tensor and flat
 * index, the value, and each input's shape and value range:
 *
 *   anomaly: forward of node 5 (log): output[3] = -inf; inputs: [4,3] in [-0.5, 2]
 *
 * Each check is one pass over the tensor it checks; nothing is allocated. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>

#include "anomaly_internal.h"

/* Room for one shape string ("[1024,1024,3,3]"). */
enum { SHAPE_LEN = 64 };

/* Index of the first non-finite of the n values of dt at p; n when none. */
static size_t first_bad(bm_dtype dt, const void *p, size_t n)
{
    if (dt == BM_F64) {
        const double *d = p;
        for (size_t i = 0; i < n; i++)
            if (!isfinite(d[i]))
                return i;
    } else {
        const float *f = p;
        for (size_t i = 0; i < n; i++)
            if (!isfinite(f[i]))
                return i;
    }
    return n;
}

/* Element i as a double; a NaN loses its sign bit so it prints "nan". */
static double value_at(bm_dtype dt, const void *p, size_t i)
{
    double v = dt == BM_F64 ? ((const double *)p)[i] : (double)((const float *)p)[i];
    return isnan(v) ? fabs(v) : v;
}

/* Append printf-style text at buf[*pos] (len bytes in all), truncating. */
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static void put(char *buf, size_t len, size_t *pos, const char *fmt, ...)
{
    if (*pos >= len)
        return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(buf + *pos, len - *pos, fmt, ap);
    va_end(ap);
    *pos = w < 0 ? len : *pos + (size_t)w;
}

/* Append "[4,3] in [min, max]" for values (t's shape and dtype); NaNs are
 * left out of the range and counted ("with 2 nan"). */
static void put_range(char *buf, size_t len, size_t *pos, const bm_tensor *t, const void *vals)
{
    char shp[SHAPE_LEN];
    double lo = INFINITY, hi = -INFINITY;
    size_t nans = 0;
    for (size_t i = 0; i < t->size; i++) {
        double v = value_at(t->dtype, vals, i);
        if (isnan(v)) {
            nans++;
            continue;
        }
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    put(buf, len, pos, "%s", bm_shape_str(t, shp, sizeof shp));
    if (nans < t->size)
        put(buf, len, pos, " in [%g, %g]", lo, hi);
    if (nans)
        put(buf, len, pos, " with %zu nan", nans);
}

/* Append "; inputs: [4,3] in [-0.5, 2], [3] in [0, 1]" for node n. */
static void put_inputs(char *buf, size_t len, size_t *pos, const bm_node *n)
{
    put(buf, len, pos, "; inputs: ");
    if (n->n_in == 0)
        put(buf, len, pos, "none");
    for (int k = 0; k < n->n_in; k++) {
        if (k)
            put(buf, len, pos, ", ");
        put_range(buf, len, pos, n->in[k], n->in[k]->data);
    }
}

bm_status bm_anomaly_forward(bm_tape *tape, const bm_node *n)
{
    const bm_tensor *out = n->out;
    if (bm_tape_status(tape) != BM_OK)
        return bm_tape_status(tape);
    if (n->op->flags & BM_OP_NONFINITE_OK)
        return BM_OK; /* ±inf on purpose (a causal mask) */
    size_t i = first_bad(out->dtype, out->data, out->size);
    if (i == out->size)
        return BM_OK;
    char msg[BM_ERR_LEN];
    size_t pos = 0;
    put(msg, sizeof msg, &pos, "anomaly: forward of node %zu (%s): output[%zu] = %g", n->index,
        n->op->name, i, value_at(out->dtype, out->data, i));
    put_inputs(msg, sizeof msg, &pos, n);
    return bm_tape_fail(tape, BM_ERR_NUMERIC, "%s", msg);
}

bm_status bm_anomaly_grad(bm_tape *tape, const bm_node *n, int k, const bm_tensor *g,
                         const bm_tensor *out_grad)
{
    if (bm_tape_status(tape) != BM_OK)
        return bm_tape_status(tape);
    size_t i = first_bad(g->dtype, g->data, g->size);
    if (i == g->size)
        return BM_OK;
    char msg[BM_ERR_LEN];
    size_t pos = 0;
    put(msg, sizeof msg, &pos, "anomaly: backward of node %zu (%s): gradient of input %d[%zu] = %g",
        n->index, n->op->name, k, i, value_at(g->dtype, g->data, i));
    put_inputs(msg, sizeof msg, &pos, n);
    if (out_grad) {
        put(msg, sizeof msg, &pos, "; output gradient ");
        put_range(msg, sizeof msg, &pos, out_grad, out_grad->data);
    }
    return bm_tape_fail(tape, BM_ERR_NUMERIC, "%s", msg);
}

bm_status bm_anomaly_leaf(bm_tape *tape, const bm_tensor *leaf, const bm_tensor *g)
{
    char shp[SHAPE_LEN];
    if (bm_tape_status(tape) != BM_OK)
        return bm_tape_status(tape);
    size_t i = first_bad(leaf->dtype, leaf->grad, leaf->size);
    if (i == leaf->size)
        return BM_OK;
    const bm_node *from = g->node ? g->node->origin : NULL;
    if (from)
        return bm_tape_fail(tape, BM_ERR_NUMERIC,
                            "anomaly: backward of node %zu (%s): accumulated gradient of the "
                            "leaf %s[%zu] = %g",
                            from->index, from->op->name, bm_shape_str(leaf, shp, sizeof shp), i,
                            value_at(leaf->dtype, leaf->grad, i));
    return bm_tape_fail(tape, BM_ERR_NUMERIC, "anomaly: backward: accumulated gradient of the leaf %s[%zu] = %g",
                        bm_shape_str(leaf, shp, sizeof shp), i, value_at(leaf->dtype, leaf->grad, i));
}

bm_status bm_anomaly_seed(bm_tape *tape, const bm_tensor *out, const bm_tensor *seed)
{
    char shp[SHAPE_LEN];
    if (bm_tape_status(tape) != BM_OK)
        return bm_tape_status(tape);
    size_t i = first_bad(seed->dtype, seed->data, seed->size);
    if (i == seed->size)
        return BM_OK;
    if (out->node)
        return bm_tape_fail(tape, BM_ERR_NUMERIC,
                            "anomaly: backward seed[%zu] = %g for the output %s of node %zu (%s)",
                            i, value_at(seed->dtype, seed->data, i),
                            bm_shape_str(out, shp, sizeof shp), out->node->index,
                            out->node->op->name);
    return bm_tape_fail(tape, BM_ERR_NUMERIC, "anomaly: backward seed[%zu] = %g for the leaf %s", i,
                        value_at(seed->dtype, seed->data, i), bm_shape_str(out, shp, sizeof shp));
}
