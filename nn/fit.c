/* fit.c — training loop, evaluation and prediction.
 *
 * A step gathers a batch into the leaves of a recorded graph, replays it
 * (or records it when the batch shape is new), runs backward and one
 * optimizer update over the flat parameter buffer. In steady state a step
 * allocates nothing. */
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "bm_ops.h"
#include "fit_shared_internal.h"
#include "model_internal.h"

bm_fit_opts bm_fit_defaults(void)
{
    bm_fit_opts o;
    memset(&o, 0, sizeof o);
    o.epochs = 1;
    o.replay = 1;
    return o;
}

/* Shape of a batch of B targets taken from y for the model's loss. */
static int target_shape(const bm_model *m, const bm_tensor *y, size_t B, size_t *shape)
{
    shape[0] = B;
    if (bm_loss_categorical(m->loss) && y->rank == 1)
        return 1;
    shape[1] = y->rank == 1 ? 1 : y->size / y->shape[0];
    return 2;
}

void bm_gather_rows(bm_tensor *dst, const bm_tensor *src, const size_t *idx, size_t start,
                    size_t B, size_t col, size_t w)
{
    size_t sw = src->size / src->shape[0];
    size_t esz = bm_dtype_size(src->dtype);
    for (size_t r = 0; r < B; r++) {
        size_t row = idx ? idx[start + r] : start + r;
        if (dst->dtype == src->dtype) {
            memcpy((char *)dst->data + r * w * esz,
                   (const char *)src->data + (row * sw + col) * esz, w * esz);
        } else {
            for (size_t j = 0; j < w; j++)
                bm_tensor_set(dst, r * w + j, bm_tensor_get(src, row * sw + col + j));
        }
    }
}

/* All of a row: y's targets. */
static void gather(bm_tensor *dst, const bm_tensor *src, const size_t *idx, size_t start,
                   size_t B)
{
    bm_gather_rows(dst, src, idx, start, B, 0, src->size / src->shape[0]);
}

/* One leaf [B, input k's shape] per model input on t into xs (named "x",
 * or by the input's name when there are several). */
static int input_leaves(bm_model *m, bm_tape *t, size_t B, bm_tensor **xs)
{
    for (size_t k = 0; k < m->n_in; k++) {
        const bm_model_input *in = &m->inputs[k];
        size_t shape[BM_MAX_RANK] = {B};
        memcpy(shape + 1, in->shape.dim, (size_t)in->shape.rank * sizeof *shape);
        if (!(xs[k] = bm_tape_leaf(t, m->dtype, in->shape.rank + 1, shape, 0)))
            return 0;
        xs[k]->name = m->n_in == 1 ? "x" : in->name;
    }
    return 1;
}

/* Copy rows of x into the input leaves: each input's columns. */
static void gather_inputs(const bm_model *m, bm_tensor *const *xs, const bm_tensor *x,
                          const size_t *idx, size_t start, size_t B)
{
    for (size_t k = 0; k < m->n_in; k++)
        bm_gather_rows(xs[k], x, idx, start, B, m->inputs[k].col, m->inputs[k].width);
}

static bm_status tape_error(bm_tape *t, bm_error *err)
{
    return bm_error_set(err, bm_tape_status(t) ? bm_tape_status(t) : BM_ERR_STATE, "%s",
                        bm_tape_error(t));
}

/* Record graph g for a batch of B rows. */
static bm_status record_step(bm_model *m, bm_step_graph *g, const bm_dataset *ds, size_t B,
                             bm_error *err)
{
    size_t ys[2];
    int yr = target_shape(m, ds->y, B, ys);
    if (!g->tape && !(g->tape = bm_tape_new()))
        return bm_error_set(err, BM_ERR_NOMEM, "out of memory for a tape");
    bm_tape_reset(g->tape);
    g->batch = 0;
    if (!input_leaves(m, g->tape, B, g->xs) ||
        !(g->y = bm_tape_leaf(g->tape, m->dtype, yr, ys, 0)))
        return tape_error(g->tape, err);
    g->y->name = "y";
    return BM_OK;
}

/* With memory planning (o->plan_memory), what fit reads after a step — the
 * losses, the output, the targets the accuracy compares — is kept out of
 * the shared memory. */
static bm_status keep_losses(bm_step_graph *g, int plan, bm_error *err)
{
    bm_tape_set_memory_plan(g->tape, plan);
    if (!plan)
        return BM_OK;
    bm_tensor *keep[] = {g->losses.total, g->losses.data, g->losses.reg, g->losses.output,
                         g->losses.targets};
    for (size_t k = 0; k < sizeof keep / sizeof keep[0]; k++)
        if (keep[k] && bm_tape_keep(g->tape, keep[k]) != BM_OK)
            return tape_error(g->tape, err);
    return BM_OK;
}

