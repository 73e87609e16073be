/* dist_fit.c — bm_dist_fit: the training loop over shards and ranks.
 *
 * A step: for each of this rank's shards (global index k), seed the
 * model's RNG with the shard's stream, gather the shard's rows into the
 * leaves of a recorded graph of B/S rows, replay it, run backward, and push
 * the gradient onto a stack that merges equal-sized neighbours: the
 * pairwise tree over the shards (a binary counter; a last, unequal node is
 * folded in from the right, which is the tree's "lone node passes up").
 * Then the ranks' roots are summed by bm_dist_sum, divided by S, and one
 * optimizer step runs on every rank. State tensors (batch norm's running
 * statistics, bm_model_state) ride in the same vectors behind the
 * gradients: every shard's forward starts from the step's starting state
 * and updates its own copy, and the new state is the mean of the shards'
 * copies by the same tree — the running average of the shard-averaged
 * statistics, the same bits for every rank count (S = 1: plain fit's).
 * Built only on the model's public API. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dist_internal.h"
#include "fit_shared_internal.h"

/* Per-shard statistics summed before the gradients: total, data and
 * regularisation loss, accuracy; then each rank's stop flag and failure
 * (so a rank that stops or fails alone is known to all, not waited for). */
enum { ST_TOTAL, ST_DATA, ST_REG, ST_ACC, ST_STOP, ST_FAIL, ST_COUNT };
/* Graphs kept for replay: full batches' shards and the last batch's. */
#define DIST_GRAPHS 2
/* Regression accuracy tolerance divisor (as bm_model_fit: std(y)/250). */
#define DIST_TOL_DIV BM_REGRESSION_PRECISION_DIV

typedef struct shard_graph {
    bm_tape *tape;
    bm_tensor *x, *y;
    size_t rows; /* 0: nothing recorded */
    bm_step_losses L;
} shard_graph;

typedef struct dist_run {
    bm_model *m;
    bm_comm *c;
    const bm_dist_opts *o;
    const bm_dataset *tr;
    size_t n, bs, S, first, mine; /* rows, batch, shards, this rank's first shard and count */
    size_t np, ns, nv, esz;       /* parameters, state values, nv = np + ns per tree node */
    void *state0;                 /* the state at the start of the step (ns > 0) */
    bm_dtype dt;
    shard_graph g[DIST_GRAPHS];
    void **stack;                 /* gradient tree nodes, np values each */
    double *sstats;               /* ST_COUNT per node */
    unsigned *level;              /* 2^level shards in each node */
    size_t depth, cap;
    size_t *perm;
    double tol;
    bm_dist_stats *stats;
} dist_run;

static bm_status tape_error(bm_tape *t, bm_error *err)
{
    return bm_error_set(err, bm_tape_status(t) ? bm_tape_status(t) : BM_ERR_STATE, "%s",
                        bm_tape_error(t));
}

/* Copy rows perm[at..at+rows) of src into dst (same row width). */
static void gather(bm_tensor *dst, const bm_tensor *src, const size_t *perm, size_t at,
                   size_t rows)
{
    size_t w = src->size / src->shape[0], esz = bm_dtype_size(src->dtype);
    for (size_t r = 0; r < rows; r++) {
        size_t row = perm[at + r];
        if (dst->dtype == src->dtype)
            memcpy((char *)dst->data + r * w * esz, (const char *)src->data + row * w * esz,
                   w * esz);
        else
            for (size_t j = 0; j < w; j++)
                bm_tensor_set(dst, r * w + j, bm_tensor_get(src, row * w + j));
    }
}

/* A fresh tape with leaves for a shard of `rows` rows. */
static bm_status new_graph(dist_run *R, shard_graph *g, size_t rows, bm_error *err)
{
    const bm_tensor *x = R->tr->x, *y = R->tr->y;
    size_t xs[BM_MAX_RANK], ys[BM_MAX_RANK] = {rows, 1};
    int yr = 2;
    bm_loss_kind lk = bm_model_loss(R->m);
    if (!g->tape && !(g->tape = bm_tape_new()))
        return bm_error_set(err, BM_ERR_NOMEM, "out of memory for a tape");
    bm_status s = bm_tape_set_threads(g->tape, bm_model_threads(R->m), err);
    if (s != BM_OK)
        return s;
    bm_tape_reset(g->tape);
    bm_tape_set_detect_anomaly(g->tape, R->o->fit.detect_anomaly);
    memcpy(xs, x->shape, sizeof xs);
    xs[0] = rows;
    if (y->rank == 1 && (lk == BM_LOSS_CCE || lk == BM_LOSS_SOFTMAX_CCE))
        yr = 1;
    else if (y->rank > 1)
        ys[1] = y->shape[1];
    g->rows = 0;
    g->x = bm_tape_leaf(g->tape, R->dt, x->rank, xs, 0);
    g->y = bm_tape_leaf(g->tape, R->dt, yr, ys, 0);
    return g->x && g->y ? BM_OK : tape_error(g->tape, err);
}

