/* layer_misc.c — shape, embedding and merging kinds: flatten, reshape,
 * embedding, add, concat. Shapes are per sample: the batch axis is never
 * flattened, reshaped, broadcast or joined along. */
#include "bm_ops.h"
#include "layer_util_internal.h"

/* torch.nn.Embedding's initial weights: N(0, 1). */
#define EMBEDDING_STD 1.0

/* ---------------------------------------------------------------- flatten, reshape */

/* [..] -> [prod]. */
static bm_status flatten_infer(const bm_layer_spec *s, const bm_shape *in, size_t n_in,
                               bm_shape *out, bm_error *err)
{
    (void)s;
    (void)n_in;
    (void)err;
    *out = (bm_shape){.rank = 1, .dim = {bm_layer_shape_size(in)}};
    return BM_OK;
}

static bm_tensor *flatten_record(bm_tape *tape, const bm_layer_call *c)
{
    bm_shape flat = {.rank = 1, .dim = {bm_layer_shape_size(c->in_shapes)}};
    return bm_layer_reshape(tape, c->in[0], &flat);
}

const bm_layer_vt bm_layer_vt_flatten = {
    .name = "flatten", .summary = "[..] -> [product of the sizes] (torch.nn.Flatten)",
    .min_inputs = 1, .max_inputs = 1, .keys = bm_layer_no_keys, .infer = flatten_infer,
    .params = bm_layer_no_params, .record = flatten_record,
};

static const char *const reshape_keys[] = {"shape", NULL};

static bm_status reshape_check(const bm_layer_spec *s, bm_error *err)
{
    char buf[BM_LAYER_SHAPE_LEN];
    int bad = s->shape.rank < 1 || s->shape.rank > BM_LAYER_MAX_RANK;
    for (int d = 0; !bad && d < s->shape.rank; d++)
        bad = s->shape.dim[d] == 0;
    if (bad)
        return bm_error_set(err, BM_ERR_SHAPE, "reshape: shape %s must have 1..%d sizes, each "
                            ">= 1", s->shape.rank >= 0 && s->shape.rank <= BM_LAYER_MAX_RANK
                                        ? bm_layer_shape_text(&s->shape, buf, sizeof buf)
                                        : "of a bad rank",
                            BM_LAYER_MAX_RANK);
    return BM_OK;
}

static bm_status reshape_infer(const bm_layer_spec *s, const bm_shape *in, size_t n_in,
                               bm_shape *out, bm_error *err)
{
    (void)n_in;
    char a[BM_LAYER_SHAPE_LEN], b[BM_LAYER_SHAPE_LEN];
    size_t n = 1;
    for (int d = 0; d < s->shape.rank; d++)
        n = s->shape.dim[d] > BM_MAX_ELEMENTS / n ? BM_MAX_ELEMENTS + 1 : n * s->shape.dim[d];
    if (n != bm_layer_shape_size(in))
        return bm_error_set(err, BM_ERR_SHAPE, "reshape: input %s does not fit shape %s",
                            bm_layer_shape_text(in, a, sizeof a),
                            bm_layer_shape_text(&s->shape, b, sizeof b));
    *out = s->shape;
    return BM_OK;
}

static bm_tensor *reshape_record(bm_tape *tape, const bm_layer_call *c)
{
    return bm_layer_reshape(tape, c->in[0], &c->spec->shape);
}

const bm_layer_vt bm_layer_vt_reshape = {
    .name = "reshape", .summary = "the same values in the per-sample shape `shape`",
    .min_inputs = 1, .max_inputs = 1, .keys = reshape_keys, .check = reshape_check,
    .infer = reshape_infer, .params = bm_layer_no_params, .record = reshape_record,
};

/* ---------------------------------------------------------------- embedding */

static const char *const embedding_keys[] = {"in", "out", "l1_weights", "l2_weights", NULL};

