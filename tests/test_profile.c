/* test_profile.c — the profiler: counts per op kind and phase, FLOPs, the
 * printed table, NULL safety, no allocation in a profiled steady state, and
 * results that do not change when profiling is on. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

/* Batch, features, hidden units and classes of the test network. */
enum { B = 8, F = 3, H = 5, C = 4, MAX_ROWS = 64 };

/* x [B,F] · W1 [F,H] + b1 → relu → · W2 [H,C] + b2 → softmax_cce(y). */
typedef struct net {
    bm_tensor *x, *y, *w1, *b1, *w2, *b2, *loss;
} net;

static void fill(bm_tensor *t, double scale, double shift)
{
    for (size_t i = 0; i < t->size; i++)
        bm_tensor_set(t, i, scale * sin(1.7 * (double)i + shift));
}

static net record_net(bm_tape *t, bm_dtype dt)
{
    net n;
    n.x = bm_tape_leaf(t, dt, 2, (size_t[]){B, F}, 0);
    n.y = bm_tape_leaf(t, dt, 1, (size_t[]){B}, 0);
    n.w1 = bm_tape_leaf(t, dt, 2, (size_t[]){F, H}, BM_REQUIRES_GRAD);
    n.b1 = bm_tape_leaf(t, dt, 1, (size_t[]){H}, BM_REQUIRES_GRAD);
    n.w2 = bm_tape_leaf(t, dt, 2, (size_t[]){H, C}, BM_REQUIRES_GRAD);
    n.b2 = bm_tape_leaf(t, dt, 1, (size_t[]){C}, BM_REQUIRES_GRAD);
    ck_assert_msg(n.x && n.y && n.w1 && n.b1 && n.w2 && n.b2, "%s", bm_tape_error(t));
    fill(n.x, 1.0, 0.0);
    fill(n.w1, 0.5, 1.0);
    fill(n.b1, 0.1, 2.0);
    fill(n.w2, 0.5, 3.0);
    fill(n.b2, 0.1, 4.0);
    for (size_t i = 0; i < B; i++)
        bm_tensor_set(n.y, i, (double)(i % C));
    bm_tensor *h = bm_relu(t, bm_linear(t, n.x, n.w1, n.b1));
    n.loss = bm_softmax_cce(t, bm_linear(t, h, n.w2, n.b2), n.y);
    ck_assert_msg(n.loss != NULL, "%s", bm_tape_error(t));
    return n;
}

/* The row of op in phase, NULL when the profile has none. */
static const bm_profile_row *row_of(const bm_profile_row *rows, size_t n, const char *op,
                                    bm_phase phase)
{
    for (size_t i = 0; i < n; i++)
        if (rows[i].phase == phase && strcmp(rows[i].op, op) == 0)
            return &rows[i];
    return NULL;
}

static size_t get_rows(const bm_tape *t, bm_profile_row *rows)
{
    size_t n = 0;
    ck_assert_int_eq(bm_tape_profile(t, rows, MAX_ROWS, &n), BM_OK);
    ck_assert_uint_le(n, MAX_ROWS);
    return n;
}

/* Recorded main-list nodes of op. */
static uint64_t nodes_of(const bm_tape *t, const char *op)
{
    uint64_t k = 0;
    for (const bm_node *n = bm_tape_first(t); n; n = bm_node_next(n))
        k += strcmp(bm_node_op_name(n), op) == 0;
    return k;
}

