/* test_dist.c — bm_dist.h without MPI: N ranks as threads of this process,
 * joined by pipes (a bm_comm_ops transport of the test's own). Checks that
 * one process with S shards and N = 2, 4 ranks end byte-identical (the
 * model's whole JSON), that S = 1 equals bm_model_fit for a model without
 * dropout, that a checkpoint resumes with another N, the reduction's
 * association (a tree, not a chain), and that bad launches fail on every
 * rank with a message naming the problem. (MPI itself: tests/test_mpi.sh.) */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "test_util.h"

/* Most ranks a test runs. */
#define MAX_RANKS 4
/* Spiral rows per class and classes: 3 × 40 = 120 rows. */
#define SPIRAL_PER_CLASS 40
#define SPIRAL_CLASSES 3
#define SPIRAL_SEED 7
/* Batches of 24 rows: 5 steps per epoch. */
#define BATCH 24
#define EPOCHS 4
/* Shards of the main runs. */
#define SHARDS 4

/* The tests' model: 2-8-3, tanh, dropout and L2, SGD with momentum (as
 * tests/data/cli_small.json), or the same without dropout. */
static const char *const model_dropout =
    "{\"inputs\": 2, \"layers\": [{\"type\": \"dense\", \"in\": 2, \"out\": 8, \"init\": "
    "\"glorot\", \"l2_weights\": 1e-4}, {\"type\": \"tanh\"}, {\"type\": \"dropout\", \"rate\": "
    "0.1}, {\"type\": \"dense\", \"in\": 8, \"out\": 3}], \"loss\": \"softmax_cce\", "
    "\"optimizer\": {\"type\": \"sgd\", \"lr\": 0.5, \"decay\": 1e-3, \"momentum\": 0.9}, "
    "\"training\": {\"seed\": 3}}";
static const char *const model_plain =
    "{\"inputs\": 2, \"layers\": [{\"type\": \"dense\", \"in\": 2, \"out\": 8, \"init\": "
    "\"glorot\"}, {\"type\": \"tanh\"}, {\"type\": \"dense\", \"in\": 8, \"out\": 3}], \"loss\": "
    "\"softmax_cce\", \"optimizer\": {\"type\": \"adam\", \"lr\": 0.01}, "
    "\"training\": {\"seed\": 3}}";

/* A graph model with state tensors: batch norm's running statistics. */
static const char *const model_bn =
    "{\"version\": 2, \"inputs\": [{\"name\": \"input\", \"shape\": [2]}], \"nodes\": ["
    "{\"name\": \"fc1\", \"kind\": \"dense\", \"out\": 8, \"init\": \"glorot\"}, "
    "{\"name\": \"bn\", \"kind\": \"batch_norm\"}, {\"name\": \"act\", \"kind\": \"tanh\"}, "
    "{\"name\": \"fc2\", \"kind\": \"dense\", \"out\": 3}], \"loss\": \"softmax_cce\", "
    "\"optimizer\": {\"type\": \"sgd\", \"lr\": 0.2}, \"training\": {\"seed\": 3}}";

/* ------------------------------------------------------ pipe transport */

typedef struct hub {
    int fd[MAX_RANKS][MAX_RANKS][2]; /* pipe from rank i to rank j */
    int n;
} hub;

typedef struct endpoint {
    hub *h;
    int rank;
} endpoint;

static bm_status pipe_send(void *ud, int to, const void *buf, size_t bytes, bm_error *err)
{
    endpoint *e = ud;
    const char *p = buf;
    while (bytes) {
        ssize_t k = write(e->h->fd[e->rank][to][1], p, bytes);
        if (k <= 0)
            return bm_error_set(err, BM_ERR_IO, "pipe send to %d failed", to);
        p += k;
        bytes -= (size_t)k;
    }
    return BM_OK;
}

static bm_status pipe_recv(void *ud, int from, void *buf, size_t bytes, bm_error *err)
{
    endpoint *e = ud;
    char *p = buf;
    while (bytes) {
        ssize_t k = read(e->h->fd[from][e->rank][0], p, bytes);
        if (k <= 0)
            return bm_error_set(err, BM_ERR_IO, "pipe receive from %d failed", from);
        p += k;
        bytes -= (size_t)k;
    }
    return BM_OK;
}

