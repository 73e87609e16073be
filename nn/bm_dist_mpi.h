/* bm_dist_mpi.h — bm_dist.h over MPI (installed only in builds with
 * -Dmpi=enabled, or auto with OpenMPI found; not included by bmnn.h, so
 * programs that do not use MPI need no mpi.h). The caller initialises and
 * finalises MPI; bmnn never calls MPI_Init, MPI_Finalize or MPI_Abort. */
#ifndef BM_DIST_MPI_H
#define BM_DIST_MPI_H

#include <mpi.h>

#include "bm_dist.h"

#ifdef __cplusplus
extern "C" {
#endif
BM_API_BEGIN

/* A communicator over `comm` (duplicated with MPI_Comm_dup, so bmnn's
 * messages never mix with the caller's): point-to-point messages for the
 * deterministic tree, MPI_Allreduce for bm_dist_opts.fast_reduce. MPI
 * must be initialised; BM_ERR_STATE when it is not, BM_ERR_NULL for
 * MPI_COMM_NULL. Free with bm_comm_free (before MPI_Finalize). */
bm_comm *bm_comm_mpi(MPI_Comm comm, bm_error *err);
/* bm_dist_fit over `comm`: a communicator made and freed around it. */
bm_status bm_dist_fit_mpi(bm_model *m, const bm_dataset *train, const bm_dist_opts *o,
                          MPI_Comm comm, bm_dist_stats *stats, bm_error *err);

BM_API_END
#ifdef __cplusplus
}
#endif
#endif