START_TEST(counts_are_nodes_times_runs)
{
    enum { REPLAYS = 6 };
    bm_tape *t = bm_tape_new();
    ck_assert_int_eq(bm_tape_profiling(t), 0);
    ck_assert_int_eq(bm_tape_set_profile(t, 1), 0);
    ck_assert_int_eq(bm_tape_profiling(t), 1);
    net n = record_net(t, BM_F64);
    ck_assert_int_eq(bm_tape_backward(t, n.loss, NULL), BM_OK);
    bm_profile_row one[MAX_ROWS], all[MAX_ROWS];
    size_t n1 = get_rows(t, one);
    for (int r = 0; r < REPLAYS; r++) {
        ck_assert_int_eq(bm_tape_forward(t), BM_OK);
        ck_assert_int_eq(bm_tape_backward(t, n.loss, NULL), BM_OK);
    }
    size_t nall = get_rows(t, all);
    ck_assert_uint_eq(nall, n1);
    /* every row: (replays + 1) times its calls after the recording pass */
    for (size_t i = 0; i < n1; i++) {
        const bm_profile_row *a = row_of(all, nall, one[i].op, one[i].phase);
        ck_assert_ptr_nonnull(a);
        ck_assert_uint_eq(a->calls, one[i].calls * (REPLAYS + 1));
        ck_near(a->flops, one[i].flops * (REPLAYS + 1), 1e-9);
    }
    /* forward rows: one call per recorded node per run */
    const char *fwd[] = {"linear", "relu", "softmax_cce"};
    for (size_t k = 0; k < sizeof fwd / sizeof *fwd; k++) {
        const bm_profile_row *r = row_of(all, nall, fwd[k], BM_PHASE_FORWARD);
        ck_assert_msg(r != NULL, "no forward row for %s", fwd[k]);
        ck_assert_uint_gt(nodes_of(t, fwd[k]), 0);
        ck_assert_uint_eq(r->calls, nodes_of(t, fwd[k]) * (REPLAYS + 1));
    }
    /* phases apart: the products of the gradient are backward matmuls
     * (dW2, dH, dW1: the input x needs no gradient), no forward matmul */
    ck_assert_ptr_null(row_of(all, nall, "matmul", BM_PHASE_FORWARD));
    ck_assert_ptr_null(row_of(all, nall, "linear", BM_PHASE_BACKWARD));
    ck_assert_ptr_null(row_of(all, nall, "relu", BM_PHASE_BACKWARD));
    const bm_profile_row *mm = row_of(all, nall, "matmul", BM_PHASE_BACKWARD);
    ck_assert_ptr_nonnull(mm);
    ck_assert_uint_eq(mm->calls, 3 * (REPLAYS + 1));
    ck_assert_ptr_nonnull(row_of(all, nall, "softmax_cce_grad", BM_PHASE_BACKWARD));
    ck_assert_int_eq(bm_tape_set_profile(t, 0), 1);
    bm_tape_free(t);
}
END_TEST