/* One training step on rows idx[start..start+B); *used is the graph run. */
static bm_status train_step(bm_model *m, const bm_dataset *ds, const size_t *idx, size_t start,
                            size_t B, const bm_fit_opts *o, bm_step_graph **used, bm_error *err)
{
    bm_step_graph *g = &m->graphs[B == m->graphs[0].batch || !m->graphs[0].batch ? 0 : 1];
    int fresh = !o->replay || g->batch != B;
    if (fresh) {
        bm_status s = record_step(m, g, ds, B, err);
        if (s != BM_OK)
            return s;
        bm_tape_set_detect_anomaly(g->tape, o->detect_anomaly);
        bm_tape_set_profile(g->tape, o->profile);
    }
    gather_inputs(m, g->xs, ds->x, idx, start, B);
    gather(g->y, ds->y, idx, start, B);
    if (fresh) {
        /* planned and replayed: record and build the backward dry, then plan,
         * so that even the first step runs in the plan's memory */
        int dry = o->plan_memory && o->replay;
        memset(&g->losses, 0, sizeof g->losses);
        bm_tape_set_dry_run(g->tape, dry);
        bm_status s = bm_model_record_leaves(m, g->tape, g->xs, g->y, 1, &g->losses)
                          ? keep_losses(g, o->plan_memory, err)
                          : tape_error(g->tape, err);
        if (s == BM_OK && dry && bm_tape_backward(g->tape, g->losses.total, NULL) != BM_OK)
            s = tape_error(g->tape, err);
        bm_tape_set_dry_run(g->tape, 0);
        if (s == BM_OK && dry && bm_tape_plan_memory(g->tape) != BM_OK)
            s = tape_error(g->tape, err);
        if (s != BM_OK)
            return s;
        g->batch = B;
    } else if (bm_tape_forward(g->tape) != BM_OK) {
        return tape_error(g->tape, err);
    }
    memset(m->grads, 0, m->n_params * bm_dtype_size(m->dtype));
    if (bm_tape_backward(g->tape, g->losses.total, NULL) != BM_OK)
        return tape_error(g->tape, err);
    *used = g;
    return BM_OK;
}

static bm_status ensure_perm(bm_model *m, size_t n, bm_error *err)
{
    if (m->perm_len != n) {
        size_t *p = realloc(m->perm, n * sizeof *p);
        if (!p)
            return bm_error_set(err, BM_ERR_NOMEM, "out of memory for %zu row indices", n);
        m->perm = p;
        m->perm_len = n;
    }
    return BM_OK;
}

/* Index of the first NaN/Inf of the n values of dt at p; n when none. The
 * common all-finite case is one branch-free pass. */
static size_t first_nonfinite(bm_dtype dt, const void *p, size_t n)
{
    int bad = 0;
    if (dt == BM_F64)
        for (size_t i = 0; i < n; i++)
            bad |= !(fabs(((const double *)p)[i]) <= DBL_MAX);
    else
        for (size_t i = 0; i < n; i++)
            bad |= !(fabsf(((const float *)p)[i]) <= FLT_MAX);
    for (size_t i = 0; bad && i < n; i++)
        if (!isfinite(dt == BM_F64 ? ((const double *)p)[i] : ((const float *)p)[i]))
            return i;
    return n;
}

/* Element i of the parameters as a double ("nan", not "-nan", when printed). */
static double param_at(const bm_model *m, size_t i)
{
    double v = m->dtype == BM_F64 ? ((const double *)m->params)[i] : ((const float *)m->params)[i];
    return isnan(v) ? fabs(v) : v;
}

/* After an epoch (s is BM_OK) or a stop on a NaN/Inf (BM_ERR_NUMERIC, err
 * naming it): parameters that are all finite are kept (those of the last
 * finite step); when an update made one NaN/Inf, the epoch's start is
 * restored from `start`. Says which in err; returns the final status. */