static void hub_open(hub *h, int n)
{
    h->n = n;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            ck_assert_int_eq(pipe(h->fd[i][j]), 0);
}

static void hub_close(hub *h)
{
    for (int i = 0; i < h->n; i++)
        for (int j = 0; j < h->n; j++) {
            close(h->fd[i][j][0]);
            close(h->fd[i][j][1]);
        }
}

/* ------------------------------------------------------------ one rank */

typedef struct rank_job {
    endpoint ep;
    const char *model;    /* JSON of the starting model */
    size_t shards, batch;
    uint64_t epochs, data_seed;
    int shuffle;
    bm_status status;
    bm_error err;
    char *json;           /* the model after training (free()) */
    double sum;           /* sum_job: the value summed (vec NULL) */
    double *vec;          /* sum_job: or len values */
    size_t len;
    size_t bucket;        /* reduction message size (elements) */
    volatile sig_atomic_t stop; /* the rank's stop flag (bm_fit_opts.stop) */
} rank_job;

static void spiral(bm_dataset *ds, uint64_t seed)
{
    bm_error e = {0};
    bm_rng rng;
    bm_rng_seed(&rng, seed);
    ck_assert_int_eq(bm_data_spiral(ds, SPIRAL_PER_CLASS, SPIRAL_CLASSES, BM_F64, &rng, &e), BM_OK);
}

/* Train the job's model on the spiral over the job's communicator. */
static void *train_job(void *arg)
{
    rank_job *j = arg;
    bm_dataset ds = {0};
    bm_rng rng;
    bm_rng_seed(&rng, j->data_seed);
    bm_data_spiral(&ds, SPIRAL_PER_CLASS, SPIRAL_CLASSES, BM_F64, &rng, &j->err);
    const bm_comm_ops ops = {.send = pipe_send, .recv = pipe_recv};
    bm_comm *c = bm_comm_new(&ops, &j->ep, j->ep.rank, j->ep.h->n, &j->err);
    bm_model *m = bm_model_from_json(j->model, strlen(j->model), "model", NULL, &j->err);
    bm_dist_opts o = bm_dist_defaults();
    o.fit.epochs = j->epochs;
    o.fit.batch_size = j->batch;
    o.fit.shuffle = j->shuffle;
    o.shards = j->shards;
    o.bucket = j->bucket; /* any size gives the same bits */
    o.fit.stop = &j->stop;
    j->status = c && m ? bm_dist_fit(m, &ds, &o, c, NULL, &j->err) : BM_ERR_STATE;
    j->json = j->status == BM_OK ? bm_model_to_json(m, NULL, &j->err) : NULL;
    bm_model_free(m);
    bm_comm_free(c);
    bm_dataset_free(&ds);
    return NULL;
}

/* Run n ranks of `fn` on jobs[0..n) (ep filled here). */
static void run_ranks(rank_job *jobs, int n, void *(*fn)(void *))
{
    hub h;
    pthread_t th[MAX_RANKS];
    hub_open(&h, n);
    for (int r = 0; r < n; r++) {
        jobs[r].ep.h = &h;
        jobs[r].ep.rank = r;
        ck_assert_int_eq(pthread_create(&th[r], NULL, fn, &jobs[r]), 0);
    }
    for (int r = 0; r < n; r++)
        pthread_join(th[r], NULL);
    hub_close(&h);
}

/* The model after training with n ranks (every rank's asserted equal); free(). */
static char *train_ranks(const char *model, int n, size_t shards, uint64_t epochs)
{
    rank_job jobs[MAX_RANKS];
    memset(jobs, 0, sizeof jobs);
    for (int r = 0; r < n; r++)
        jobs[r] = (rank_job){.model = model, .shards = shards, .batch = BATCH, .epochs = epochs,
                             .data_seed = SPIRAL_SEED, .shuffle = 1,
                             .bucket = (size_t)n + 2};
    run_ranks(jobs, n, train_job);
    for (int r = 0; r < n; r++) {
        ck_assert_msg(jobs[r].status == BM_OK, "rank %d of %d: %s", r, n, jobs[r].err.msg);
        ck_assert_msg(strcmp(jobs[r].json, jobs[0].json) == 0, "rank %d's model differs from "
                      "rank 0's", r);
    }
    for (int r = 1; r < n; r++)
        free(jobs[r].json);
    return jobs[0].json;
}

