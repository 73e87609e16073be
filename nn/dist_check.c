/* dist_check.c — bm_dist_fit's launch checks: what each rank can check
 * alone (shards against ranks and batch), then, together, whether any rank
 * failed and whether every rank holds the same model, data and settings
 * (64-bit hashes compared with rank 0's), so a bad launch fails on every
 * rank with a message instead of hanging in a reduction. */
#include <stdlib.h>
#include <string.h>

#include "dist_internal.h"

bm_status bm_dist_check_local(bm_model *m, const bm_dataset *train, const bm_dist_opts *o,
                              const bm_comm *c, size_t *S, size_t *bs, bm_error *err)
{
    (void)bs;
    if (!m || !train || !train->x || !train->y)
        return bm_error_set(err, BM_ERR_NULL, "bm_dist_fit: %s is NULL",
                            !m ? "model" : "training data");
    if (!bm_model_params(m) || !bm_model_optim(m))
        return bm_error_set(err, BM_ERR_STATE, "bm_dist_fit: %s",
                            !bm_model_params(m) ? "call bm_model_init first" : "no optimizer set");
    bm_status s = bm_model_check_data(m, train, "training data", err);
    if (s != BM_OK)
        return s;
    if (o->fit.epochs > UINT64_MAX - bm_model_epoch(m))
        return bm_error_set(err, BM_ERR_ARG, "bm_dist_fit: %llu epochs after epoch %llu overflow "
                            "the epoch counter", (unsigned long long)o->fit.epochs,
                            (unsigned long long)bm_model_epoch(m));
    if (!(o->fit.val_split >= 0.0 && o->fit.val_split < 1.0))
        return bm_error_set(err, BM_ERR_ARG, "bm_dist_fit: val_split %g must be in [0, 1)",
                            o->fit.val_split);
    size_t N = (size_t)bm_comm_size(c), per;
    *S = o->shards ? o->shards : N;
    if (*S % N != 0)
        return bm_error_set(err, BM_ERR_ARG, "bm_dist_fit: %zu shards over %zu ranks: the number "
                            "of ranks must divide the shards", *S, N);
    per = *S / N;
    if (N > 1 && (per & (per - 1)))
        return bm_error_set(err, BM_ERR_ARG, "bm_dist_fit: %zu shards over %zu ranks gives %zu "
                            "per rank, not a power of two: the ranks' sums would not be subtrees "
                            "of the shards' pairwise tree (take a power of two of shards)",
                            *S, N, per);
    if (o->fast_reduce && N > 1 && !c->ops.allreduce_sum)
        return bm_error_set(err, BM_ERR_ARG, "bm_dist_fit: fast_reduce: the communicator offers "
                            "no allreduce_sum");
    return BM_OK;
}

bm_status bm_dist_check_split(const bm_dataset *train, const bm_dataset *val, bm_model *m,
                              const bm_dist_opts *o, const bm_comm *c, size_t *S, size_t *bs,
                              bm_error *err)
{
    (void)c;
    size_t n = train->x->shape[0];
    *bs = o->fit.batch_size == 0 || o->fit.batch_size > n ? n : o->fit.batch_size;
    if (*bs % *S != 0)
        return bm_error_set(err, BM_ERR_ARG, "bm_dist_fit: batch size %zu does not split into "
                            "%zu equal shards (the shards must divide the batch)", *bs, *S);
    if (n % *bs % *S != 0)
        return bm_error_set(err, BM_ERR_ARG, "bm_dist_fit: the last batch of an epoch has %zu "
                            "rows (%zu rows, batches of %zu), which do not split into %zu equal "
                            "shards", n % *bs, n, *bs, *S);
    if (val)
        return bm_model_check_data(m, val, "validation data", err);
    return BM_OK;
}