static bm_status keep_finite(bm_model *m, const void *start, bm_status s, bm_error *err)
{
    char why[BM_ERR_LEN] = "";
    size_t i = first_nonfinite(m->dtype, m->params, m->n_params);
    if (err && s != BM_OK)
        memcpy(why, err->msg, sizeof why);
    if (i == m->n_params)
        return s == BM_OK ? s
                          : bm_error_set(err, s, "%s; parameters are from the last finite step",
                                         why);
    double v = param_at(m, i);
    memcpy(m->params, start, m->n_params * bm_dtype_size(m->dtype));
    if (s == BM_OK)
        return bm_error_set(err, BM_ERR_NUMERIC,
                            "epoch %llu: an update made parameter %zu %g (training diverged; "
                            "lower the learning rate); parameters are restored to the start of "
                            "the epoch",
                            (unsigned long long)m->epoch, i, v);
    return bm_error_set(err, s, "%s; an update had made parameter %zu %g: parameters are "
                        "restored to the start of the epoch", why, i, v);
}

/* One progress line: losses with 4 significant digits (an MSE of 1e-6 stays visible); the
 * accuracy of a regression loss is the fraction within the tolerance: "within_tol". */
static void print_stats(FILE *f, const bm_epoch_stats *s, bm_loss_kind loss)
{
    const char *acc = loss == BM_LOSS_MSE || loss == BM_LOSS_MAE ? "within_tol" : "accuracy";
    fprintf(f, "epoch: %llu, loss: %.4g, %s: %.3f, data_loss: %.4g, reg_loss: %.4g, lr: %.6g",
            (unsigned long long)s->epoch, s->loss, acc, s->accuracy, s->data_loss, s->reg_loss,
            s->lr);
    if (!isnan(s->val_loss))
        fprintf(f, ", val_loss: %.4g, val_%s: %.3f", s->val_loss, acc, s->val_accuracy);
    fputc('\n', f);
}

/* One pass over the training rows; fills loss/accuracy of st; *stop = 1
 * when the step hook asked to stop (after that update). */
static bm_status run_epoch(bm_model *m, const bm_dataset *tr, size_t n, size_t bs,
                           const bm_fit_opts *o, double tol, bm_epoch_stats *st, int *stop,
                           bm_error *err)
{
    double loss = 0, data = 0, reg = 0, acc = 0;
    /* Each epoch's order depends only on the RNG state (which checkpoints
     * save), so N + N epochs equal 2N epochs even with shuffling. */
    for (size_t i = 0; i < n; i++)
        m->perm[i] = i;
    if (o->shuffle)
        bm_fit_shuffle(m->perm, n, &m->rng);
    for (size_t start = 0; start < n; start += bs) {
        size_t B = n - start < bs ? n - start : bs;
        bm_step_graph *g = NULL;
        if (o->stop && *o->stop)
            return bm_error_set(err, BM_ERR_INTERRUPTED, "epoch %llu: stopped before step %zu "
                                "(the stop flag is set)", (unsigned long long)m->epoch, start / bs);
        bm_status s = train_step(m, tr, m->perm, start, B, o, &g, err);
        if (s == BM_ERR_NUMERIC && err) { /* anomaly mode: the tape named the op */
            char why[BM_ERR_LEN];
            memcpy(why, err->msg, sizeof why);
            bm_error_set(err, s, "epoch %llu: %s", (unsigned long long)m->epoch, why);
        }
        if (s != BM_OK)
            return s;
        const bm_step_losses L = g->losses;
        double lt = bm_tensor_get(L.total, 0);
        if (!isfinite(lt))
            return bm_error_set(err, BM_ERR_NUMERIC,
                                "epoch %llu: loss is %g (training diverged; lower the learning "
                                "rate)",
                                (unsigned long long)m->epoch, isnan(lt) ? fabs(lt) : lt);
        st->lr = bm_optim_lr(m->opt);
        s = bm_optim_step(m->opt, m->params, m->grads, m->n_params, err);
        if (s != BM_OK)
            return s;
        double w = (double)B / (double)n;
        loss += w * lt;
        data += w * bm_tensor_get(L.data, 0);
        reg += L.reg ? w * bm_tensor_get(L.reg, 0) : 0.0;
        acc += w * bm_accuracy(m->loss, L.output, L.targets, tol);
        bm_step_stats ss = {.step = bm_optim_iterations(m->opt) - 1, .epoch = m->epoch,
                            .batch = B, .loss = lt, .lr = st->lr};
        if (o->step_hook && o->step_hook(o->step_hook_ud, &ss)) {
            *stop = 1;
            break;
        }
    }
    st->loss = loss;
    st->data_loss = data;
    st->reg_loss = reg;
    st->accuracy = acc;
    return BM_OK;
}

