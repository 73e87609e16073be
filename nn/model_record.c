/* model_record.c — the forward graph recorded from the nodes' vtables in
 * insertion (topological) order, the L1/L2 penalties by parameter role,
 * and the loss on output 0 from the table in losses.def. */
#include <stddef.h>
#include <string.h>

#include "bm_ops.h"
#include "model_internal.h"

/* Room for a shape in a message. */
#define SHAPE_SHOWN 64

int bm_loss_categorical(bm_loss_kind k)
{
    static const int classes[] = {
#define BM_LOSS(id, name, builder, cls, summary) cls,
#include "losses.def"
#undef BM_LOSS
    };
    return (unsigned)k < BM_LOSS_KIND_COUNT && classes[k];
}

size_t bm_model_width(const bm_model *m)
{
    bm_loss_layout L = bm_model_loss_layout(m);
    return L.width;
}

bm_loss_layout bm_model_loss_layout(const bm_model *m)
{
    bm_loss_layout L = {1, 1, 1};
    const bm_shape *s = m->n_layers ? &m->layers[bm_model_out_node(m, 0)].shape
                                    : &m->inputs[0].shape;
    for (int a = 0; a < s->rank; a++)
        L.width *= s->dim[a];
    L.classes = s->rank ? s->dim[s->rank - 1] : 1;
    L.positions = L.width / L.classes;
    return L;
}

/* Whether the kind takes spec key `key`. */
static int has_key(const bm_layer_vt *vt, const char *key)
{
    for (size_t k = 0; vt->keys && vt->keys[k]; k++)
        if (strcmp(vt->keys[k], key) == 0)
            return 1;
    return 0;
}

/* Add the L1/L2 terms of every owned weight and bias; NULL when there are none. */
static bm_tensor *record_penalties(bm_model *m, bm_tape *tape)
{
    bm_tensor *reg = NULL;
    for (size_t i = 0; i < m->n_layers; i++) {
        const bm_layer *l = &m->layers[i];
        const bm_layer_spec *s = &l->spec;
        if (l->share >= 0 || !has_key(l->vt, "l1_weights"))
            continue;
        for (size_t k = 0; k < l->n_params; k++) {
            bm_param_role r = l->pd[k].role;
            double l1 = r == BM_ROLE_WEIGHT ? s->l1_weights : r == BM_ROLE_BIAS ? s->l1_biases : 0;
            double l2 = r == BM_ROLE_WEIGHT ? s->l2_weights : r == BM_ROLE_BIAS ? s->l2_biases : 0;
            bm_tensor *terms[2] = {l1 > 0 ? bm_l1(tape, l->params[k], l1) : NULL,
                                   l2 > 0 ? bm_l2(tape, l->params[k], l2) : NULL};
            for (int t = 0; t < 2; t++)
                if (terms[t])
                    reg = reg ? bm_add(tape, reg, terms[t]) : terms[t];
        }
    }
    return reg;
}

static bm_tensor *record_loss(bm_model *m, bm_tape *tape, bm_tensor *out, bm_tensor *y)
{
    typedef bm_tensor *(*loss_fn)(bm_tape *, bm_tensor *, bm_tensor *);
    static const loss_fn fns[] = {
#define BM_LOSS(id, name, builder, cls, summary) builder,
#include "losses.def"
#undef BM_LOSS
    };
    return fns[m->loss](tape, out, y);
}

/* Record node i; returns its output. */
static bm_tensor *record_node(bm_model *m, size_t i, bm_tape *tape, bm_tensor *const *xs,
                              int training)
{
    bm_layer *l = &m->layers[i];
    bm_tensor *in[BM_LAYER_MAX_INPUTS];
    bm_shape shapes[BM_LAYER_MAX_INPUTS];
    for (size_t k = 0; k < l->n_in; k++) {
        bm_node_src s = l->src[k];
        in[k] = s >= 0 ? m->vals[s] : xs[-s - 1];
        shapes[k] = s >= 0 ? m->layers[s].shape : m->inputs[-s - 1].shape;
    }
    bm_layer_call c = {
        .spec = &l->spec, .in = in, .n_in = l->n_in, .in_shapes = shapes,
        .params = l->params, .n_params = l->n_params, .training = training, .rng = &m->rng,
        .feeds_fused_loss = m->loss == BM_LOSS_SOFTMAX_CCE && i == bm_model_out_node(m, 0) &&
                            l->consumers == 0,
    };
    bm_tensor *y = l->vt->record(tape, &c);
    if (!y)
        return NULL;
    /* the recorded output must be [B, the inferred shape] */
    int ok = y->rank == l->shape.rank + 1 && y->shape[0] == xs[0]->shape[0];
    for (int a = 0; ok && a < l->shape.rank; a++)
        ok = y->shape[a + 1] == l->shape.dim[a];
    if (!ok) {
        char got[SHAPE_SHOWN];
        bm_tape_fail(tape, BM_ERR_SHAPE, "%s: %s recorded an output %s, not [B, its inferred "
                     "shape]", l->name, l->vt->name, bm_shape_str(y, got, sizeof got));
        return NULL;
    }
    return y;
}

/* out [B, S...] as the loss sees it: [B*T, classes] for categorical losses
 * (T positions), [B, width] otherwise; y [B,T] class numbers as [B*T]. */