bm_status bm_dist_collective(bm_comm *c, bm_status local, bm_error *err)
{
    int N = c->size;
    if (N == 1)
        return local;
    double *failed = calloc((size_t)N, sizeof *failed);
    bm_error mine = {0};
    if (!failed) /* this rank cannot take part: the others then fail on its silence */
        return bm_error_set(err, BM_ERR_NOMEM, "out of memory agreeing with %d ranks", N);
    failed[c->rank] = local != BM_OK;
    bm_status s = bm_dist_sum(c, failed, (size_t)N, BM_F64, 0, &mine);
    if (s != BM_OK) {
        free(failed);
        if (err)
            *err = mine;
        return s;
    }
    if (local == BM_OK) {
        char list[BM_ERR_LEN];
        size_t count = bm_dist_rank_list(failed, N, list, sizeof list);
        if (count)
            local = bm_error_set(err, BM_ERR_STATE, "bm_dist_fit: rank%s %s failed before "
                                 "training (see %s message)", count > 1 ? "s" : "", list,
                                 count > 1 ? "their" : "its");
    }
    free(failed);
    return local;
}

static uint64_t hash_tensor(uint64_t h, const bm_tensor *t)
{
    if (!t)
        return h;
    h = bm_dist_hash(h, &t->dtype, sizeof t->dtype);
    h = bm_dist_hash(h, &t->rank, sizeof t->rank);
    h = bm_dist_hash(h, t->shape, (size_t)t->rank * sizeof *t->shape);
    return bm_dist_hash(h, t->data, t->size * bm_dtype_size(t->dtype));
}

static uint64_t hash_data(const bm_dataset *d)
{
    uint64_t h = BM_DIST_HASH_INIT;
    if (!d)
        return h;
    h = hash_tensor(h, d->x);
    h = hash_tensor(h, d->y);
    return bm_dist_hash(h, &d->n_classes, sizeof d->n_classes);
}

bm_status bm_dist_check_same(bm_comm *c, bm_model *m, const bm_dataset *train,
                             const bm_dataset *val, const bm_dist_opts *o, size_t S, size_t bs,
                             bm_error *err)
{
    uint64_t h = BM_DIST_HASH_INIT, it = bm_optim_iterations(bm_model_optim(m)), e;
    size_t np = bm_model_n_params(m);
    bm_dtype dt = bm_model_dtype(m);
    double lr = bm_optim_lr(bm_model_optim(m));
    h = bm_dist_hash(h, &dt, sizeof dt);
    h = bm_dist_hash(h, &np, sizeof np);
    h = bm_dist_hash(h, bm_model_params(m), np * bm_dtype_size(dt));
    h = bm_dist_hash(h, bm_model_rng(m)->s, sizeof bm_model_rng(m)->s);
    h = bm_dist_hash(h, &it, sizeof it);
    h = bm_dist_hash(h, &lr, sizeof lr);
    e = bm_model_epoch(m);
    h = bm_dist_hash(h, &e, sizeof e);
    bm_status s = bm_dist_agree(c, h, "the model (parameters, optimizer, RNG, epoch)", err);
    if (s == BM_OK)
        s = bm_dist_agree(c, hash_data(train), "the training data", err);
    if (s == BM_OK)
        s = bm_dist_agree(c, hash_data(val), "the validation data", err);
    if (s != BM_OK)
        return s;
    const struct {
        size_t shards, batch, bucket;
        uint64_t epochs, early_stop;
        int shuffle, fast;
        double val_split;
    } set = {S, bs, o->bucket ? o->bucket : BM_DIST_BUCKET, o->fit.epochs, o->fit.early_stop, o->fit.shuffle, o->fast_reduce,
             o->fit.val_split};
    h = BM_DIST_HASH_INIT;
    h = bm_dist_hash(h, &set.shards, sizeof set.shards);
    h = bm_dist_hash(h, &set.batch, sizeof set.batch);
    h = bm_dist_hash(h, &set.bucket, sizeof set.bucket);
    h = bm_dist_hash(h, &set.epochs, sizeof set.epochs);
    h = bm_dist_hash(h, &set.early_stop, sizeof set.early_stop);
    h = bm_dist_hash(h, &set.shuffle, sizeof set.shuffle);
    h = bm_dist_hash(h, &set.fast, sizeof set.fast);
    h = bm_dist_hash(h, &set.val_split, sizeof set.val_split);
    return bm_dist_agree(c, h, "the training settings (shards, batch, bucket, epochs, shuffle)", err);
}