/* Push a shard's gradient (the model's grads) and statistics; merge equal levels. */
static void push(dist_run *R, const double *st)
{
    memcpy(R->stack[R->depth], bm_model_grads(R->m), R->np * R->esz);
    if (R->ns)
        memcpy((char *)R->stack[R->depth] + R->np * R->esz, bm_model_state(R->m),
               R->ns * R->esz);
    memcpy(R->sstats + R->depth * ST_COUNT, st, ST_COUNT * sizeof *st);
    R->level[R->depth++] = 0;
    while (R->depth >= 2 && R->level[R->depth - 1] == R->level[R->depth - 2]) {
        size_t a = R->depth - 2, b = R->depth - 1;
        bm_dist_add(R->dt, R->stack[a], R->stack[b], R->nv);
        for (int k = 0; k < ST_COUNT; k++)
            R->sstats[a * ST_COUNT + k] += R->sstats[b * ST_COUNT + k];
        R->level[a]++;
        R->depth--;
    }
}

/* Fold what is left from the right: the tree's partial last subtrees. */
static void fold(dist_run *R)
{
    while (R->depth >= 2) {
        size_t a = R->depth - 2, b = R->depth - 1;
        bm_dist_add(R->dt, R->stack[a], R->stack[b], R->nv);
        for (int k = 0; k < ST_COUNT; k++)
            R->sstats[a * ST_COUNT + k] += R->sstats[b * ST_COUNT + k];
        R->depth--;
    }
}

/* Forward + backward of global shard k (rows perm[at..)) on graph g. */
static bm_status shard(dist_run *R, shard_graph *g, size_t rows, size_t at, double *st,
                       bm_error *err)
{
    bm_model *m = R->m;
    int fresh = g->rows != rows;
    if (fresh) {
        bm_status s = new_graph(R, g, rows, err);
        if (s != BM_OK)
            return s;
    }
    gather(g->x, R->tr->x, R->perm, at, rows);
    gather(g->y, R->tr->y, R->perm, at, rows);
    if (fresh) {
        if (!bm_model_record(m, g->tape, g->x, g->y, 1, &g->L))
            return tape_error(g->tape, err);
        g->rows = rows;
    } else if (bm_tape_forward(g->tape) != BM_OK) {
        return tape_error(g->tape, err);
    }
    memset(bm_model_grads(m), 0, R->np * R->esz);
    if (bm_tape_backward(g->tape, g->L.total, NULL) != BM_OK)
        return tape_error(g->tape, err);
    st[ST_TOTAL] = bm_tensor_get(g->L.total, 0);
    st[ST_DATA] = bm_tensor_get(g->L.data, 0);
    st[ST_REG] = g->L.reg ? bm_tensor_get(g->L.reg, 0) : 0.0;
    st[ST_ACC] = bm_accuracy(bm_model_loss(m), g->L.output, g->y, R->tol);
    st[ST_STOP] = st[ST_FAIL] = 0.0;
    return BM_OK;
}

/* d[i] = v[i] / S (v[i] itself for S = 1) over n values of type dt. */
static void mean_into(void *dst, const void *src, size_t n, size_t S, bm_dtype dt)
{
    if (dt == BM_F64) {
        double *d = dst;
        const double *v = src;
        for (size_t i = 0; i < n; i++)
            d[i] = S == 1 ? v[i] : v[i] / (double)S;
    } else {
        float *d = dst;
        const float *v = src;
        for (size_t i = 0; i < n; i++)
            d[i] = S == 1 ? v[i] : v[i] / (float)S;
    }
}

/* One optimizer step on the batch at perm[start..start+B); the reduced
 * statistics (sums over shards) land in tot. */