/* ---------------------------------------------------------------- tests */

START_TEST(ranks_equal_one_process)
{
    char *one = train_ranks(model_dropout, 1, SHARDS, EPOCHS);
    for (int n = 2; n <= MAX_RANKS; n *= 2) {
        char *many = train_ranks(model_dropout, n, SHARDS, EPOCHS);
        ck_assert_msg(strcmp(one, many) == 0, "%d ranks x %d shards differ from one process",
                      n, SHARDS);
        free(many);
    }
    /* S not a power of two: N = 3 holds subtrees of 2 of the 6 shards */
    char *six = train_ranks(model_dropout, 1, 6, EPOCHS);
    char *six3 = train_ranks(model_dropout, 3, 6, EPOCHS);
    ck_assert_msg(strcmp(six, six3) == 0, "3 ranks x 6 shards differ from one process");
    free(six);
    free(six3);
    /* the shards matter: S = 2 is another sum (and other dropout streams) */
    char *two = train_ranks(model_dropout, 1, 2, EPOCHS);
    ck_assert_msg(strcmp(one, two) != 0, "2 and 4 shards gave the same model");
    free(two);
    free(one);
}
END_TEST

/* The same in f64 (the model files above are f32). */
START_TEST(ranks_equal_one_process_f64)
{
    char model[sizeof "{\"dtype\": \"f64\", " + 1024];
    ck_assert_int_lt(snprintf(model, sizeof model, "{\"dtype\": \"f64\", %s", model_dropout + 1),
                     (int)sizeof model);
    char *one = train_ranks(model, 1, SHARDS, EPOCHS);
    char *four = train_ranks(model, 4, SHARDS, EPOCHS);
    ck_assert(strstr(one, "\"f64\"") != NULL);
    ck_assert_msg(strcmp(one, four) == 0, "f64: 4 ranks differ from one process");
    free(one);
    free(four);
}
END_TEST

/* Batch norm's running statistics: every shard starts from the step's
 * state and the new state is the tree mean of the shards', so it (and the
 * checkpoint holding it) is the same for every rank count. */
START_TEST(state_equal_on_every_rank_count)
{
    char *one = train_ranks(model_bn, 1, SHARDS, EPOCHS);
    ck_assert(strstr(one, "running_mean") != NULL);
    for (int n = 2; n <= MAX_RANKS; n *= 2) {
        char *many = train_ranks(model_bn, n, SHARDS, EPOCHS);
        ck_assert_msg(strcmp(one, many) == 0, "batch norm: %d ranks x %d shards differ from "
                      "one process", n, SHARDS);
        free(many);
    }
    free(one);
}
END_TEST

START_TEST(one_shard_equals_fit)
{
    bm_error e = {0};
    bm_dataset ds = {0};
    spiral(&ds, SPIRAL_SEED);
    bm_model *m = bm_model_from_json(model_plain, strlen(model_plain), "model", NULL, &e);
    ck_assert_msg(m != NULL, "%s", e.msg);
    bm_fit_opts o = bm_fit_defaults();
    o.epochs = EPOCHS;
    o.batch_size = BATCH;
    o.shuffle = 1;
    ck_assert_int_eq(bm_model_fit(m, &ds, &o, &e), BM_OK);
    char *fit = bm_model_to_json(m, NULL, &e);
    char *dist = train_ranks(model_plain, 1, 1, EPOCHS);
    ck_assert_msg(strcmp(fit, dist) == 0, "bm_dist_fit with 1 shard differs from bm_model_fit");
    free(fit);
    free(dist);
    bm_model_free(m);
    bm_dataset_free(&ds);
}
END_TEST