START_TEST(flops_of_products)
{
    bm_tape *t = bm_tape_new();
    bm_tape_set_profile(t, 1);
    net n = record_net(t, BM_F32);
    ck_assert_int_eq(bm_tape_backward(t, n.loss, NULL), BM_OK);
    bm_profile_row rows[MAX_ROWS];
    size_t k = get_rows(t, rows);
    /* linear: 2·M·N·K + M·N (bias) per layer */
    const bm_profile_row *lin = row_of(rows, k, "linear", BM_PHASE_FORWARD);
    ck_assert_ptr_nonnull(lin);
    ck_near(lin->flops, (2.0 * B * H * F + B * H) + (2.0 * B * C * H + B * C), 0);
    /* backward: dW2 = hᵀ·G [H,C] (K = B), dH = G·W2ᵀ [B,H] (K = C), dW1 = xᵀ·G1 [F,H] */
    const bm_profile_row *mm = row_of(rows, k, "matmul", BM_PHASE_BACKWARD);
    ck_assert_ptr_nonnull(mm);
    ck_near(mm->flops, 2.0 * H * C * B + 2.0 * B * H * C + 2.0 * F * H * B, 0);
    ck_near(mm->gflops, mm->flops / mm->seconds / 1e9, 1e-9 * mm->gflops);
    const bm_profile_row *relu = row_of(rows, k, "relu", BM_PHASE_FORWARD);
    ck_assert_ptr_nonnull(relu);
    ck_assert_double_eq(relu->flops, 0);
    ck_assert_double_eq(relu->gflops, 0);
    double share = 0;
    for (size_t i = 0; i < k; i++) {
        share += rows[i].share;
        if (i)
            ck_assert_double_le(rows[i].seconds, rows[i - 1].seconds);
    }
    ck_near(share, 1.0, 1e-12);
    bm_tape_reset(t);
    /* a batched product with a broadcast operand and a stored-transposed one */
    bm_tape_profile_reset(t);
    bm_tensor *a = bm_tape_leaf(t, BM_F64, 3, (size_t[]){2, 4, 3}, 0);
    bm_tensor *b = bm_tape_leaf(t, BM_F64, 2, (size_t[]){5, 3}, 0);
    ck_assert_ptr_nonnull(bm_matmul_ex(t, a, b, 0, 1)); /* [2,4,5], K = 3 */
    /* conv2d x [1,2,5,5], w [3,2,3,3] → [1,3,3,3]: 2·27·18 and the bias */
    bm_tensor *x = bm_tape_leaf(t, BM_F64, 4, (size_t[]){1, 2, 5, 5}, 0);
    bm_tensor *w = bm_tape_leaf(t, BM_F64, 4, (size_t[]){3, 2, 3, 3}, 0);
    bm_tensor *cb = bm_tape_leaf(t, BM_F64, 1, (size_t[]){3}, 0);
    ck_assert_ptr_nonnull(bm_conv2d(t, x, w, cb, NULL));
    k = get_rows(t, rows);
    ck_assert_uint_eq(k, 2);
    const bm_profile_row *r = row_of(rows, k, "matmul", BM_PHASE_FORWARD);
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(r->calls, 1);
    ck_near(r->flops, 2.0 * 2 * 4 * 5 * 3, 0);
    r = row_of(rows, k, "conv2d", BM_PHASE_FORWARD);
    ck_assert_ptr_nonnull(r);
    ck_near(r->flops, 2.0 * 27 * 18 + 27, 0);
    bm_tape_free(t);
}
END_TEST

START_TEST(conv_gradients_count_flops)
{
    bm_tape *t = bm_tape_new();
    bm_tape_set_profile(t, 1);
    bm_tensor *x = bm_tape_leaf(t, BM_F64, 4, (size_t[]){2, 2, 6, 6}, BM_REQUIRES_GRAD);
    bm_tensor *w = bm_tape_leaf(t, BM_F64, 4, (size_t[]){3, 2, 3, 3}, BM_REQUIRES_GRAD);
    fill(x, 1.0, 0.5);
    fill(w, 0.3, 0.2);
    bm_tensor *y = bm_conv2d(t, x, w, NULL, NULL); /* [2,3,4,4] */
    bm_tensor *loss = bm_sum(t, bm_square(t, y), BM_AXIS_ALL, 0);
    ck_assert_msg(loss != NULL, "%s", bm_tape_error(t));
    ck_assert_int_eq(bm_tape_backward(t, loss, NULL), BM_OK);
    bm_profile_row rows[MAX_ROWS];
    size_t k = get_rows(t, rows);
    double each = 2.0 * (2 * 3 * 4 * 4) * (2 * 3 * 3); /* 2·|y|·C·kh·kw */
    const bm_profile_row *r = row_of(rows, k, "conv2d", BM_PHASE_FORWARD);
    ck_assert_ptr_nonnull(r);
    ck_near(r->flops, each, 0);
    r = row_of(rows, k, "conv_transpose2d", BM_PHASE_BACKWARD);
    ck_assert_ptr_nonnull(r);
    ck_near(r->flops, each, 0);
    r = row_of(rows, k, "conv2d_wgrad", BM_PHASE_BACKWARD);
    ck_assert_ptr_nonnull(r);
    ck_near(r->flops, each, 0);
    bm_tape_free(t);
}
END_TEST