static bm_status step(dist_run *R, size_t start, size_t B, double *tot, bm_error *err)
{
    bm_model *m = R->m;
    bm_rng *rng = bm_model_rng(m), saved = *rng;
    size_t rows = B / R->S;
    shard_graph *g = &R->g[rows == R->g[0].rows || !R->g[0].rows ? 0 : 1];
    uint64_t it = bm_optim_iterations(bm_model_optim(m));
    double st[ST_COUNT];
    bm_status s = BM_OK;
    R->depth = 0;
    if (R->ns)
        memcpy(R->state0, bm_model_state(m), R->ns * R->esz);
    for (size_t k = R->first; k < R->first + R->mine && s == BM_OK; k++) {
        if (R->ns && k > R->first)
            memcpy(bm_model_state(m), R->state0, R->ns * R->esz);
        bm_rng_seed(rng, bm_dist_shard_seed(&saved, it, k));
        if ((s = shard(R, g, rows, start + k * rows, st, err)) == BM_OK)
            push(R, st);
    }
    *rng = saved; /* the model's stream advances only by the shuffle */
    double *sum = R->sstats;
    if (s == BM_OK)
        fold(R);
    else
        memset(sum, 0, ST_COUNT * sizeof *sum);
    sum[ST_STOP] = R->o->fit.stop && *R->o->fit.stop ? 1.0 : 0.0;
    sum[ST_FAIL] = s != BM_OK;
    bm_error other = {0};
    bm_status rs = bm_dist_sum(R->c, sum, ST_COUNT, BM_F64, 0, s != BM_OK ? &other : err);
    if (s != BM_OK || rs != BM_OK)
        return s != BM_OK ? s : rs; /* a failing rank keeps its own message */
    memcpy(tot, sum, ST_COUNT * sizeof *tot);
    if (sum[ST_FAIL] > 0.0)
        return bm_error_set(err, BM_ERR_STATE, "epoch %llu: %g rank%s failed in step %zu (see "
                            "%s message)", (unsigned long long)bm_model_epoch(m), sum[ST_FAIL],
                            sum[ST_FAIL] > 1.0 ? "s" : "", start / R->bs,
                            sum[ST_FAIL] > 1.0 ? "their" : "its");
    if (sum[ST_STOP] > 0.0)
        return bm_error_set(err, BM_ERR_INTERRUPTED, "epoch %llu: stopped before step %zu (a "
                            "rank's stop flag is set)", (unsigned long long)bm_model_epoch(m),
                            start / R->bs);
    double lt = sum[ST_TOTAL] / (double)R->S;
    if (!isfinite(lt))
        return bm_error_set(err, BM_ERR_NUMERIC, "epoch %llu: loss is %g (training diverged; "
                            "lower the learning rate)", (unsigned long long)bm_model_epoch(m),
                            isnan(lt) ? fabs(lt) : lt);
    s = R->o->fast_reduce ? bm_dist_fast_sum(R->c, R->stack[0], R->nv, R->dt, err)
                          : bm_dist_sum(R->c, R->stack[0], R->nv, R->dt, R->o->bucket, err);
    if (s != BM_OK)
        return s;
    void *gr = bm_model_grads(m);
    mean_into(gr, R->stack[0], R->np, R->S, R->dt);
    if (R->ns)
        mean_into(bm_model_state(m), (char *)R->stack[0] + R->np * R->esz, R->ns, R->S, R->dt);
    s = bm_optim_step(bm_model_optim(m), bm_model_params(m), gr, R->np, err);
    if (s == BM_OK && R->stats)
        R->stats->steps++;
    return s;
}