START_TEST(resume_with_other_ranks)
{
    char *whole = train_ranks(model_dropout, 1, SHARDS, EPOCHS);
    char *half = train_ranks(model_dropout, 2, SHARDS, EPOCHS / 2);
    char *rest = train_ranks(half, 4, SHARDS, EPOCHS - EPOCHS / 2);
    ck_assert_msg(strcmp(whole, rest) == 0, "2 ranks then a resume on 4 differ from one run");
    free(whole);
    free(half);
    free(rest);
}
END_TEST

/* ----------------------------------------------------- the reduction */

static void *sum_job(void *arg)
{
    rank_job *j = arg;
    const bm_comm_ops ops = {.send = pipe_send, .recv = pipe_recv};
    bm_comm *c = bm_comm_new(&ops, &j->ep, j->ep.rank, j->ep.h->n, &j->err);
    j->status = j->vec ? bm_dist_sum(c, j->vec, j->len, BM_F64, 0, &j->err)
                       : bm_dist_sum(c, &j->sum, 1, BM_F64, 0, &j->err);
    bm_comm_free(c);
    return NULL;
}

/* Rank 0 holds 1, the others 2^-53 (half an ulp of 1): a tree adds them
 * pairwise first ((1 + h) + h = 1 for 3 ranks; (1 + h) + (h + h) = 1 + 2^-52
 * for 4), a chain left to right would always give 1. */
/* Values per rank of the long sums: odd, so the halves of the power-of-two
 * path (recursive halving and doubling) are unequal. */
#define SUM_LEN 1001

START_TEST(sum_is_the_pairwise_tree)
{
    const double h = ldexp(1.0, -53);
    const double expect[MAX_RANKS + 1] = {0, 1.0, 1.0, 1.0, 1.0 + ldexp(1.0, -52)};
    for (int n = 2; n <= MAX_RANKS; n++) {
        rank_job jobs[MAX_RANKS];
        memset(jobs, 0, sizeof jobs);
        for (int r = 0; r < n; r++)
            jobs[r].sum = r == 0 ? 1.0 : h;
        run_ranks(jobs, n, sum_job);
        for (int r = 0; r < n; r++) {
            ck_assert_msg(jobs[r].status == BM_OK, "%s", jobs[r].err.msg);
            ck_assert_msg(jobs[r].sum == expect[n], "%d ranks: rank %d has %.17g, expected %.17g",
                          n, r, jobs[r].sum, expect[n]);
        }
        /* long buffers (halving and doubling when n is a power of two): the same
         * association for every element, and the whole sum on every rank */
        for (int r = 0; r < n; r++) {
            jobs[r].vec = malloc(SUM_LEN * sizeof *jobs[r].vec);
            jobs[r].len = SUM_LEN;
            for (size_t i = 0; i < SUM_LEN; i++)
                jobs[r].vec[i] = r == 0 ? 1.0 + (double)i : h * (1.0 + (double)i);
        }
        run_ranks(jobs, n, sum_job);
        for (int r = 0; r < n; r++) {
            ck_assert_msg(jobs[r].status == BM_OK, "%s", jobs[r].err.msg);
            for (size_t i = 0; i < SUM_LEN; i++) {
                double a = 1.0 + (double)i, b = h * (1.0 + (double)i), want;
                want = n == 2 ? a + b : n == 3 ? (a + b) + b : (a + b) + (b + b);
                ck_assert_msg(jobs[r].vec[i] == want, "%d ranks: rank %d element %zu is %.17g, "
                              "expected %.17g", n, r, i, jobs[r].vec[i], want);
            }
        }
        for (int r = 0; r < n; r++)
            free(jobs[r].vec);
    }
}
END_TEST

/* ------------------------------------------------------- bad launches */

/* n ranks with (shards, batch); rank `odd` gets data of another seed.
 * Every rank must fail with a message holding `want`. */
