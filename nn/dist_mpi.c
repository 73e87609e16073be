/* dist_mpi.c — a bm_comm over an MPI communicator (built with -Dmpi). */
#include <limits.h>
#include <stdlib.h>

#include "bm_dist_mpi.h"

/* Tag of bmnn's messages on its own duplicate of the caller's communicator. */
#define DIST_MPI_TAG 4207

typedef struct mpi_comm {
    MPI_Comm comm;
} mpi_comm;

/* An MPI error as text, with what failed and the peer. */
static bm_status mpi_fail(int rc, const char *what, int peer, bm_error *err)
{
    char msg[MPI_MAX_ERROR_STRING] = "";
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    return bm_error_set(err, BM_ERR_IO, "MPI %s rank %d: %s", what, peer, msg);
}

/* MPI counts are int: messages above INT_MAX bytes go in pieces. */
static bm_status mpi_send(void *ud, int to, const void *buf, size_t bytes, bm_error *err)
{
    const mpi_comm *c = ud;
    for (size_t at = 0; at < bytes || bytes == 0; at += (size_t)INT_MAX) {
        size_t k = bytes - at < (size_t)INT_MAX ? bytes - at : (size_t)INT_MAX;
        int rc = MPI_Send((const char *)buf + at, (int)k, MPI_BYTE, to, DIST_MPI_TAG, c->comm);
        if (rc != MPI_SUCCESS)
            return mpi_fail(rc, "send to", to, err);
        if (bytes == 0)
            break;
    }
    return BM_OK;
}

static bm_status mpi_recv(void *ud, int from, void *buf, size_t bytes, bm_error *err)
{
    const mpi_comm *c = ud;
    for (size_t at = 0; at < bytes || bytes == 0; at += (size_t)INT_MAX) {
        size_t k = bytes - at < (size_t)INT_MAX ? bytes - at : (size_t)INT_MAX;
        int rc = MPI_Recv((char *)buf + at, (int)k, MPI_BYTE, from, DIST_MPI_TAG, c->comm,
                          MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS)
            return mpi_fail(rc, "receive from", from, err);
        if (bytes == 0)
            break;
    }
    return BM_OK;
}

static bm_status mpi_allreduce(void *ud, void *buf, size_t n, bm_dtype dt, bm_error *err)
{
    const mpi_comm *c = ud;
    MPI_Datatype t = dt == BM_F64 ? MPI_DOUBLE : MPI_FLOAT;
    size_t esz = bm_dtype_size(dt);
    for (size_t at = 0; at < n; at += (size_t)INT_MAX) {
        size_t k = n - at < (size_t)INT_MAX ? n - at : (size_t)INT_MAX;
        int rc = MPI_Allreduce(MPI_IN_PLACE, (char *)buf + at * esz, (int)k, t, MPI_SUM, c->comm);
        if (rc != MPI_SUCCESS)
            return mpi_fail(rc, "allreduce on", -1, err);
    }
    return BM_OK;
}

static void mpi_release(void *ud)
{
    mpi_comm *c = ud;
    int fin = 1;
    MPI_Finalized(&fin);
    if (c && !fin)
        MPI_Comm_free(&c->comm);
    free(c);
}

bm_comm *bm_comm_mpi(MPI_Comm comm, bm_error *err)
{
    int init = 0, fin = 0, rank = 0, size = 0;
    if (comm == MPI_COMM_NULL) {
        bm_error_set(err, BM_ERR_NULL, "bm_comm_mpi: comm is MPI_COMM_NULL");
        return NULL;
    }
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    if (!init || fin) {
        bm_error_set(err, BM_ERR_STATE, "bm_comm_mpi: MPI is %s", fin ? "finalised" :
                     "not initialised (call MPI_Init first)");
        return NULL;
    }
    mpi_comm *mc = malloc(sizeof *mc);
    if (!mc) {
        bm_error_set(err, BM_ERR_NOMEM, "out of memory for an MPI communicator");
        return NULL;
    }
    if (MPI_Comm_dup(comm, &mc->comm) != MPI_SUCCESS) {
        free(mc);
        bm_error_set(err, BM_ERR_IO, "bm_comm_mpi: MPI_Comm_dup failed");
        return NULL;
    }
    /* errors come back as codes (then a message), not as MPI's abort */
    MPI_Comm_set_errhandler(mc->comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(mc->comm, &rank);
    MPI_Comm_size(mc->comm, &size);
    const bm_comm_ops ops = {.send = mpi_send, .recv = mpi_recv,
                             .allreduce_sum = mpi_allreduce, .release = mpi_release};
    bm_comm *c = bm_comm_new(&ops, mc, rank, size, err);
    if (!c)
        mpi_release(mc);
    return c;
}

bm_status bm_dist_fit_mpi(bm_model *m, const bm_dataset *train, const bm_dist_opts *o,
                          MPI_Comm comm, bm_dist_stats *stats, bm_error *err)
{
    bm_comm *c = bm_comm_mpi(comm, err);
    if (!c)
        return err ? err->code : BM_ERR_STATE;
    bm_status s = bm_dist_fit(m, train, o, c, stats, err);
    bm_comm_free(c);
    return s;
}