/* One pass over the rows (as bm_model_fit's): fills st's losses and accuracy. */
static bm_status run_epoch(dist_run *R, bm_epoch_stats *st, int *stop, bm_error *err)
{
    bm_model *m = R->m;
    const bm_fit_opts *o = &R->o->fit;
    double loss = 0, data = 0, reg = 0, acc = 0, tot[ST_COUNT];
    for (size_t i = 0; i < R->n; i++)
        R->perm[i] = i;
    if (o->shuffle)
        bm_fit_shuffle(R->perm, R->n, bm_model_rng(m));
    for (size_t start = 0; start < R->n; start += R->bs) {
        size_t B = R->n - start < R->bs ? R->n - start : R->bs;
        st->lr = bm_optim_lr(bm_model_optim(m));
        bm_status s = step(R, start, B, tot, err);
        if (s != BM_OK)
            return s;
        double w = (double)B / (double)R->n / (double)R->S;
        loss += w * tot[ST_TOTAL];
        data += w * tot[ST_DATA];
        reg += w * tot[ST_REG];
        acc += w * tot[ST_ACC];
        bm_step_stats ss = {.step = bm_optim_iterations(bm_model_optim(m)) - 1,
                            .epoch = bm_model_epoch(m), .batch = B,
                            .loss = tot[ST_TOTAL] / (double)R->S, .lr = st->lr};
        if (o->step_hook) { /* a hook's stop on any rank stops every rank after this step */
            double f = o->step_hook(o->step_hook_ud, &ss) != 0;
            if ((s = bm_dist_sum(R->c, &f, 1, BM_F64, 0, err)) != BM_OK)
                return s;
            if (f > 0.0) {
                *stop = 1;
                break;
            }
        }
    }
    st->loss = loss;
    st->data_loss = data;
    st->reg_loss = reg;
    st->accuracy = acc;
    return BM_OK;
}

bm_dist_opts bm_dist_defaults(void)
{
    bm_dist_opts o;
    memset(&o, 0, sizeof o);
    o.fit = bm_fit_defaults();
    return o;
}

/* Whether all n_params parameters are finite. */
static int params_finite(bm_model *m)
{
    size_t n = bm_model_n_params(m);
    const void *p = bm_model_params(m);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(bm_model_dtype(m) == BM_F64 ? ((const double *)p)[i]
                                                  : ((const float *)p)[i]))
            return 0;
    return 1;
}

/* The buffers of a run: the tree's stack, the row order, the epoch copy. */
static bm_status alloc_run(dist_run *R, void **start, bm_error *err)
{
    size_t cap = 2;
    for (size_t s = 1; s < R->S; s *= 2)
        cap++;
    R->cap = cap;
    R->stack = calloc(cap, sizeof *R->stack);
    R->sstats = calloc(cap * ST_COUNT, sizeof *R->sstats);
    R->level = calloc(cap, sizeof *R->level);
    R->perm = malloc(R->n * sizeof *R->perm);
    *start = malloc(R->np * R->esz);
    R->state0 = R->ns ? malloc(R->ns * R->esz) : NULL;
    int ok = R->stack && R->sstats && R->level && R->perm && *start && (!R->ns || R->state0);
    for (size_t i = 0; ok && i < cap; i++)
        ok = (R->stack[i] = malloc(R->nv * R->esz)) != NULL;
    return ok ? BM_OK : bm_error_set(err, BM_ERR_NOMEM, "out of memory for %zu gradient "
                                     "buffers of %zu parameters", cap, R->np);
}

static void free_run(dist_run *R)
{
    for (size_t i = 0; R->stack && i < R->cap; i++)
        free(R->stack[i]);
    free(R->stack);
    free(R->sstats);
    free(R->level);
    free(R->perm);
    free(R->state0);
    for (int k = 0; k < DIST_GRAPHS; k++)
        bm_tape_free(R->g[k].tape);
}