START_TEST(grad_nodes_are_backward)
{
    bm_tape *t = bm_tape_new();
    bm_tape_set_profile(t, 1);
    bm_tensor *x = bm_tape_leaf(t, BM_F64, 1, (size_t[]){4}, BM_REQUIRES_GRAD);
    fill(x, 1.0, 0.3);
    bm_tensor *f = bm_sum(t, bm_exp(t, x), BM_AXIS_ALL, 0);
    bm_tensor *g = NULL;
    ck_assert_int_eq(bm_grad(t, &f, 1, &x, 1, NULL, 1, &g), BM_OK);
    ck_assert_ptr_nonnull(g);
    bm_profile_row rows[MAX_ROWS];
    size_t k = get_rows(t, rows);
    const bm_profile_row *fe = row_of(rows, k, "exp", BM_PHASE_FORWARD);
    ck_assert_ptr_nonnull(fe);
    ck_assert_uint_eq(fe->calls, 1);
    uint64_t back = 0;
    for (size_t i = 0; i < k; i++)
        back += rows[i].phase == BM_PHASE_BACKWARD ? rows[i].calls : 0;
    ck_assert_uint_gt(back, 0);
    /* replay runs the create_graph gradient too: counted as backward again */
    ck_assert_int_eq(bm_tape_forward(t), BM_OK);
    k = get_rows(t, rows);
    ck_assert_uint_eq(row_of(rows, k, "exp", BM_PHASE_FORWARD)->calls, 2);
    uint64_t back2 = 0;
    for (size_t i = 0; i < k; i++)
        back2 += rows[i].phase == BM_PHASE_BACKWARD ? rows[i].calls : 0;
    ck_assert_uint_eq(back2, 2 * back);
    bm_tape_free(t);
}
END_TEST

START_TEST(off_by_default_and_turned_on_late)
{
    bm_tape *t = bm_tape_new();
    net n = record_net(t, BM_F64);
    ck_assert_int_eq(bm_tape_backward(t, n.loss, NULL), BM_OK);
    bm_profile_row rows[MAX_ROWS];
    ck_assert_uint_eq(get_rows(t, rows), 0);
    /* on over a recorded graph and its plan: the next replay is counted */
    ck_assert_int_eq(bm_tape_set_profile(t, 1), 0);
    ck_assert_int_eq(bm_tape_forward(t), BM_OK);
    ck_assert_int_eq(bm_tape_backward(t, n.loss, NULL), BM_OK);
    size_t k = get_rows(t, rows);
    ck_assert_uint_eq(row_of(rows, k, "linear", BM_PHASE_FORWARD)->calls, 2);
    ck_assert_uint_eq(row_of(rows, k, "matmul", BM_PHASE_BACKWARD)->calls, 3);
    /* reset zeroes the counts; off stops counting */
    bm_tape_profile_reset(t);
    ck_assert_uint_eq(get_rows(t, rows), 0);
    bm_tape_set_profile(t, 0);
    ck_assert_int_eq(bm_tape_forward(t), BM_OK);
    ck_assert_uint_eq(get_rows(t, rows), 0);
    /* counts survive bm_tape_reset and re-recording */
    bm_tape_set_profile(t, 1);
    ck_assert_int_eq(bm_tape_forward(t), BM_OK);
    bm_tape_reset(t);
    n = record_net(t, BM_F64);
    k = get_rows(t, rows);
    ck_assert_uint_eq(row_of(rows, k, "linear", BM_PHASE_FORWARD)->calls, 4);
    bm_tape_free(t);
}
END_TEST