static bm_status embedding_check(const bm_layer_spec *s, bm_error *err)
{
    bm_status st = bm_layer_check_size("embedding", "in (rows)", s->in, BM_MAX_ELEMENTS, err);
    if (st == BM_OK)
        st = bm_layer_check_size("embedding", "out (width)", s->out, BM_MAX_ELEMENTS, err);
    if (st == BM_OK && s->out > BM_MAX_ELEMENTS / s->in)
        st = bm_error_set(err, BM_ERR_SIZE, "embedding: %zu rows of %zu are too many", s->in,
                          s->out);
    return st == BM_OK ? bm_layer_check_penalties("embedding", s, err) : st;
}

/* Token ids [..] (rank 0..2) -> [.., out]. */
static bm_status embedding_infer(const bm_layer_spec *s, const bm_shape *in, size_t n_in,
                                 bm_shape *out, bm_error *err)
{
    (void)n_in;
    char buf[BM_LAYER_SHAPE_LEN];
    if (in->rank > BM_LAYER_MAX_RANK - 1)
        return bm_error_set(err, BM_ERR_SHAPE, "embedding: input %s must be ids [T] or "
                            "[T1,T2]", bm_layer_shape_text(in, buf, sizeof buf));
    if (s->out > BM_MAX_ELEMENTS / bm_layer_shape_size(in))
        return bm_error_set(err, BM_ERR_SIZE, "embedding: input %s with width %zu is too large",
                            bm_layer_shape_text(in, buf, sizeof buf), s->out);
    *out = *in;
    out->dim[out->rank++] = s->out;
    return BM_OK;
}

static size_t embedding_params(const bm_layer_spec *s, const bm_shape *in, size_t n_in,
                               bm_param_desc *p)
{
    (void)in;
    (void)n_in;
    p[0] = (bm_param_desc){.name = "weights", .rank = 2, .shape = {s->in, s->out},
                           .init = BM_PINIT_NORMAL, .std = EMBEDDING_STD,
                           .fan_in = s->in, .fan_out = s->out, .role = BM_ROLE_WEIGHT};
    return 1;
}

static bm_tensor *embedding_record(bm_tape *tape, const bm_layer_call *c)
{
    return bm_embedding(tape, c->in[0], c->params[0]);
}

const bm_layer_vt bm_layer_vt_embedding = {
    .name = "embedding",
    .summary = "rows of weights [in,out] for token ids [T] -> [T,out] (torch.nn.Embedding; "
               "ids stored as numbers, N(0,1) weights)",
    .min_inputs = 1, .max_inputs = 1, .keys = embedding_keys, .check = embedding_check,
    .infer = embedding_infer, .params = embedding_params, .record = embedding_record,
};

/* ---------------------------------------------------------------- add */

/* NumPy broadcasting of per-sample shapes, aligned at the last axis. */
static bm_status add_infer(const bm_layer_spec *s, const bm_shape *in, size_t n_in,
                           bm_shape *out, bm_error *err)
{
    (void)s;
    char a[BM_LAYER_SHAPE_LEN], b[BM_LAYER_SHAPE_LEN];
    *out = in[0];
    for (size_t k = 1; k < n_in; k++) {
        bm_shape r = in[k].rank > out->rank ? in[k] : *out;
        const bm_shape *o = in[k].rank > out->rank ? out : &in[k];
        for (int d = 0; d < o->rank; d++) {
            size_t *x = &r.dim[r.rank - o->rank + d], y = o->dim[d];
            if (*x != y && *x != 1 && y != 1)
                return bm_error_set(err, BM_ERR_SHAPE, "add: input %zu %s does not broadcast "
                                    "with %s (the inputs before it)", k,
                                    bm_layer_shape_text(&in[k], a, sizeof a),
                                    bm_layer_shape_text(out, b, sizeof b));
            if (*x == 1)
                *x = y;
        }
        *out = r;
    }
    return bm_layer_check_total("add", out, err);
}