bm_status bm_model_fit(bm_model *m, const bm_dataset *train, const bm_fit_opts *opts,
                       bm_error *err)
{
    bm_fit_opts o = opts ? *opts : bm_fit_defaults();
    if (!m)
        return bm_error_set(err, BM_ERR_NULL, "bm_model_fit: model is NULL");
    if (!m->params || !m->opt)
        return bm_error_set(err, BM_ERR_STATE, "bm_model_fit: %s",
                            !m->params ? "call bm_model_init first" : "no optimizer set");
    bm_status s = bm_model_check_data(m, train, "training data", err);
    if (s != BM_OK)
        return s;
    if (o.epochs > UINT64_MAX - m->epoch)
        return bm_error_set(err, BM_ERR_ARG, "bm_model_fit: %llu epochs after epoch %llu overflow "
                            "the epoch counter", (unsigned long long)o.epochs,
                            (unsigned long long)m->epoch);
    if (!(o.val_split >= 0.0 && o.val_split < 1.0))
        return bm_error_set(err, BM_ERR_ARG, "bm_model_fit: val_split %g must be in [0, 1)",
                            o.val_split);
    bm_dataset split = {0}, held = {0};
    void *start = NULL;
    const bm_dataset *tr = train, *val = o.val;
    size_t N = train->x->shape[0];
    if (!val && o.val_split > 0.0) {
        size_t nv = (size_t)((double)N * o.val_split);
        if (nv == 0 || nv >= N)
            return bm_error_set(err, BM_ERR_ARG, "bm_model_fit: val_split %g of %zu rows leaves "
                                "an empty set", o.val_split, N);
        if ((s = bm_dataset_subset(&split, train, 0, N - nv, err)) != BM_OK ||
            (s = bm_dataset_subset(&held, train, N - nv, nv, err)) != BM_OK)
            goto done;
        tr = &split;
        val = &held;
    }
    if (val && (s = bm_model_check_data(m, val, "validation data", err)) != BM_OK)
        goto done;
    if (!val && (o.early_stop || o.on_best)) {
        s = bm_error_set(err, BM_ERR_ARG, "bm_model_fit: %s needs validation data (val or "
                         "val_split)", o.early_stop ? "early_stop" : "on_best");
        goto done;
    }
    double best = INFINITY; /* the lowest val_loss of this call */
    uint64_t stale = 0;     /* epochs since it was reached */
    size_t n = tr->x->shape[0];
    size_t bs = o.batch_size == 0 || o.batch_size > n ? n : o.batch_size;
    if ((s = ensure_perm(m, n, err)) != BM_OK)
        goto done;
    /* the parameters at the start of each epoch, finite (keep_finite) */
    size_t bytes = m->n_params * bm_dtype_size(m->dtype);
    size_t bad = first_nonfinite(m->dtype, m->params, m->n_params);
    if (bad < m->n_params) {
        s = bm_error_set(err, BM_ERR_NUMERIC, "bm_model_fit: parameter %zu is %g before training",
                         bad, param_at(m, bad));
        goto done;
    }
    if (!(start = malloc(bytes))) {
        s = bm_error_set(err, BM_ERR_NOMEM, "out of memory for %zu parameters", m->n_params);
        goto done;
    }
    /* regression accuracy: within std(y)/250 of the whole training set */
    double tol = bm_tensor_std(tr->y) / BM_REGRESSION_PRECISION_DIV;
    for (int k = 0; k < BM_MODEL_GRAPHS; k++)
        m->graphs[k].batch = 0; /* the data's target layout may differ from last fit */
    FILE *log = o.log ? o.log : stdout;
    uint64_t end = m->epoch + o.epochs;
    while (m->epoch < end) {
        bm_epoch_stats st = {m->epoch, end, NAN, NAN, NAN, NAN, NAN, NAN, NAN};
        memcpy(start, m->params, bytes);
        int stop = 0;
        s = run_epoch(m, tr, n, bs, &o, tol, &st, &stop, err);
        if (s == BM_OK || s == BM_ERR_NUMERIC)
            s = keep_finite(m, start, s, err);
        if (s != BM_OK || stop)
            goto done;
        if (val && (s = bm_model_evaluate(m, val, &st.val_loss, &st.val_accuracy, err)) != BM_OK)
            goto done;
        if (o.print_every && (m->epoch % o.print_every == 0 || m->epoch + 1 == end))
            print_stats(log, &st, m->loss);
        m->epoch++; /* counted before the callback: a checkpoint saved there resumes exactly */
        if (o.callback && o.callback(o.callback_ud, &st))
            break;
        if (val && st.val_loss < best) {
            best = st.val_loss;
            stale = 0;
            if (o.on_best && o.on_best(o.on_best_ud, &st))
                break;
        } else if (val && o.early_stop && ++stale >= o.early_stop) {
            break;
        }
    }
done:
    free(start);
    bm_dataset_free(&split);
    bm_dataset_free(&held);
    return s;
}