START_TEST(top_rows_and_sort)
{
    bm_tape *t = bm_tape_new();
    bm_tape_set_profile(t, 1);
    net n = record_net(t, BM_F64);
    ck_assert_int_eq(bm_tape_backward(t, n.loss, NULL), BM_OK);
    bm_profile_row all[MAX_ROWS], top[2];
    size_t k = get_rows(t, all), m = 0;
    ck_assert_uint_gt(k, 2);
    ck_assert_int_eq(bm_tape_profile(t, top, 2, &m), BM_OK);
    ck_assert_uint_eq(m, k); /* the count of all rows, two written */
    for (int i = 0; i < 2; i++) {
        ck_assert_str_eq(top[i].op, all[i].op);
        ck_assert_int_eq(top[i].phase, all[i].phase);
        ck_assert_double_eq(top[i].share, all[i].share);
    }
    ck_assert_int_eq(bm_tape_profile(t, NULL, 0, &m), BM_OK);
    ck_assert_uint_eq(m, k);
    bm_profile_row r[3] = {
        {.op = "a", .calls = 1, .seconds = 1.0, .flops = 4e9},
        {.op = "b", .calls = 2, .seconds = 3.0},
        {.op = "c", .phase = BM_PHASE_BACKWARD, .calls = 1, .seconds = 0.0, .flops = 1},
    };
    bm_profile_sort(r, 3);
    ck_assert_str_eq(r[0].op, "b");
    ck_assert_str_eq(r[1].op, "a");
    ck_assert_str_eq(r[2].op, "c");
    ck_near(r[0].share, 0.75, 1e-15);
    ck_near(r[1].gflops, 4.0, 1e-12);
    ck_assert_double_eq(r[2].gflops, 0); /* no time: no rate */
    bm_tape_free(t);
}
END_TEST

START_TEST(print_parses)
{
    bm_tape *t = bm_tape_new();
    bm_tape_set_profile(t, 1);
    net n = record_net(t, BM_F64);
    ck_assert_int_eq(bm_tape_backward(t, n.loss, NULL), BM_OK);
    ck_assert_int_eq(bm_tape_forward(t), BM_OK);
    bm_profile_row rows[MAX_ROWS];
    size_t k = get_rows(t, rows);
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(bm_tape_profile_print(t, f), BM_OK);
    rewind(f);
    char line[256], phase[16], op[64], rate[32];
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    ck_assert_int_eq(sscanf(line, "%15s %63s", phase, op), 2);
    ck_assert_str_eq(phase, "phase");
    ck_assert_str_eq(op, "op");
    uint64_t calls_sum = 0;
    double share_sum = 0;
    for (size_t i = 0; i < k; i++) {
        unsigned long long calls;
        double sec, share;
        ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
        ck_assert_int_eq(sscanf(line, "%15s %63s %llu %lf %lf%% %31s", phase, op, &calls, &sec,
                                &share, rate), 6);
        ck_assert_str_eq(phase, rows[i].phase == BM_PHASE_BACKWARD ? "backward" : "forward");
        ck_assert_str_eq(op, rows[i].op);
        ck_assert_uint_eq(calls, rows[i].calls);
        ck_near(sec, rows[i].seconds, 1e-6);
        ck_near(share, 100 * rows[i].share, 0.051);
        if (rows[i].flops > 0)
            ck_near(strtod(rate, NULL), rows[i].gflops, 5e-4 + 1e-6 * rows[i].gflops);
        else
            ck_assert_str_eq(rate, "-");
        calls_sum += calls;
        share_sum += share;
    }
    unsigned long long total;
    double sec, share;
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    ck_assert_int_eq(sscanf(line, "%15s %llu %lf %lf%% %31s", phase, &total, &sec, &share, rate),
                     5);
    ck_assert_str_eq(phase, "total");
    ck_assert_uint_eq(total, calls_sum);
    ck_near(share, 100.0, 1e-9);
    ck_near(share_sum, 100.0, 0.05 * (double)k);
    ck_assert_ptr_null(fgets(line, sizeof line, f)); /* nothing after the total */
    fclose(f);
    bm_tape_free(t);
}
END_TEST

