/* train_dist.c — `bmnn train` data-parallel: --shards S in one process,
 * or N ranks under mpirun (bm_dist.h; MPI only when built with -Dmpi). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>

#include "train_dist.h"
#ifdef BM_HAVE_MPI
#include "bm_dist_mpi.h"
#endif

/* Most shards --shards takes. */
#define TD_MAX_SHARDS 65536

/* The launcher's rank count from its environment (OpenMPI, then PMI/Slurm's); 0: none. */
static long launched_size(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v)
            return strtol(v, NULL, 10);
    }
    return 0;
}

int train_dist_take(train_dist *d, int c, const char *arg)
{
    if (c == TD_ALLREDUCE) {
        d->fast = 1;
        return 0;
    }
    if (cli_parse_uint("train", "--shards", arg, 1, TD_MAX_SHARDS, &d->shards))
        return -1;
    return 0;
}

int train_dist_begin(train_dist *d)
{
    long n = launched_size();
    d->rank = 0;
    d->size = 1;
    if (n <= 0)
        return 0;
#ifdef BM_HAVE_MPI
    if (MPI_Init(NULL, NULL) != MPI_SUCCESS) {
        cli_fail("train", "MPI_Init failed (launched by mpirun with %ld ranks)", n);
        return -1;
    }
    d->mpi = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &d->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &d->size);
    if (d->rank > 0) /* rank 0 speaks for all; without /dev/null the others print too */
        (void)!freopen("/dev/null", "w", stdout);
    return d->rank;
#else
    if (n > 1) {
        cli_fail("train", "launched as one of %ld ranks, but this bmnn was built without MPI "
                 "(meson -Dmpi=enabled with OpenMPI installed)", n);
        return -1;
    }
    return 0;
#endif
}

bm_status train_dist_fit(train_dist *d, bm_model *m, const bm_dataset *train,
                         const bm_fit_opts *fo, bm_error *err)
{
    if (!d->mpi && !d->shards && !d->fast)
        return bm_model_fit(m, train, fo, err);
    bm_dist_opts o = bm_dist_defaults();
    bm_dist_stats st = {0};
    o.fit = *fo;
    o.shards = (size_t)d->shards;
    o.fast_reduce = d->fast;
    bm_comm *c = NULL;
#ifdef BM_HAVE_MPI
    c = d->mpi ? bm_comm_mpi(MPI_COMM_WORLD, err) : bm_comm_local(err);
#else
    c = bm_comm_local(err);
#endif
    if (!c)
        return err->code;
    bm_status s = bm_dist_fit(m, train, &o, c, &st, err);
    d->fit_returned = 1;
    if (s == BM_OK && d->rank == 0 && st.steps)
        fprintf(stderr, "data-parallel: %d rank%s x %zu shards, %llu steps, %.3f ms per step, "
                "%.3f ms of it in the ranks' reduction%s\n", d->size, d->size > 1 ? "s" : "",
                st.shards, (unsigned long long)st.steps, 1e3 * st.seconds / (double)st.steps,
                1e3 * st.comm_seconds / (double)st.steps,
                d->fast ? " (MPI_Allreduce: not bit-reproducible)" : "");
    bm_comm_free(c);
    return s;
}

int train_dist_end(train_dist *d, int rc)
{
#ifdef BM_HAVE_MPI
    if (d->mpi) {
        fflush(stdout);
        fflush(stderr);
        if (rc != CLI_OK && !d->fit_returned)
            MPI_Abort(MPI_COMM_WORLD, rc); /* the others may wait for this rank: end them */
        MPI_Finalize();
    }
#else
    (void)d;
#endif
    return rc;
}