static void expect_bad(int n, size_t shards, size_t batch, int odd, const char *want)
{
    rank_job jobs[MAX_RANKS];
    memset(jobs, 0, sizeof jobs);
    for (int r = 0; r < n; r++)
        jobs[r] = (rank_job){.model = model_dropout, .shards = shards, .batch = batch,
                             .epochs = 1, .data_seed = r == odd ? SPIRAL_SEED + 1 : SPIRAL_SEED};
    run_ranks(jobs, n, train_job);
    for (int r = 0; r < n; r++) {
        ck_assert_msg(jobs[r].status != BM_OK, "rank %d of %d trained", r, n);
        ck_assert_msg(strstr(jobs[r].err.msg, want) != NULL, "rank %d: '%s' lacks '%s'", r,
                      jobs[r].err.msg, want);
    }
}

START_TEST(bad_launches_fail_on_every_rank)
{
    expect_bad(2, 3, BATCH, -1, "3 shards over 2 ranks: the number of ranks must divide");
    expect_bad(2, 6, BATCH, -1, "3 per rank, not a power of two");
    expect_bad(1, 5, BATCH, -1, "batch size 24 does not split into 5 equal shards");
    expect_bad(2, 16, 48, -1, "the last batch of an epoch has 24 rows");
    expect_bad(4, 4, BATCH, 2, "the training data: rank 2 differs from rank 0's");
}
END_TEST

/* A stop flag set on one rank only stops every rank, at the same step. */
START_TEST(one_rank_stops_all)
{
    rank_job jobs[MAX_RANKS];
    memset(jobs, 0, sizeof jobs);
    for (int r = 0; r < MAX_RANKS; r++)
        jobs[r] = (rank_job){.model = model_dropout, .shards = SHARDS, .batch = BATCH,
                             .epochs = 1, .data_seed = SPIRAL_SEED, .stop = r == 2};
    run_ranks(jobs, MAX_RANKS, train_job);
    for (int r = 0; r < MAX_RANKS; r++) {
        ck_assert_msg(jobs[r].status == BM_ERR_INTERRUPTED, "rank %d: %d %s", r,
                      (int)jobs[r].status, jobs[r].err.msg);
        ck_assert_msg(strstr(jobs[r].err.msg, "stopped before step 0") != NULL, "rank %d: %s", r,
                      jobs[r].err.msg);
    }
}
END_TEST

START_TEST(null_and_local)
{
    bm_error e = {0};
    ck_assert_int_eq(bm_dist_fit(NULL, NULL, NULL, NULL, NULL, &e), BM_ERR_NULL);
    ck_assert_ptr_null(bm_comm_new(NULL, NULL, 0, 1, &e));
    const bm_comm_ops none = {0};
    ck_assert_ptr_null(bm_comm_new(&none, NULL, 0, 2, &e)); /* two ranks need send/recv */
    ck_assert_ptr_null(bm_comm_new(&none, NULL, 2, 2, &e));
    ck_assert(strstr(e.msg, "rank 2 of 2") != NULL);
    bm_comm *c = bm_comm_local(&e);
    ck_assert_int_eq(bm_comm_size(c), 1);
    ck_assert_int_eq(bm_comm_rank(c), 0);
    ck_assert_int_eq(bm_dist_agree(c, 1, "x", &e), BM_OK);
    bm_comm_free(c);
    bm_rng a, b;
    bm_rng_seed(&a, 1);
    bm_rng_seed(&b, 1);
    ck_assert(bm_dist_shard_seed(&a, 0, 0) == bm_dist_shard_seed(&b, 0, 0));
    ck_assert(bm_dist_shard_seed(&a, 0, 1) != bm_dist_shard_seed(&a, 0, 0));
    ck_assert(bm_dist_shard_seed(&a, 1, 0) != bm_dist_shard_seed(&a, 0, 0));
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("dist");
    TCase *tc = tcase_create("dist");
    tcase_add_test(tc, ranks_equal_one_process);
    tcase_add_test(tc, ranks_equal_one_process_f64);
    tcase_add_test(tc, state_equal_on_every_rank_count);
    tcase_add_test(tc, one_shard_equals_fit);
    tcase_add_test(tc, resume_with_other_ranks);
    tcase_add_test(tc, sum_is_the_pairwise_tree);
    tcase_add_test(tc, bad_launches_fail_on_every_rank);
    tcase_add_test(tc, one_rank_stops_all);
    tcase_add_test(tc, null_and_local);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return bm_test_run(make_suite()); }