/* Run the no-grad forward on rows [start, start+B) of x; returns output. */
static bm_tensor *eval_chunk(bm_model *m, const bm_tensor *x, const bm_tensor *y, size_t start,
                             size_t B, bm_step_losses *L, bm_tensor **targets, bm_error *err)
{
    if (!m->eval_tape && !(m->eval_tape = bm_tape_new())) {
        bm_error_set(err, BM_ERR_NOMEM, "out of memory for a tape");
        return NULL;
    }
    bm_tape *t = m->eval_tape;
    bm_tape_reset(t);
    bm_tape_set_grad_enabled(t, 0);
    size_t ys[2];
    bm_tensor *xs[BM_MODEL_MAX_INPUTS], *by = NULL;
    int ok = input_leaves(m, t, B, xs);
    if (ok)
        gather_inputs(m, xs, x, NULL, start, B);
    if (ok && y) {
        int yr = target_shape(m, y, B, ys);
        by = bm_tape_leaf(t, m->dtype, yr, ys, 0);
        if (by)
            gather(by, y, NULL, start, B);
        ok = by != NULL;
    }
    bm_step_losses tmp;
    if (!L)
        L = &tmp;
    memset(L, 0, sizeof *L);
    bm_tensor *r = ok ? bm_model_record_leaves(m, t, xs, by, 0, L) : NULL;
    if (targets)
        *targets = L->targets;
    if (!r)
        tape_error(t, err);
    return r;
}

bm_status bm_model_evaluate(bm_model *m, const bm_dataset *ds, double *loss, double *accuracy,
                            bm_error *err)
{
    if (!m || !m->params)
        return bm_error_set(err, BM_ERR_STATE, "bm_model_evaluate: model has no parameters");
    bm_status s = bm_model_check_data(m, ds, "evaluation data", err);
    if (s != BM_OK)
        return s;
    size_t N = ds->x->shape[0];
    double tl = 0, ta = 0, tol = bm_tensor_std(ds->y) / BM_REGRESSION_PRECISION_DIV;
    for (size_t start = 0; start < N; start += BM_EVAL_CHUNK) {
        size_t B = N - start < BM_EVAL_CHUNK ? N - start : BM_EVAL_CHUNK;
        bm_step_losses L;
        bm_tensor *by = NULL;
        if (!eval_chunk(m, ds->x, ds->y, start, B, &L, &by, err))
            return err ? err->code : BM_ERR_STATE;
        double w = (double)B / (double)N;
        tl += w * bm_tensor_get(L.data, 0);
        ta += w * bm_accuracy(m->loss, L.output, by, tol);
    }
    if (loss)
        *loss = tl;
    if (accuracy)
        *accuracy = ta;
    return BM_OK;
}

bm_status bm_model_predict(bm_model *m, const bm_tensor *x, bm_tensor **out, bm_error *err)
{
    char s[64];
    if (!m || !x || !out)
        return bm_error_set(err, BM_ERR_NULL, "bm_model_predict: NULL argument");
    *out = NULL;
    if (!m->params)
        return bm_error_set(err, BM_ERR_STATE, "bm_model_predict: model has no parameters");
    if (x->rank < 2 || x->size != x->shape[0] * m->n_inputs ||
        (x->rank > 2 && m->n_in > 1))
        return bm_error_set(err, BM_ERR_SHAPE, "bm_model_predict: features %s do not fit the "
                            "model's %zu inputs", bm_shape_str(x, s, sizeof s), m->n_inputs);
    const bm_shape *os = &m->layers[bm_model_out_node(m, 0)].shape;
    size_t N = x->shape[0], C = bm_model_width(m), shp[BM_MAX_RANK] = {N};
    memcpy(shp + 1, os->dim, (size_t)os->rank * sizeof *shp);
    bm_tensor *res = bm_tensor_new(m->dtype, os->rank + 1, shp, err);
    if (!res)
        return err ? err->code : BM_ERR_NOMEM;
    for (size_t start = 0; start < N; start += BM_EVAL_CHUNK) {
        size_t B = N - start < BM_EVAL_CHUNK ? N - start : BM_EVAL_CHUNK;
        bm_tensor *p = eval_chunk(m, x, NULL, start, B, NULL, NULL, err);
        if (!p) {
            bm_tensor_free(res);
            return err ? err->code : BM_ERR_STATE;
        }
        memcpy((char *)res->data + start * C * bm_dtype_size(m->dtype), p->data,
               B * C * bm_dtype_size(m->dtype));
    }
    *out = res;
    return BM_OK;
}
