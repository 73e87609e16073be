/* bm_dist.h — data-parallel training with the same bits as one process.
 *
 * Each global batch of B rows is split into S equal shards of B/S rows.
 * Every shard's gradient is computed on its own (replayed) graph, the S
 * gradients are summed with ONE fixed association — the pairwise tree over
 * the shards: shards 2i and 2i+1 are added, then pairs of pairs, a lone
 * last node passing up unchanged — divided by S (shard losses are means
 * over the shard's rows, so the result is the batch's mean gradient), and
 * one optimizer step follows. Over N ranks, rank r holds shards
 * [r·S/N, (r+1)·S/N): a whole subtree when S/N is a power of two. It sums
 * them locally by that subtree, and the ranks combine their subtree roots
 * by the rest of the same tree (rank r adds rank r + 2^l's partial sum),
 * so the sum has the same bits for every such N, and one process with
 * --shards S (N = 1) gives the same checkpoint byte for byte.
 *
 * Randomness: the epoch's row order comes from the model's RNG exactly as
 * bm_model_fit draws it (the RNG state is in every checkpoint and equal on
 * every rank); dropout masks come from a stream per (model RNG state at
 * the epoch's start, optimizer step, global shard index)
 * (bm_dist_shard_seed), so sharding over ranks changes none of them. The
 * model's RNG is put back after each step, so it advances only by the
 * shuffle. Consequence: S = 1 equals bm_model_fit bit for bit for a model
 * without dropout; with dropout the masks differ (another stream).
 *
 * The library needs no MPI: a communicator is a pair of blocking
 * point-to-point calls (bm_comm_ops), bm_comm_local() is one rank, and
 * bm_dist_mpi.h (built with -Dmpi) wraps an MPI_Comm. */
#ifndef BM_DIST_H
#define BM_DIST_H

#include "bm_model.h"