START_TEST(null_safe)
{
    size_t n = 7;
    bm_profile_row r[1];
    ck_assert_int_eq(bm_tape_set_profile(NULL, 1), 0);
    ck_assert_int_eq(bm_tape_profiling(NULL), 0);
    bm_tape_profile_reset(NULL);
    ck_assert_int_eq(bm_tape_profile(NULL, r, 1, &n), BM_ERR_NULL);
    bm_tape *t = bm_tape_new();
    ck_assert_int_eq(bm_tape_profile(t, r, 1, NULL), BM_ERR_NULL);
    ck_assert_int_eq(bm_tape_profile(t, NULL, 5, &n), BM_OK);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(bm_tape_profile_print(NULL, stdout), BM_ERR_NULL);
    ck_assert_int_eq(bm_tape_profile_print(t, NULL), BM_ERR_NULL);
    ck_assert_int_eq(bm_profile_print(NULL, 1, stdout), BM_ERR_NULL);
    ck_assert_int_eq(bm_profile_print(r, 1, NULL), BM_ERR_NULL);
    bm_profile_sort(NULL, 3);
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(bm_tape_profile_print(t, f), BM_OK); /* empty: header and total */
    ck_assert_int_eq(bm_profile_print(NULL, 0, f), BM_OK);
    fclose(f);
    ck_assert_int_eq(bm_model_profile(NULL, r, 1, &n), BM_ERR_NULL);
    ck_assert_int_eq(bm_model_profile_print(NULL, stdout), BM_ERR_NULL);
    bm_model_profile_reset(NULL);
    bm_tape_free(t);
}
END_TEST

/* The loss and gradients of a few steps of plain gradient descent. */
static void train(int profile, double *out, size_t n_out)
{
    bm_tape *t = bm_tape_new();
    bm_tape_set_profile(t, profile);
    net n = record_net(t, BM_F32);
    bm_tensor *ps[] = {n.w1, n.b1, n.w2, n.b2};
    size_t k = 0;
    for (int step = 0; step < 4; step++) {
        if (step)
            ck_assert_int_eq(bm_tape_forward(t), BM_OK);
        bm_tape_zero_grad(t);
        ck_assert_int_eq(bm_tape_backward(t, n.loss, NULL), BM_OK);
        out[k++] = bm_tensor_get(n.loss, 0);
        for (size_t p = 0; p < 4; p++)
            for (size_t i = 0; i < ps[p]->size; i++) {
                float *w = ps[p]->data, *g = ps[p]->grad;
                w[i] -= 0.5f * g[i];
                ck_assert_uint_lt(k, n_out);
                out[k++] = g[i];
            }
    }
    bm_tape_free(t);
}

START_TEST(profiling_changes_no_bits)
{
    enum { N = 256 };
    double off[N], on[N];
    memset(off, 0, sizeof off);
    memset(on, 0, sizeof on);
    train(0, off, N);
    train(1, on, N);
    ck_assert_msg(memcmp(off, on, sizeof off) == 0, "profiling changed the results");
    ck_assert_double_ne(off[0], off[1 + (F * H + H + H * C + C)]); /* the loss moved */
}
END_TEST

/* An allocator that counts its calls and forwards to malloc/free. */
static void *count_alloc(void *ud, size_t n)
{
    ++*(size_t *)ud;
    return malloc(n);
}

static void count_free(void *ud, void *p)
{
    (void)ud;
    free(p);
}

START_TEST(profiled_steady_state_allocates_nothing)
{
    size_t allocs = 0;
    bm_allocator a = {count_alloc, count_free, &allocs};
    bm_tape *t = bm_tape_new_ex(&a);
    ck_assert_ptr_nonnull(t);
    bm_tape_set_profile(t, 1);
    net n = record_net(t, BM_F64);
    ck_assert_int_eq(bm_tape_backward(t, n.loss, NULL), BM_OK);
    size_t recorded = allocs;
    for (int step = 0; step < 5; step++) {
        ck_assert_int_eq(bm_tape_forward(t), BM_OK);
        ck_assert_int_eq(bm_tape_backward(t, n.loss, NULL), BM_OK);
    }
    ck_assert_uint_eq(allocs, recorded);
    /* re-recording each step finds its rows: nothing allocated either */
    for (int step = 0; step < 3; step++) {
        bm_tape_reset(t);
        n = record_net(t, BM_F64);
        ck_assert_int_eq(bm_tape_backward(t, n.loss, NULL), BM_OK);
        ck_assert_uint_eq(allocs, recorded);
    }
    bm_tape_free(t);
}
END_TEST

