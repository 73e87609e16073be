/* dist_internal.h — the communicator's layout and helpers of nn/dist_*.c
 * (not installed). */
#ifndef BM_DIST_INTERNAL_H
#define BM_DIST_INTERNAL_H

#include "bm_dist.h"

/* FNV-1a 64's prime. */
#define BM_DIST_FNV_PRIME 1099511628211ULL
/* splitmix64's constants (Steele, Lea, Flood 2014). */
#define BM_DIST_MIX_GOLDEN 0x9e3779b97f4a7c15ULL
#define BM_DIST_MIX_M1 0xbf58476d1ce4e5b9ULL
#define BM_DIST_MIX_M2 0x94d049bb133111ebULL
#define BM_DIST_MIX_S1 30
#define BM_DIST_MIX_S2 27
#define BM_DIST_MIX_S3 31
/* Levels of the ranks' tree: log2 BM_DIST_MAX_RANKS, and one to spare. */
#define BM_DIST_MAX_LEVELS 16

struct bm_comm {
    bm_comm_ops ops;
    void *ud;
    int rank, size;
    void *scratch;      /* one received bucket */
    size_t scratch_len; /* its bytes */
    double seconds;     /* in reductions so far */
};

/* Wall-clock seconds. */
double bm_dist_now(void);
/* The ranks r < n whose flags[r] is not 0, as "1, 3" into list (size
 * bytes, cut short when full); returns how many there are. */
size_t bm_dist_rank_list(const double *flags, int n, char *list, size_t size);
/* acc[i] += v[i] for n values of dt (f32 or f64). */
void bm_dist_add(bm_dtype dt, void *acc, const void *v, size_t n);
/* The transport's allreduce_sum (the fast, non-deterministic reduction);
 * BM_ERR_STATE when it has none. c is not NULL. */
bm_status bm_dist_fast_sum(bm_comm *c, void *buf, size_t n, bm_dtype dt, bm_error *err);

/* bm_dist_fit's checks one rank makes alone: model state, data, epochs,
 * the shards S (o->shards or the ranks) against the ranks. */
bm_status bm_dist_check_local(bm_model *m, const bm_dataset *train, const bm_dist_opts *o,
                              const bm_comm *c, size_t *S, size_t *bs, bm_error *err);
/* The batch *bs of the training rows and its last batch against S; the
 * validation data against the model. */
bm_status bm_dist_check_split(const bm_dataset *train, const bm_dataset *val, bm_model *m,
                              const bm_dist_opts *o, const bm_comm *c, size_t *S, size_t *bs,
                              bm_error *err);
/* Every rank passes its local status; each returns its own error, or, when
 * only others failed, BM_ERR_STATE naming them. */
bm_status bm_dist_collective(bm_comm *c, bm_status local, bm_error *err);
/* The ranks hold the same model, data and settings (hashes against rank 0's). */
bm_status bm_dist_check_same(bm_comm *c, bm_model *m, const bm_dataset *train,
                             const bm_dataset *val, const bm_dist_opts *o, size_t S, size_t bs,
                             bm_error *err);

#endif
