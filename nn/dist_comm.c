/* dist_comm.c — communicators and the deterministic reductions over them.
 *
 * The ranks' sum is the pairwise tree of bm_dist.h: at level l (stride
 * s = 2^l) rank r with r mod 2s = 0 receives rank r + s's partial sum (when
 * that rank exists) and adds it to its own; rank r mod 2s = s sends and is
 * done. Rank 0 ends with the sum and sends it back down the same tree.
 * For N a power of two the same additions are made by recursive halving
 * and doubling (halving()), which sends less. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bm_dist.h"
#include "dist_internal.h"

/* Seconds on a monotonic-enough clock (C11 timespec_get). */
double bm_dist_now(void)
{
    struct timespec ts;
    if (timespec_get(&ts, TIME_UTC) != TIME_UTC)
        return 0.0;
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

bm_comm *bm_comm_new(const bm_comm_ops *ops, void *ud, int rank, int size, bm_error *err)
{
    if (!ops) {
        bm_error_set(err, BM_ERR_NULL, "bm_comm_new: ops is NULL");
        return NULL;
    }
    if (size < 1 || size > BM_DIST_MAX_RANKS || rank < 0 || rank >= size) {
        bm_error_set(err, BM_ERR_ARG, "bm_comm_new: rank %d of %d ranks (ranks 1..%d)", rank,
                     size, BM_DIST_MAX_RANKS);
        return NULL;
    }
    if (size > 1 && (!ops->send || !ops->recv)) {
        bm_error_set(err, BM_ERR_NULL, "bm_comm_new: %d ranks need ops.send and ops.recv", size);
        return NULL;
    }
    bm_comm *c = calloc(1, sizeof *c);
    if (!c) {
        bm_error_set(err, BM_ERR_NOMEM, "out of memory for a communicator");
        return NULL;
    }
    c->ops = *ops;
    c->ud = ud;
    c->rank = rank;
    c->size = size;
    return c;
}

bm_comm *bm_comm_local(bm_error *err)
{
    const bm_comm_ops none = {0};
    return bm_comm_new(&none, NULL, 0, 1, err);
}

void bm_comm_free(bm_comm *c)
{
    if (!c)
        return;
    if (c->ops.release)
        c->ops.release(c->ud);
    free(c->scratch);
    free(c);
}

int bm_comm_rank(const bm_comm *c) { return c ? c->rank : 0; }
int bm_comm_size(const bm_comm *c) { return c ? c->size : 1; }
double bm_comm_seconds(const bm_comm *c) { return c ? c->seconds : 0.0; }

/* Room for `bytes` bytes of received data. */
static bm_status ensure_scratch(bm_comm *c, size_t bytes, bm_error *err)
{
    if (c->scratch_len >= bytes)
        return BM_OK;
    void *p = realloc(c->scratch, bytes);
    if (!p)
        return bm_error_set(err, BM_ERR_NOMEM, "out of memory for a %zu-byte message", bytes);
    c->scratch = p;
    c->scratch_len = bytes;
    return BM_OK;
}

size_t bm_dist_rank_list(const double *flags, int n, char *list, size_t size)
{
    size_t len = 0, count = 0;
    if (size)
        list[0] = '\0';
    for (int r = 0; r < n; r++) {
        if (flags[r] == 0.0)
            continue;
        int w = snprintf(list + len, size - len, "%s%d", count ? ", " : "", r);
        if (w > 0 && (size_t)w < size - len)
            len += (size_t)w;
        count++;
    }
    return count;
}

void bm_dist_add(bm_dtype dt, void *acc, const void *v, size_t n)
{
    if (dt == BM_F64) {
        double *a = acc;
        const double *b = v;
        for (size_t i = 0; i < n; i++)
            a[i] += b[i];
    } else {
        float *a = acc;
        const float *b = v;
        for (size_t i = 0; i < n; i++)
            a[i] += b[i];
    }
}

/* One bucket: up the tree to rank 0, then back down. */
static bm_status tree_bucket(bm_comm *c, char *buf, size_t n, bm_dtype dt, bm_error *err)
{
    size_t bytes = n * bm_dtype_size(dt);
    int r = c->rank, N = c->size, s, top = 1;
    bm_status st = BM_OK;
    for (s = 1; s < N && st == BM_OK; s *= 2) {
        if (r % (2 * s) == s) {
            st = c->ops.send(c->ud, r - s, buf, bytes, err);
            break;
        }
        if (r + s < N && (st = c->ops.recv(c->ud, r + s, c->scratch, bytes, err)) == BM_OK)
            bm_dist_add(dt, buf, c->scratch, n);
    }
    while (top < N)
        top *= 2;
    /* down: the reverse of the same tree (rank r's lowest set bit is its level) */
    for (s = top / 2; s >= 1 && st == BM_OK; s /= 2) {
        if (r % (2 * s) == 0) {
            if (r + s < N)
                st = c->ops.send(c->ud, r + s, buf, bytes, err);
        } else if (r % (2 * s) == s) {
            st = c->ops.recv(c->ud, r - s, buf, bytes, err);
        }
    }
    return st;
}

/* Exchange with `peer`: send `sb` bytes at `out`, receive `rb` bytes into
 * `in`; the lower rank sends first, so blocking transports do not deadlock. */
static bm_status swap(bm_comm *c, int peer, const void *out, size_t sb, void *in, size_t rb,
                      bm_error *err)
{
    bm_status s;
    if (c->rank < peer) {
        if ((s = c->ops.send(c->ud, peer, out, sb, err)) != BM_OK)
            return s;
        return c->ops.recv(c->ud, peer, in, rb, err);
    }
    if ((s = c->ops.recv(c->ud, peer, in, rb, err)) != BM_OK)
        return s;
    return c->ops.send(c->ud, peer, out, sb, err);
}

/* N a power of two: recursive halving (a reduce-scatter), then recursive
 * doubling (an all-gather). At level s rank r and rank r ^ s hold the
 * same segment; each keeps one half and adds the other's partial sums of
 * it, so every element gets exactly the pairwise tree's additions
 * ((x0 + x1) + (x2 + x3) ...; a + b = b + a in IEEE arithmetic) while each
 * rank sends 2(N−1)/N of the buffer instead of the tree's 2·log2 N. */
static bm_status halving(bm_comm *c, char *buf, size_t n, bm_dtype dt, bm_error *err)
{
    size_t esz = bm_dtype_size(dt), lo = 0, hi = n, los[BM_DIST_MAX_LEVELS], his[BM_DIST_MAX_LEVELS];
    int r = c->rank, lv = 0, s;
    bm_status st = BM_OK;
    for (s = 1; s < c->size && st == BM_OK; s *= 2, lv++) {
        size_t mid = lo + (hi - lo) / 2;
        int low = (r & s) == 0;
        size_t klo = low ? lo : mid, khi = low ? mid : hi, slo = low ? mid : lo,
               shi = low ? hi : mid;
        st = swap(c, r ^ s, buf + slo * esz, (shi - slo) * esz, c->scratch, (khi - klo) * esz,
                  err);
        if (st == BM_OK)
            bm_dist_add(dt, buf + klo * esz, c->scratch, khi - klo);
        los[lv] = lo;
        his[lv] = hi;
        lo = klo;
        hi = khi;
    }
    for (s = c->size / 2; s >= 1 && st == BM_OK; s /= 2) {
        lv--;
        int low = (r & s) == 0;
        size_t plo = low ? hi : los[lv], phi = low ? his[lv] : lo;
        st = swap(c, r ^ s, buf + lo * esz, (hi - lo) * esz, buf + plo * esz, (phi - plo) * esz,
                  err);
        lo = los[lv];
        hi = his[lv];
    }
    return st;
}

bm_status bm_dist_sum(bm_comm *c, void *buf, size_t n, bm_dtype dt, size_t bucket,
                      bm_error *err)
{
    if (!c || (!buf && n))
        return bm_error_set(err, BM_ERR_NULL, "bm_dist_sum: %s is NULL", !c ? "comm" : "buf");
    if (dt != BM_F32 && dt != BM_F64)
        return bm_error_set(err, BM_ERR_DTYPE, "bm_dist_sum: dtype %d is not f32 or f64",
                            (int)dt);
    if (c->size == 1 || n == 0)
        return BM_OK;
    size_t per = bucket ? bucket : BM_DIST_BUCKET, esz = bm_dtype_size(dt);
    int pow2 = (c->size & (c->size - 1)) == 0;
    bm_status st;
    double t0 = bm_dist_now();
    if (pow2 && n >= (size_t)c->size) { /* the same additions, less traffic */
        if ((st = ensure_scratch(c, (n - n / 2) * esz, err)) == BM_OK)
            st = halving(c, buf, n, dt, err);
    } else {
        if (per > n)
            per = n;
        st = ensure_scratch(c, per * esz, err);
        for (size_t at = 0; at < n && st == BM_OK; at += per)
            st = tree_bucket(c, (char *)buf + at * esz, n - at < per ? n - at : per, dt, err);
    }
    c->seconds += bm_dist_now() - t0;
    return st;
}

bm_status bm_dist_fast_sum(bm_comm *c, void *buf, size_t n, bm_dtype dt, bm_error *err)
{
    if (c->size == 1 || n == 0)
        return BM_OK;
    if (!c->ops.allreduce_sum)
        return bm_error_set(err, BM_ERR_STATE, "fast reduction: this communicator offers no "
                            "allreduce_sum (use the deterministic one)");
    double t0 = bm_dist_now();
    bm_status st = c->ops.allreduce_sum(c->ud, buf, n, dt, err);
    c->seconds += bm_dist_now() - t0;
    return st;
}

bm_status bm_dist_bcast(bm_comm *c, void *buf, size_t bytes, bm_error *err)
{
    if (!c || (!buf && bytes))
        return bm_error_set(err, BM_ERR_NULL, "bm_dist_bcast: %s is NULL", !c ? "comm" : "buf");
    int r = c->rank, N = c->size, top = 1;
    bm_status st = BM_OK;
    while (top < N)
        top *= 2;
    for (int s = top / 2; s >= 1 && st == BM_OK && bytes; s /= 2) {
        if (r % (2 * s) == 0 && r + s < N)
            st = c->ops.send(c->ud, r + s, buf, bytes, err);
        else if (r % (2 * s) == s)
            st = c->ops.recv(c->ud, r - s, buf, bytes, err);
    }
    return st;
}

bm_status bm_dist_agree(bm_comm *c, uint64_t value, const char *what, bm_error *err)
{
    if (!c)
        return bm_error_set(err, BM_ERR_NULL, "bm_dist_agree: comm is NULL");
    const char *name = what ? what : "value";
    int N = c->size;
    if (N == 1)
        return BM_OK;
    uint64_t ref = value;
    double *differs = calloc((size_t)N, sizeof *differs);
    if (!differs)
        return bm_error_set(err, BM_ERR_NOMEM, "out of memory comparing %s across %d ranks",
                            name, N);
    bm_status st = bm_dist_bcast(c, &ref, sizeof ref, err);
    differs[c->rank] = ref != value;
    if (st == BM_OK)
        st = bm_dist_sum(c, differs, (size_t)N, BM_F64, 0, err);
    if (st == BM_OK) {
        char list[BM_ERR_LEN];
        size_t count = bm_dist_rank_list(differs, N, list, sizeof list);
        if (count)
            st = bm_error_set(err, BM_ERR_ARG, "%s: rank%s %s differ%s from rank 0's (every rank "
                              "must be given the same)", name, count > 1 ? "s" : "", list,
                              count > 1 ? "" : "s");
    }
    free(differs);
    return st;
}

uint64_t bm_dist_hash(uint64_t h, const void *p, size_t bytes)
{
    const unsigned char *b = p;
    for (size_t i = 0; b && i < bytes; i++) {
        h ^= b[i];
        h *= BM_DIST_FNV_PRIME;
    }
    return h;
}

/* splitmix64's finaliser: a bijection that spreads every input bit. */
static uint64_t mix(uint64_t z)
{
    z = (z ^ (z >> BM_DIST_MIX_S1)) * BM_DIST_MIX_M1;
    z = (z ^ (z >> BM_DIST_MIX_S2)) * BM_DIST_MIX_M2;
    return z ^ (z >> BM_DIST_MIX_S3);
}

uint64_t bm_dist_shard_seed(const bm_rng *epoch_rng, uint64_t step, size_t shard)
{
    if (!epoch_rng)
        return 0;
    uint64_t h = bm_dist_hash(BM_DIST_HASH_INIT, epoch_rng->s, sizeof epoch_rng->s);
    h = mix(h ^ mix(step + BM_DIST_MIX_GOLDEN));
    return mix(h ^ mix((uint64_t)shard + BM_DIST_MIX_GOLDEN * 2));
}