START_TEST(fit_profiles_the_model)
{
    enum { EPOCHS = 3, ROWS = 40, BATCH = 16 }; /* batches of 16, 16 and 8 */
    bm_error err = {0};
    bm_model *m = bm_model_new(BM_F64, 2, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    bm_layer_spec d1 = bm_dense_spec(2, 8), r = bm_activation_spec(BM_LAYER_RELU),
                  d2 = bm_dense_spec(8, 3);
    ck_assert_int_eq(bm_model_add(m, &d1, &err), BM_OK);
    ck_assert_int_eq(bm_model_add(m, &r, &err), BM_OK);
    ck_assert_int_eq(bm_model_add(m, &d2, &err), BM_OK);
    ck_assert_int_eq(bm_model_set_loss(m, BM_LOSS_SOFTMAX_CCE, &err), BM_OK);
    bm_optim_config oc = bm_optim_defaults(BM_OPT_SGD);
    ck_assert_int_eq(bm_model_set_optimizer(m, &oc, &err), BM_OK);
    ck_assert_int_eq(bm_model_init(m, 1, &err), BM_OK);
    bm_dataset ds = {0};
    bm_rng rng;
    bm_rng_seed(&rng, 3);
    ck_assert_int_eq(bm_data_spiral(&ds, ROWS / 2, 2, BM_F64, &rng, &err), BM_OK);
    bm_fit_opts o = bm_fit_defaults();
    o.epochs = EPOCHS;
    o.batch_size = BATCH;
    size_t n = 9;
    ck_assert_int_eq(bm_model_fit(m, &ds, &o, &err), BM_OK);
    ck_assert_int_eq(bm_model_profile(m, NULL, 0, &n), BM_OK);
    ck_assert_uint_eq(n, 0); /* off by default */
    o.profile = 1;
    ck_assert_int_eq(bm_model_fit(m, &ds, &o, &err), BM_OK);
    bm_profile_row rows[MAX_ROWS];
    ck_assert_int_eq(bm_model_profile(m, rows, MAX_ROWS, &n), BM_OK);
    /* two dense layers, three steps an epoch (two tapes, merged) */
    const bm_profile_row *lin = row_of(rows, n, "linear", BM_PHASE_FORWARD);
    ck_assert_ptr_nonnull(lin);
    ck_assert_uint_eq(lin->calls, 2 * 3 * EPOCHS);
    ck_near(lin->flops, EPOCHS * (2.0 * ROWS * 8 * 2 + ROWS * 8 + 2.0 * ROWS * 3 * 8 + ROWS * 3),
            0);
    ck_assert_ptr_nonnull(row_of(rows, n, "matmul", BM_PHASE_BACKWARD));
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(bm_model_profile_print(m, f), BM_OK);
    ck_assert_int_gt(ftell(f), 0);
    fclose(f);
    bm_model_profile_reset(m);
    ck_assert_int_eq(bm_model_profile(m, rows, MAX_ROWS, &n), BM_OK);
    ck_assert_uint_eq(n, 0);
    bm_dataset_free(&ds);
    bm_model_free(m);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("profile");
    TCase *c = tcase_create("profile");
    tcase_add_test(c, counts_are_nodes_times_runs);
    tcase_add_test(c, flops_of_products);
    tcase_add_test(c, conv_gradients_count_flops);
    tcase_add_test(c, grad_nodes_are_backward);
    tcase_add_test(c, off_by_default_and_turned_on_late);
    tcase_add_test(c, top_rows_and_sort);
    tcase_add_test(c, print_parses);
    tcase_add_test(c, null_safe);
    tcase_add_test(c, profiling_changes_no_bits);
    tcase_add_test(c, profiled_steady_state_allocates_nothing);
    tcase_add_test(c, fit_profiles_the_model);
    suite_add_tcase(s, c);
    return s;
}

int main(void) { return bm_test_run(make_suite()); }