static bm_tensor *loss_view(bm_model *m, bm_tape *tape, bm_tensor *out, bm_tensor **y)
{
    bm_loss_layout L = bm_model_loss_layout(m);
    size_t B = out->shape[0];
    if (bm_loss_categorical(m->loss) && L.positions > 1) {
        size_t os[2] = {B * L.positions, L.classes}, ys[1] = {B * L.positions};
        if (*y && (*y)->rank != 1)
            *y = bm_reshape(tape, *y, 1, ys);
        return bm_reshape(tape, out, 2, os);
    }
    if (out->rank == 2)
        return out;
    size_t os[2] = {B, L.width};
    return bm_reshape(tape, out, 2, os);
}

bm_tensor *bm_model_record_leaves(bm_model *m, bm_tape *tape, bm_tensor *const *xs,
                                  bm_tensor *y, int training, bm_step_losses *losses)
{
    for (size_t i = 0; i < m->n_layers; i++) {
        bm_layer *l = &m->layers[i];
        l->node_lo = bm_tape_size(tape);
        m->vals[i] = record_node(m, i, tape, xs, training);
        l->has_nodes = bm_tape_size(tape) > l->node_lo;
        if (l->has_nodes)
            l->node_hi = bm_tape_size(tape) - 1;
        if (!m->vals[i])
            return NULL;
    }
    bm_tensor *h = m->vals[bm_model_out_node(m, 0)];
    if (!y) {
        losses->output = h;
        return m->loss == BM_LOSS_SOFTMAX_CCE ? bm_softmax(tape, h) : h;
    }
    losses->output = loss_view(m, tape, h, &y);
    losses->targets = y;
    losses->data = record_loss(m, tape, losses->output, y);
    losses->reg = record_penalties(m, tape);
    losses->total = losses->reg ? bm_add(tape, losses->data, losses->reg) : losses->data;
    return losses->total;
}

/* Start a recording: losses cleared; the model must be initialised. */
static int begin(bm_model *m, bm_tape *tape, bm_step_losses **losses, bm_step_losses *tmp)
{
    if (!*losses)
        *losses = tmp;
    memset(*losses, 0, sizeof **losses);
    if (!tape)
        return 0;
    if (!m || !m->params) {
        bm_tape_fail(tape, BM_ERR_STATE, "bm_model_record: model %s",
                     m ? "has no parameters (call bm_model_init)" : "is NULL");
        return 0;
    }
    return 1;
}

bm_tensor *bm_model_record_inputs(bm_model *m, bm_tape *tape, bm_tensor *const *xs,
                                  bm_tensor *y, int training, bm_step_losses *losses)
{
    bm_step_losses tmp;
    if (!begin(m, tape, &losses, &tmp))
        return NULL;
    if (!xs) {
        bm_tape_fail(tape, BM_ERR_NULL, "bm_model_record_inputs: inputs are NULL");
        return NULL;
    }
    for (size_t k = 0; k < m->n_in; k++) {
        const bm_model_input *in = &m->inputs[k];
        int ok = xs[k] && xs[k]->rank == in->shape.rank + 1;
        for (int a = 0; ok && a < in->shape.rank; a++)
            ok = xs[k]->shape[a + 1] == in->shape.dim[a];
        if (!ok) {
            char got[SHAPE_SHOWN] = "NULL";
            if (xs[k])
                bm_shape_str(xs[k], got, sizeof got);
            bm_tape_fail(tape, BM_ERR_SHAPE, "bm_model_record: input \"%s\" is %s, not [B, "
                         "its %d-axis shape]", in->name, got, in->shape.rank);
            return NULL;
        }
    }
    return bm_model_record_leaves(m, tape, xs, y, training, losses);
}

bm_tensor *bm_model_record(bm_model *m, bm_tape *tape, bm_tensor *x, bm_tensor *y,
                           int training, bm_step_losses *losses)
{
    bm_step_losses tmp;
    bm_tensor *xs[BM_MODEL_MAX_INPUTS];
    if (!begin(m, tape, &losses, &tmp))
        return NULL;
    if (!x) {
        bm_tape_fail(tape, BM_ERR_NULL, "bm_model_record: features are NULL");
        return NULL;
    }
    size_t B = x->rank ? x->shape[0] : 0;
    if (x->rank < 1 || B == 0 || x->size != B * m->n_inputs) {
        char got[SHAPE_SHOWN];
        bm_tape_fail(tape, BM_ERR_SHAPE, "bm_model_record: features %s do not fit the model's "
                     "%zu inputs", bm_shape_str(x, got, sizeof got), m->n_inputs);
        return NULL;
    }
    /* each input: its columns of x, shaped [B, its shape] */
    for (size_t k = 0; k < m->n_in; k++) {
        const bm_model_input *in = &m->inputs[k];
        size_t shape[BM_MAX_RANK] = {B};
        memcpy(shape + 1, in->shape.dim, (size_t)in->shape.rank * sizeof *shape);
        bm_tensor *h = x;
        if (m->n_in > 1) {
            size_t flat[2] = {B, m->n_inputs};
            h = bm_slice_axis(tape, bm_reshape(tape, x, 2, flat), 1, (long)in->col,
                              (long)(in->col + in->width), 1);
        }
        int same = h && h->rank == in->shape.rank + 1;
        for (int a = 0; same && a <= in->shape.rank; a++)
            same = h->shape[a] == shape[a];
        xs[k] = same ? h : bm_reshape(tape, h, in->shape.rank + 1, shape);
        if (!xs[k])
            return NULL;
    }
    return bm_model_record_leaves(m, tape, xs, y, training, losses);
}
