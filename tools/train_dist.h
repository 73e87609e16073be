/* train_dist.h — `bmnn train --shards S [--allreduce]` and training under
 * `mpirun -np N` (tools/ only): the flags, MPI's start and end, and the
 * choice between bm_model_fit and bm_dist_fit. */
#ifndef BM_TRAIN_DIST_H
#define BM_TRAIN_DIST_H

#include "cli.h"

/* Option ids of the flags (getopt_long values), after the training controls'. */
enum { TD_SHARDS = 640, TD_ALLREDUCE };

/* The flags and the launch. */
typedef struct train_dist {
    uint64_t shards;   /* --shards S (0: not given) */
    int fast;          /* --allreduce */
    int mpi;           /* MPI_Init was called here */
    int fit_returned;  /* bm_dist_fit returned on every rank (its errors are collective) */
    int rank, size;
} train_dist;

/* Take option c (TD_*) with its argument; 0, or -1 after a usage message. */
int train_dist_take(train_dist *d, int c, const char *arg);
/* Start: under mpirun (its environment says so) initialise MPI. Returns
 * this process's rank (0 outside MPI; ranks > 0 then print nothing and
 * save nothing: the caller drops its outputs), or -1 after a message. */
int train_dist_begin(train_dist *d);
/* Train: bm_model_fit outside MPI without --shards (exactly as before),
 * otherwise bm_dist_fit over MPI_COMM_WORLD or this one process. */
bm_status train_dist_fit(train_dist *d, bm_model *m, const bm_dataset *train,
                         const bm_fit_opts *fo, bm_error *err);
/* End MPI (MPI_Finalize; MPI_Abort after a failure of this rank alone, so
 * the others do not wait for it); returns rc. */
int train_dist_end(train_dist *d, int rc);

#endif