/* The epochs: as bm_model_fit's loop (validation, callbacks, early stop). */
static bm_status epochs(dist_run *R, const bm_dataset *val, void *start, bm_error *err)
{
    bm_model *m = R->m;
    const bm_fit_opts *o = &R->o->fit;
    FILE *log = o->log ? o->log : stdout;
    double best = INFINITY;
    uint64_t stale = 0, end = bm_model_epoch(m) + o->epochs;
    size_t bytes = R->np * R->esz;
    while (bm_model_epoch(m) < end) {
        bm_epoch_stats st = {bm_model_epoch(m), end, NAN, NAN, NAN, NAN, NAN, NAN, NAN};
        int stop = 0;
        memcpy(start, bm_model_params(m), bytes);
        bm_status s = run_epoch(R, &st, &stop, err);
        if ((s == BM_OK || s == BM_ERR_NUMERIC) && !params_finite(m)) {
            memcpy(bm_model_params(m), start, bytes);
            return bm_error_set(err, BM_ERR_NUMERIC, "epoch %llu: an update made a parameter "
                                "NaN or Inf (training diverged; lower the learning rate); "
                                "parameters are restored to the start of the epoch",
                                (unsigned long long)bm_model_epoch(m));
        }
        if (s != BM_OK || stop)
            return s;
        if (val && (s = bm_model_evaluate(m, val, &st.val_loss, &st.val_accuracy, err)) != BM_OK)
            return s;
        uint64_t e = bm_model_epoch(m);
        if (o->print_every && bm_comm_rank(R->c) == 0 && (e % o->print_every == 0 || e + 1 == end))
            fprintf(log, "epoch: %llu, loss: %.4g, accuracy: %.3f, data_loss: %.4g, "
                    "reg_loss: %.4g, lr: %.6g\n", (unsigned long long)e, st.loss, st.accuracy,
                    st.data_loss, st.reg_loss, st.lr);
        bm_model_set_epoch(m, e + 1);
        double brk = 0.0; /* any rank's callback may stop: all stop here (a sum of flags) */
        if (o->callback && o->callback(o->callback_ud, &st)) {
            brk = 1.0;
        } else if (val && st.val_loss < best) {
            best = st.val_loss;
            stale = 0;
            brk = o->on_best && o->on_best(o->on_best_ud, &st);
        } else if (val && o->early_stop && ++stale >= o->early_stop) {
            brk = 1.0;
        }
        if ((s = bm_dist_sum(R->c, &brk, 1, BM_F64, 0, err)) != BM_OK)
            return s;
        if (brk > 0.0)
            break;
    }
    return BM_OK;
}

bm_status bm_dist_fit(bm_model *m, const bm_dataset *train, const bm_dist_opts *opts,
                      bm_comm *comm, bm_dist_stats *stats, bm_error *err)
{
    bm_dist_opts o = opts ? *opts : bm_dist_defaults();
    bm_comm *own = comm ? NULL : bm_comm_local(err);
    bm_comm *c = comm ? comm : own;
    if (!c)
        return err ? err->code : BM_ERR_NOMEM;
    dist_run R = {.m = m, .c = c, .o = &o, .stats = stats};
    bm_dataset split = {0}, held = {0};
    const bm_dataset *val = o.fit.val;
    void *start = NULL;
    double t0 = bm_dist_now(), c0 = bm_comm_seconds(c);
    bm_status s = bm_dist_check_local(m, train, &o, c, &R.S, &R.bs, err);
    if (s == BM_OK && !val && o.fit.val_split > 0.0) {
        size_t N = train->x->shape[0], nv = (size_t)((double)N * o.fit.val_split);
        if (nv == 0 || nv >= N)
            s = bm_error_set(err, BM_ERR_ARG, "bm_dist_fit: val_split %g of %zu rows leaves an "
                             "empty set", o.fit.val_split, N);
        else if ((s = bm_dataset_subset(&split, train, 0, N - nv, err)) == BM_OK &&
                 (s = bm_dataset_subset(&held, train, N - nv, nv, err)) == BM_OK) {
            train = &split;
            val = &held;
        }
    }
    if (s == BM_OK)
        s = bm_dist_check_split(train, val, m, &o, c, &R.S, &R.bs, err);
    s = bm_dist_collective(c, s, err); /* every rank learns whether any failed */
    if (s == BM_OK)
        s = bm_dist_check_same(c, m, train, val, &o, R.S, R.bs, err);
    if (s != BM_OK)
        goto done;
    R.tr = train;
    R.n = train->x->shape[0];
    R.mine = R.S / (size_t)bm_comm_size(c);
    R.first = (size_t)bm_comm_rank(c) * R.mine;
    R.dt = bm_model_dtype(m);
    R.esz = bm_dtype_size(R.dt);
    R.np = bm_model_n_params(m);
    R.ns = bm_model_n_state(m);
    R.nv = R.np + R.ns;
    R.tol = bm_tensor_std(train->y) / DIST_TOL_DIV;
    if (stats) {
        memset(stats, 0, sizeof *stats);
        stats->shards = R.S;
    }
    s = bm_dist_collective(c, alloc_run(&R, &start, err), err);
    if (s == BM_OK)
        s = epochs(&R, val, start, err);
done:
    if (stats) {
        stats->seconds = bm_dist_now() - t0;
        stats->comm_seconds = bm_comm_seconds(c) - c0;
    }
    free(start);
    free_run(&R);
    bm_dataset_free(&split);
    bm_dataset_free(&held);
    bm_comm_free(own);
    return s;
}