/* x [B, s] as [B, 1.., s] of `rank` per-sample axes (broadcasting aligns
 * per-sample axes, never the batch axis). */
static bm_tensor *to_rank(bm_tape *tape, bm_tensor *x, const bm_shape *s, int rank)
{
    if (s->rank == rank)
        return x;
    bm_shape full = {.rank = rank};
    for (int d = 0; d < rank; d++)
        full.dim[d] = d < rank - s->rank ? 1 : s->dim[d - (rank - s->rank)];
    return bm_layer_reshape(tape, x, &full);
}

static bm_tensor *add_record(bm_tape *tape, const bm_layer_call *c)
{
    int rank = 0;
    for (size_t k = 0; k < c->n_in; k++)
        rank = c->in_shapes[k].rank > rank ? c->in_shapes[k].rank : rank;
    bm_tensor *y = to_rank(tape, c->in[0], &c->in_shapes[0], rank);
    for (size_t k = 1; k < c->n_in; k++)
        y = bm_add(tape, y, to_rank(tape, c->in[k], &c->in_shapes[k], rank));
    return y;
}

const bm_layer_vt bm_layer_vt_add = {
    .name = "add",
    .summary = "the sum of 2..16 inputs; per-sample shapes broadcast as NumPy's, aligned at "
               "the last axis ([C,H,W] + [C,1,1])",
    .min_inputs = 2, .max_inputs = BM_LAYER_MAX_INPUTS, .keys = bm_layer_no_keys,
    .infer = add_infer,
    .params = bm_layer_no_params, .record = add_record,
};

/* ---------------------------------------------------------------- concat */

static const char *const concat_keys[] = {"axis", NULL};

/* The axis of per-sample rank `rank` (negative from the end), -1 when out of range. */
static int concat_axis(int axis, int rank)
{
    int a = axis < 0 ? axis + rank : axis;
    return a >= 0 && a < rank ? a : -1;
}

static bm_status concat_infer(const bm_layer_spec *s, const bm_shape *in, size_t n_in,
                              bm_shape *out, bm_error *err)
{
    char a[BM_LAYER_SHAPE_LEN], b[BM_LAYER_SHAPE_LEN];
    int ax = concat_axis(s->axis, in[0].rank);
    if (ax < 0)
        return bm_error_set(err, BM_ERR_SHAPE, "concat: axis %d is not an axis of input 0 %s",
                            s->axis, bm_layer_shape_text(&in[0], a, sizeof a));
    *out = in[0];
    for (size_t k = 1; k < n_in; k++) {
        int same = in[k].rank == in[0].rank;
        for (int d = 0; same && d < in[0].rank; d++)
            same = d == ax || in[k].dim[d] == in[0].dim[d];
        if (!same)
            return bm_error_set(err, BM_ERR_SHAPE, "concat: input %zu %s does not match input "
                                "0 %s off axis %d", k, bm_layer_shape_text(&in[k], a, sizeof a),
                                bm_layer_shape_text(&in[0], b, sizeof b), s->axis);
        out->dim[ax] += in[k].dim[ax];
    }
    return bm_layer_check_total("concat", out, err);
}

static bm_tensor *concat_record(bm_tape *tape, const bm_layer_call *c)
{
    int ax = concat_axis(c->spec->axis, c->in_shapes[0].rank);
    return bm_concat(tape, (int)c->n_in, c->in, ax + 1);
}

const bm_layer_vt bm_layer_vt_concat = {
    .name = "concat",
    .summary = "2..16 inputs joined along per-sample `axis` (negative from the end; 0: the "
               "first, channels) (torch.cat on dim axis + 1)",
    .min_inputs = 2, .max_inputs = BM_LAYER_MAX_INPUTS, .keys = concat_keys,
    .infer = concat_infer, .params = bm_layer_no_params, .record = concat_record,
};