#ifdef __cplusplus
extern "C" {
#endif
BM_API_BEGIN

/* Elements per message of the ranks' reduction unless bm_dist_opts.bucket
 * says otherwise (see README, "Data-parallel training": the cost model). */
#define BM_DIST_BUCKET ((size_t)1 << 18)
/* Most ranks a communicator may have. */
#define BM_DIST_MAX_RANKS 4096

/* A communicator of N ranks (opaque). */
typedef struct bm_comm bm_comm;

/* A transport: blocking messages between ranks. Each call returns BM_OK or
 * an error (with err naming the peer). */
typedef struct bm_comm_ops {
    /* Send `bytes` bytes of buf to rank `to`. */
    bm_status (*send)(void *ud, int to, const void *buf, size_t bytes, bm_error *err);
    /* Receive exactly `bytes` bytes from rank `from` into buf. */
    bm_status (*recv)(void *ud, int from, void *buf, size_t bytes, bm_error *err);
    /* Optional (NULL: not offered): sum n values of dt in place over all
     * ranks in an order of the transport's choosing (MPI_Allreduce) — the
     * fast reduction, NOT bit-identical across rank counts. */
    bm_status (*allreduce_sum)(void *ud, void *buf, size_t n, bm_dtype dt, bm_error *err);
    /* Optional: called with ud by bm_comm_free (NULL: ud stays the caller's). */
    void (*release)(void *ud);
} bm_comm_ops;

/* A communicator over a transport of your own: this process is `rank` of
 * `size` (1..BM_DIST_MAX_RANKS). ops is copied; ud is passed to each call.
 * Returns a new communicator the caller frees with bm_comm_free, or NULL. */
bm_comm *bm_comm_new(const bm_comm_ops *ops, void *ud, int rank, int size, bm_error *err);
/* A communicator of one rank (no messages): bm_dist_fit as one process. */
bm_comm *bm_comm_local(bm_error *err);
/* Free a communicator (and its ud through ops.release); NULL is fine. */
void bm_comm_free(bm_comm *c);
/* This process's rank (0 for NULL). */
int bm_comm_rank(const bm_comm *c);
/* Number of ranks (1 for NULL). */
int bm_comm_size(const bm_comm *c);
/* Seconds spent in the reductions and broadcasts so far (0 for NULL). */
double bm_comm_seconds(const bm_comm *c);

/* Sum n values of dt in buf over all ranks, in place, the result on every
 * rank, with the pairwise tree's association over ranks (rank r adds rank
 * r + 2^l's partial sum at level l). N a power of two and n >= N: by
 * recursive halving and doubling (the same additions, 2(N−1)/N of the
 * buffer sent per rank); otherwise up the tree and back down from rank 0,
 * in messages of `bucket` elements (0: BM_DIST_BUCKET). The same bits
 * either way and for every bucket size. */
bm_status bm_dist_sum(bm_comm *c, void *buf, size_t n, bm_dtype dt, size_t bucket,
                      bm_error *err);
/* Broadcast `bytes` bytes of buf from rank 0 to every rank. */
bm_status bm_dist_bcast(bm_comm *c, void *buf, size_t bytes, bm_error *err);
/* Compare a value (a hash) across ranks: BM_OK when every rank passed
 * rank 0's; otherwise BM_ERR_ARG on EVERY rank, naming `what` and the
 * ranks that differ ("model: ranks 1, 3 differ from rank 0"). */
bm_status bm_dist_agree(bm_comm *c, uint64_t value, const char *what, bm_error *err);
/* FNV-1a 64 of `bytes` bytes at p, continuing from h (start: BM_DIST_HASH_INIT). */
uint64_t bm_dist_hash(uint64_t h, const void *p, size_t bytes);
/* The FNV-1a 64 offset basis. */
#define BM_DIST_HASH_INIT 14695981039346656037ULL
/* The seed of global shard `shard`'s dropout stream at optimizer step
 * `step`, from the model RNG's state at the epoch's start (0 for NULL). */
uint64_t bm_dist_shard_seed(const bm_rng *epoch_rng, uint64_t step, size_t shard);

/* Data-parallel settings; bm_dist_defaults() fills them. */
typedef struct bm_dist_opts {
    bm_fit_opts fit;   /* as for bm_model_fit (profile and replay = 0 are ignored:
                        * shard graphs are always replayed); callbacks and the step
                        * hook run on every rank, and a stop asked by any rank's
                        * callback, hook or stop flag stops all of them at the same
                        * step; print_every prints on rank 0 only */
    size_t shards;     /* S: shards per batch (0: the number of ranks) */
    int fast_reduce;   /* 1: the transport's allreduce_sum (MPI_Allreduce) between
                        * ranks: faster, but its association is unspecified, so the
                        * bits may differ from one process's and between rank counts */
    size_t bucket;     /* elements per reduction message (0: BM_DIST_BUCKET); the same on
                        * every rank (checked): any size gives the same bits */
} bm_dist_opts;

/* Defaults: bm_fit_defaults(), shards 0, the deterministic reduction. */
bm_dist_opts bm_dist_defaults(void);

/* What a bm_dist_fit call did. */
typedef struct bm_dist_stats {
    uint64_t steps;       /* optimizer steps */
    size_t shards;        /* S used */
    double seconds;       /* wall time of the training loop */
    double comm_seconds;  /* of which in the ranks' reductions */
} bm_dist_stats;

/* Train m data-parallel over c (NULL: one process). Every rank passes the
 * same model, data and settings (checked at the start by hashes: a
 * mismatch fails on every rank, naming it); S must divide the batch and
 * the last, shorter batch of an epoch (B and N mod B), and N must divide S
 * with S/N a power of two — errors name the numbers. Ends like
 * bm_model_fit: BM_ERR_NUMERIC for a NaN/Inf loss (no update made from
 * it), BM_ERR_INTERRUPTED when any rank's stop flag was set (all ranks
 * stop at the same step). Every rank ends with the same parameters,
 * optimizer state, RNG and epoch. stats may be NULL. */
bm_status bm_dist_fit(bm_model *m, const bm_dataset *train, const bm_dist_opts *o, bm_comm *c,
                      bm_dist_stats *stats, bm_error *err);

BM_API_END
#ifdef __cplusplus
}
#endif
#endif
