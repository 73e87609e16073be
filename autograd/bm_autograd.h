/* bm_autograd.h — tensors, the tape, backward, replay, gradcheck, errors, RNG.
 *
 * Ownership in one paragraph: a tensor made with bm_tensor_new()/..._from()
 * is the caller's and is freed with bm_tensor_free(). A tensor returned by an
 * op builder (bm_matmul, bm_add, ...) or by bm_tape_leaf() lives in the tape's
 * arena and is freed by bm_tape_reset()/bm_tape_free(); never free it
 * yourself. Nothing here aborts or exits the process on user input: builders
 * return NULL and set a sticky error on the tape; other calls return a
 * bm_status and, where given a bm_error, a message. */
#ifndef BM_AUTOGRAD_H
#define BM_AUTOGRAD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bm_version.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Everything declared between BM_API_BEGIN and BM_API_END (each public
 * header's body) is exported from libbmnn.so, which is built with
 * -fvisibility=hidden: internal functions stay private to the library. */
#if defined(__GNUC__) && !defined(_WIN32)
#define BM_API_BEGIN _Pragma("GCC visibility push(default)")
#define BM_API_END _Pragma("GCC visibility pop")
#else
#define BM_API_BEGIN
#define BM_API_END
#endif
BM_API_BEGIN

/* Largest tensor rank. */
#define BM_MAX_RANK 4
/* Inputs of the built-in ops' gradcheck examples (bm_op.h allows any number). */
#define BM_MAX_INPUTS 4
/* Length of every error message buffer, including the NUL. */
#define BM_ERR_LEN 256
/* Largest element count of one tensor (2^40): absurd sizes fail cleanly. */
#define BM_MAX_ELEMENTS ((size_t)1 << 40)
/* Most threads of a tape or model (bm_tape_set_threads). */
#define BM_MAX_THREADS 256

/* The version of the library linked at run time, "MAJOR.MINOR.PATCH"
 * (BMNN_VERSION_STRING is the one compiled against); static storage. */
const char *bm_version(void);
/* The same as MAJOR·10000 + MINOR·100 + PATCH (BMNN_VERSION_NUMBER). */
int bm_version_number(void);

/* Element type of a tensor. */
typedef enum bm_dtype { BM_F32 = 0, BM_F64 = 1 } bm_dtype;

/* Status codes. BM_OK is 0; everything else is an error class. */
typedef enum bm_status {
    BM_OK = 0,
    BM_ERR_NULL,      /* a required pointer was NULL */
    BM_ERR_SHAPE,     /* shapes do not fit the operation */
    BM_ERR_DTYPE,     /* mixed or unsupported dtypes */
    BM_ERR_RANK,      /* rank outside 0..BM_MAX_RANK */
    BM_ERR_SIZE,      /* zero, negative, overflowing or absurd size */
    BM_ERR_NOMEM,     /* allocation failed */
    BM_ERR_ARG,       /* an argument is out of its valid range */
    BM_ERR_STATE,     /* the call does not fit the object's state */
    BM_ERR_IO,        /* a file could not be read or written */
    BM_ERR_PARSE,     /* a file's contents are malformed */
    BM_ERR_NUMERIC,   /* NaN or Inf where a finite number was needed */
    BM_ERR_INTERRUPTED /* stopped early because the caller asked (bm_fit_opts.stop) */
} bm_status;

/* An error: a status and a message naming what was wrong. */
typedef struct bm_error {
    bm_status code;
    char msg[BM_ERR_LEN];
} bm_error;

/* Short constant name of a status ("shape", "nomem", ...). */
const char *bm_status_name(bm_status s);
/* Set *err (if err is not NULL) with printf-style message; returns code. */
bm_status bm_error_set(bm_error *err, bm_status code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* ---------------------------------------------------------------- RNG */

/* A seeded random generator (xoshiro256**). State is plain data: copy it to
 * save it, assign it to restore it. No global RNG exists. */
typedef struct bm_rng {
    uint64_t s[4];
} bm_rng;

/* The RNG calls do nothing with a NULL generator and return 0. */
/* Seed a generator; equal seeds give equal streams. */
void bm_rng_seed(bm_rng *r, uint64_t seed);
/* Next 64 random bits. */
uint64_t bm_rng_next(bm_rng *r);
/* Uniform double in [0, 1). */
double bm_rng_uniform(bm_rng *r);
/* Standard normal double (Box–Muller, no cached state). */
double bm_rng_normal(bm_rng *r);
/* Uniform integer in [0, n); 0 when n is 0. */
uint64_t bm_rng_below(bm_rng *r, uint64_t n);

/* ------------------------------------------------------------- tensors */

/* Tensor flags. */
enum {
    BM_REQUIRES_GRAD = 1u << 0, /* backward computes a gradient for it */
    BM_PARAM = 1u << 1,         /* a trainable parameter (for tools/DOT) */
    BM_OWNS_DATA = 1u << 2,     /* data was allocated with the tensor */
    BM_OWNS_GRAD = 1u << 3,     /* grad was allocated with the tensor */
    BM_ON_TAPE = 1u << 4,       /* lives in a tape's arena */
    BM_CONST = 1u << 5          /* computed by an op with recording off: replay does not recompute it */
};

struct bm_node;

/* A dense row-major tensor. Fields are readable; change them only through
 * the functions below. data/grad point at `size` elements of `dtype`. */
typedef struct bm_tensor {
    bm_dtype dtype;
    int rank;                    /* 0..BM_MAX_RANK */
    size_t shape[BM_MAX_RANK];   /* unused trailing entries are 1 */
    size_t size;                 /* product of shape (1 for rank 0) */
    void *data;
    void *grad;                  /* NULL until a gradient is needed */
    unsigned flags;
    struct bm_node *node;        /* producing node; NULL for leaves */
    const char *name;            /* optional label, not owned (DOT/JSON) */
    /* Engine bookkeeping; never write these. */
    const struct bm_tape *tape;  /* the tape whose arena holds it (NULL: caller's) */
    uint32_t epoch;              /* that tape's reset count when it was made */
    uint32_t grad_stamp;         /* backward pass that set gacc */
    uint32_t want_stamp;         /* pass in which it leads to a wanted input */
    struct bm_tensor *gacc;      /* its gradient (a tensor) in that pass */
} bm_tensor;

/* Bytes of one element of dtype. */
size_t bm_dtype_size(bm_dtype dt);
/* "f32" or "f64". */
const char *bm_dtype_name(bm_dtype dt);
/* Check a shape and compute its element count into *size. */
bm_status bm_shape_check(int rank, const size_t *shape, size_t *size, bm_error *err);
/* Write "[3,4]" for t's shape into buf; returns buf. */
char *bm_shape_str(const bm_tensor *t, char *buf, size_t len);

/* New zero-filled tensor owned by the caller (free with bm_tensor_free). */
bm_tensor *bm_tensor_new(bm_dtype dt, int rank, const size_t *shape, bm_error *err);
/* New tensor holding a copy of `src` (size elements of dt). */
bm_tensor *bm_tensor_from(bm_dtype dt, int rank, const size_t *shape, const void *src,
                          bm_error *err);
/* New tensor of `value` everywhere (zeros and ones are value 0 and 1). */
bm_tensor *bm_tensor_full(bm_dtype dt, int rank, const size_t *shape, double value,
                          bm_error *err);
/* New 1-D tensor start, start+step, ... (n elements). */
bm_tensor *bm_tensor_arange(bm_dtype dt, size_t n, double start, double step, bm_error *err);
/* New tensor of N(mean, std^2) samples drawn from rng. */
bm_tensor *bm_tensor_randn(bm_dtype dt, int rank, const size_t *shape, double mean,
                           double std, bm_rng *rng, bm_error *err);
/* New tensor of U[lo, hi) samples drawn from rng. */
bm_tensor *bm_tensor_rand(bm_dtype dt, int rank, const size_t *shape, double lo, double hi,
                          bm_rng *rng, bm_error *err);
/* Tensor over caller-owned memory (e.g. a flat parameter buffer); data must
 * hold size elements, grad may be NULL. The tensor does not free them. */
bm_tensor *bm_tensor_view(bm_dtype dt, int rank, const size_t *shape, void *data, void *grad,
                          bm_error *err);
/* Deep copy of values (and shape) into a new caller-owned tensor; no grad. */
bm_tensor *bm_tensor_copy(const bm_tensor *t, bm_error *err);
/* Free a caller-owned tensor; NULL is fine; tape tensors are ignored. */
void bm_tensor_free(bm_tensor *t);
/* Ask for a gradient: allocates a zeroed grad buffer if missing. */
bm_status bm_tensor_set_requires_grad(bm_tensor *t, int on, bm_error *err);
/* Mark leaf t a trainable parameter of a hand-built graph: flags BM_PARAM
 * and BM_REQUIRES_GRAD (a zeroed grad buffer allocated if missing), and the
 * name when not NULL (not copied: it must outlive the tensor's use). DOT and
 * JSON draw it as a parameter ("p<k>"); never set the flags by hand. A tape
 * leaf must have been made with BM_REQUIRES_GRAD. Errors: NULL t, an op's
 * output (not a leaf), out of memory. */
bm_status bm_tensor_mark_param(bm_tensor *t, const char *name, bm_error *err);
/* Zero t's gradient buffer (if any). */
void bm_tensor_zero_grad(bm_tensor *t);
/* Element i (flat index) as double; NaN for a NULL tensor or i ≥ size. */
double bm_tensor_get(const bm_tensor *t, size_t i);
/* Set element i (flat index) from a double; nothing for NULL or i ≥ size. */
void bm_tensor_set(bm_tensor *t, size_t i, double v);
/* Gradient element i as double (0 when there is no gradient; NaN for a
 * NULL tensor or i ≥ size). */
double bm_tensor_grad_get(const bm_tensor *t, size_t i);
/* Copy n values from a double array into t (n must equal t->size). */
bm_status bm_tensor_load(bm_tensor *t, const double *v, size_t n, bm_error *err);
/* How bm_tensor_print_opts shows values (bm_print_defaults: NumPy's). */
typedef struct bm_print_opts {
    size_t threshold; /* more elements than this: summarise each axis as its first and
                       * last `edgeitems` values with "..." between [1000] */
    size_t edgeitems; /* values kept at each end of a summarised axis (0 counts as 1) [3] */
    int precision;    /* significant digits (%g; <= 0: the default) [6] */
} bm_print_opts;
#define BM_PRINT_THRESHOLD 1000
#define BM_PRINT_EDGEITEMS 3
#define BM_PRINT_PRECISION 6
/* The defaults above, as NumPy's printoptions. */
bm_print_opts bm_print_defaults(void);
/* Print shape, dtype and values NumPy-style to f; o NULL: bm_print_defaults(). A tensor of
 * more than o->threshold elements is summarised per axis ("[0, 1, 2, ..., 97, 98, 99]"),
 * so a big one prints a few lines; threshold SIZE_MAX prints everything. */
void bm_tensor_print_opts(const bm_tensor *t, FILE *f, const bm_print_opts *o);
/* bm_tensor_print_opts with the defaults. */
void bm_tensor_print(const bm_tensor *t, FILE *f);
/* Same shape and dtype? */
int bm_tensor_same_shape(const bm_tensor *a, const bm_tensor *b);

/* ---------------------------------------------------------------- tape */

/* Allocation hooks for a tape (counting, arenas of your own...). */
typedef struct bm_allocator {
    void *(*alloc)(void *ud, size_t bytes);
    void (*free)(void *ud, void *p);
    void *ud;
} bm_allocator;

typedef struct bm_tape bm_tape;
typedef struct bm_node bm_node;

/* New empty tape using malloc/free. NULL only when out of memory. */
bm_tape *bm_tape_new(void);
/* New empty tape using the given allocator (copied). */
bm_tape *bm_tape_new_ex(const bm_allocator *a);
/* Free the tape, every node and every tensor in its arena. NULL is fine. */
void bm_tape_free(bm_tape *tape);
/* Forget every node and tape tensor in O(1); keep the memory for reuse, so
 * recording the same graph again allocates nothing. Clears the error. */
void bm_tape_reset(bm_tape *tape);
/* Number of recorded nodes. */
size_t bm_tape_size(const bm_tape *tape);
/* Bytes of arena memory held (used or free). */
size_t bm_tape_arena_bytes(const bm_tape *tape);

/* Sticky error: the first failure since the last clear. */
bm_status bm_tape_status(const bm_tape *tape);
/* Message of the sticky error ("" when none). */
const char *bm_tape_error(const bm_tape *tape);
/* Clear the sticky error. */
void bm_tape_clear_error(bm_tape *tape);
/* Record an error on the tape (kept only if none is set); returns code. */
bm_status bm_tape_fail(bm_tape *tape, bm_status code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* No-grad mode: when off (0), ops compute their results but record nothing
 * and nothing downstream requires a gradient: each result is a constant
 * (BM_CONST) that bm_tape_forward does not recompute (see there). Returns the
 * previous value. */
int bm_tape_set_grad_enabled(bm_tape *tape, int on);
/* Is recording on? */
int bm_tape_grad_enabled(const bm_tape *tape);

/* A tensor in the tape's arena, zero-filled (constants, batch inputs). It
 * lives until reset. flags may include BM_REQUIRES_GRAD. */
bm_tensor *bm_tape_leaf(bm_tape *tape, bm_dtype dt, int rank, const size_t *shape,
                        unsigned flags);

/* Backward from `out`. seed: a gradient of out's shape and dtype, or NULL
 * for ones, allowed only when out has one element. Gradients are added
 * (+=) to leaves that require them; intermediate gradients (their .grad,
 * pointing into the gradient graph) are recomputed on each call. Calling
 * backward twice therefore adds the leaf gradients twice (zero them in
 * between with bm_tensor_zero_grad / bm_tape_zero_grad). The first call for
 * an output records its gradient graph (each op's vjp, built from ops) off
 * the main list; later calls for the same output replay it, allocating
 * nothing, and read a caller's seed where it lies (no copy; then out's .grad
 * is the seed's buffer, valid while the seed lives) unless it aliases a leaf
 * gradient or a recorded value of this tape. An op output recorded on
 * another tape, or before bm_tape_reset(), is refused with BM_ERR_STATE; a
 * seed of another dtype
 * with BM_ERR_DTYPE, of another shape with BM_ERR_SHAPE. */
bm_status bm_tape_backward(bm_tape *tape, bm_tensor *out, const bm_tensor *seed);
/* Gradients of outputs[0..n_outputs) (weighted by grad_outputs, which may be
 * NULL, or hold NULL entries, for ones on one-element outputs) with respect
 * to inputs[0..n_inputs) (leaves or recorded tensors), written to
 * results[0..n_inputs) as tensors on the tape; leaf .grad buffers are not
 * touched. With create_graph the gradient graph is recorded on the tape like
 * any ops: the results are differentiable again (bm_grad or
 * bm_tape_backward of a function of them: second and higher derivatives),
 * and bm_tape_forward replays them. Without it they are constants computed
 * once. An input the outputs do not depend on gets a zero tensor. */
bm_status bm_grad(bm_tape *tape, bm_tensor *const *outputs, size_t n_outputs,
                  bm_tensor *const *inputs, size_t n_inputs, bm_tensor *const *grad_outputs,
                  int create_graph, bm_tensor **results);
/* Zero the gradients of every leaf that a recorded node reads. */
void bm_tape_zero_grad(bm_tape *tape);
/* Replay: run every recorded node's forward again, in order, reading the
 * current values of the leaves (write new batch data into them first). The
 * graph, shapes and buffers are reused: nothing is allocated. Dropout draws
 * a fresh mask unless the tape is frozen (bm_tape_freeze_random).
 * A value computed with recording off (bm_tape_set_grad_enabled(t, 0)) is a
 * constant (flag BM_CONST): nothing links it to the values it was computed
 * from, so replay does not recompute it and no gradient flows through it.
 * Example: with recording off, mu = bm_mean(t, x, ...); then, recording,
 * y = bm_sub(t, x, mu). After new data is written into x, bm_tape_forward
 * recomputes y from the new x and the OLD mu. Compute such a value with
 * recording on to have it replayed; bm_graph_write_dot draws constants grey,
 * and bm_gradcheck warns about an input that reaches the output only
 * through them. */
bm_status bm_tape_forward(bm_tape *tape);
/* Freeze stochastic ops (dropout keeps its mask on replay); returns old. */
int bm_tape_freeze_random(bm_tape *tape, int on);

/* Anomaly detection (off by default; costs one branch per node when off).
 * When on, every op's output is checked for NaN/Inf after its forward
 * (recording and bm_tape_forward replay), and after each node's backward
 * the gradients it wrote into its inputs (and a caller's seed) are checked.
 * The first non-finite value sets the sticky error BM_ERR_NUMERIC with a
 * message naming the op, its tape position, the tensor, the flat index, the
 * value and each input's shape and value range, e.g.
 *   anomaly: forward of node 5 (log): output[3] = -inf; inputs: [4,3] in [-0.5, 2]
 *   anomaly: backward of node 2 (sqrt): gradient of input 0[0] = inf; inputs: ...
 * Builders then return NULL; forward/backward return BM_ERR_NUMERIC. Each
 * check is a pass over the tensor: use it to find where a NaN starts. A
 * leaf's gradient is checked as accumulated (zero it between passes).
 * Returns the previous setting. */
int bm_tape_set_detect_anomaly(bm_tape *tape, int on);
/* Is anomaly detection on? (0 for a NULL tape.) */
int bm_tape_detect_anomaly(const bm_tape *tape);

/* Threads for the tape's op kernels (the matrix products),
 * 1..BM_MAX_THREADS; 1, the default, starts none. The tape owns a pool of
 * threads - 1 workers that sleep between products (no busy CPU when idle);
 * change it only between steps. Products are split so each output element
 * is computed by one thread in a fixed order: results are bit-identical for
 * any thread count (a -Dblas=enabled build: for the same thread count; its
 * large products run on OpenBLAS's threads). Set it before recording, so each product's scratch
 * memory is reserved for that many threads (a graph recorded with fewer
 * runs on as many threads as its scratch fits). BM_ERR_ARG out of range,
 * BM_ERR_NOMEM when a thread cannot start (the old setting stays). */
bm_status bm_tape_set_threads(bm_tape *tape, int threads, bm_error *err);
/* Threads of the tape's op kernels (1 for a NULL tape). */
int bm_tape_threads(const bm_tape *tape);

/* ------------------------------------------------------ memory planning */

/* Defined where the memory planner below exists (code that builds against
 * older libraries tests it). */
#define BMNN_HAS_MEMORY_PLAN 1
/* bm_tape_set_dry_run exists (a planned step that never holds the unplanned buffers). */
#define BMNN_HAS_DRY_RUN 1

/* Where a tape's memory is (bm_tape_memory). Buffers are the recorded
 * nodes' outputs and saved blocks, the memory the planner places. */
typedef struct bm_tape_memory_stats {
    size_t arena;      /* bytes held by the tape's arenas (bm_tape_arena_bytes) */
    size_t data_arena; /* of which the buffers' arena (the slab once planned) */
    size_t values;     /* forward values: outputs of the main list's nodes */
    size_t grads;      /* gradient graphs' outputs (those written straight into a
                        * leaf's .grad excluded) */
    size_t saved;      /* saved-for-backward blocks */
    size_t scratch;    /* the kernels' shared scratch memory */
    int planned;       /* the buffers share one slab (bm_tape_plan_memory) */
    size_t buffers;    /* once planned: the buffers' bytes, each on its own */
    size_t slab;       /* once planned: the slab's bytes */
    size_t peak_live;  /* once planned: most buffer bytes live at one time */
} bm_tape_memory_stats;

/* Fill *st with the tape's memory figures. BM_ERR_NULL for a NULL tape
 * (st zeroed) or st. */
bm_status bm_tape_memory(const bm_tape *tape, bm_tape_memory_stats *st);

/* Memory planning (off by default): buffers whose lifetimes do not overlap
 * share memory. Over what a step runs — the recorded forward, then each
 * gradient graph bm_tape_backward built — a buffer lives from the op that
 * writes it to the last op that reads it; the planner lays all of them out
 * in one slab that replaces their arena (less memory held; the old chunks
 * are freed, one allocation). Kernels and their order do not change, so
 * results are bit-identical with and without it, and a replayed step still
 * allocates nothing.
 * With planning on (bm_tape_set_memory_plan), the tape plans at the first
 * replay of a gradient graph (the second bm_tape_backward from an output);
 * bm_tape_plan_memory plans at once. What stays valid after planning:
 *   - leaves, their .grad, constants (BM_CONST) and everything not recorded;
 *   - the output of each gradient graph (the loss), every forward value no
 *     op reads (the graph's outputs), and tensors kept with bm_tape_keep
 *     (value and .grad), which never share memory;
 *   - any other intermediate value or intermediate .grad only while no later
 *     op of the step has reused its memory: after bm_tape_forward, a value
 *     the backward reads is still there, but after bm_tape_backward
 *     intermediate values and gradients are not. Keep what you read.
 * Recording an op after planning that reads a tensor whose memory is reused
 * fails with BM_ERR_STATE naming the op and input; values the backward reads
 * may be read after a bm_tape_forward (so bm_gradcheck, bm_grad and a
 * backward from a new output work). When the backward reuses forward memory,
 * a backward with no forward since the last one replays the forward first
 * (random ops frozen): backward twice still adds the gradient twice.
 * Planning allocates the slab while the old buffers still exist (for that
 * moment both are held), then frees them. bm_tape_reset ends the plan (the
 * slab becomes an arena chunk for the next recording), which is planned
 * again at its first replay; a tape reset and recorded every step is never
 * planned. Switching planning off keeps a plan made until the reset.
 * Returns the previous setting. */
int bm_tape_set_memory_plan(bm_tape *tape, int on);
/* Is memory planning on? (0 for a NULL tape.) */
int bm_tape_memory_plan(const bm_tape *tape);
/* Dry run (off by default; kept across bm_tape_reset): while on, recorded ops
 * get their shapes and buffers but run no kernel, and bm_tape_backward builds
 * its gradient graph without running it (nor adding into leaves' .grad; a
 * backward whose graph exists does nothing). Recorded values are undefined
 * until the next bm_tape_forward, which a bm_tape_backward after the dry run
 * runs first when none has (random ops drawing as a recording would). With
 * memory planning, a step recorded and its backward built dry, then planned
 * (bm_tape_plan_memory) before the first forward, never writes the unplanned
 * buffers: the process's peak memory is the plan's, not the first step's
 * (fit does this with bm_fit_opts.plan_memory). Returns the previous setting
 * (0 for NULL). */
int bm_tape_set_dry_run(bm_tape *tape, int on);
/* Plan the memory of what is recorded now (see bm_tape_set_memory_plan),
 * once per recording: a second call does nothing. The tape's sticky error
 * if set; BM_ERR_NOMEM when the slab cannot be allocated (the graph stays as
 * it was). */
bm_status bm_tape_plan_memory(bm_tape *tape);
/* Keep tensor t (a value the caller will read, e.g. a model's output or a
 * part of the loss) out of memory sharing: its value and gradient stay
 * valid. Call it before planning; BM_ERR_STATE after, or for another tape's
 * tensor; BM_ERR_NULL for NULL. */
bm_status bm_tape_keep(bm_tape *tape, const bm_tensor *t);

/* ------------------------------------------------------------ profiler */

/* The phase a node's time is counted in: forward (a node of the main list,
 * run when recorded and by bm_tape_forward) or backward (a node recorded
 * by a gradient pass: bm_tape_backward's plan, run when built and on every
 * replay, and bm_grad's gradient graph, with create_graph too). */
typedef enum bm_phase { BM_PHASE_FORWARD = 0, BM_PHASE_BACKWARD = 1 } bm_phase;

/* One row of a profile: the forward kernels one op kind ran in one phase. */
typedef struct bm_profile_row {
    const char *op;  /* the op's name (its bm_op's string, not copied) */
    bm_phase phase;
    uint64_t calls;  /* kernels run */
    double seconds;  /* wall time in them (CLOCK_MONOTONIC) */
    double flops;    /* their floating-point operations (bm_op.flops; 0: not counted) */
    double share;    /* seconds / the seconds of every row of the profile, 0..1 */
    double gflops;   /* flops / seconds / 1e9 (0 where either is 0) */
} bm_profile_row;

/* Profiling (off by default; one branch per node when off): time every
 * node's kernel, when recorded and on every replay, into a table of rows
 * per op kind and phase kept on the tape (over bm_tape_reset too). Rows are
 * added when nodes are recorded (or here, for nodes already recorded), so a
 * replayed or re-recorded step still allocates nothing. Returns the
 * previous setting; a table that cannot grow sets BM_ERR_NOMEM. */
int bm_tape_set_profile(bm_tape *tape, int on);
/* Is profiling on? (0 for a NULL tape.) */
int bm_tape_profiling(const bm_tape *tape);
/* Zero every count of the profile (profiling stays as it is). */
void bm_tape_profile_reset(bm_tape *tape);
/* The profile's rows that ran at least once, most seconds first: *n is set
 * to their number and the first min(*n, max) are written to rows (rows may
 * be NULL when max is 0). BM_ERR_NULL for a NULL tape or n. */
bm_status bm_tape_profile(const bm_tape *tape, bm_profile_row *rows, size_t max, size_t *n);
/* Fill share and gflops of rows[0..n) from their seconds and flops and
 * sort them, most seconds first (rows merged from several tapes). */
void bm_profile_sort(bm_profile_row *rows, size_t n);
/* Print rows[0..n) as a table, one line per row in the order given, then a
 * total line (its GFLOP/s: every counted FLOP over all the time):
 *   phase     op                     calls      seconds   share   GFLOP/s
 *   forward   linear                  2000     0.004210   41.3%     12.5
 * An op that counts no FLOPs shows "-". BM_ERR_NULL for a NULL f (or rows
 * with n > 0), BM_ERR_IO when writing fails. */
bm_status bm_profile_print(const bm_profile_row *rows, size_t n, FILE *f);
/* Print the tape's profile (bm_tape_profile, then bm_profile_print). */
bm_status bm_tape_profile_print(const bm_tape *tape, FILE *f);

/* ------------------------------------------------------- graph walking */

/* First recorded node (creation order), NULL when the tape is empty. */
const bm_node *bm_tape_first(const bm_tape *tape);
/* Node recorded after n, NULL at the end. */
const bm_node *bm_node_next(const bm_node *n);
/* Op name of a node ("matmul"). */
const char *bm_node_op_name(const bm_node *n);
/* Number of inputs of a node. */
int bm_node_n_inputs(const bm_node *n);
/* Input k of a node. */
const bm_tensor *bm_node_input(const bm_node *n, int k);
/* Output of a node. */
const bm_tensor *bm_node_output(const bm_node *n);
/* Tape position of a node (0-based, creation order). */
size_t bm_node_index(const bm_node *n);
/* Is input k of this op differentiable (targets are not)? */
int bm_node_input_differentiable(const bm_node *n, int k);
/* The node's parameters as text ("axis=1, keepdims"), "" when it has none
 * to show; writes at most len bytes to buf. */
void bm_node_describe(const bm_node *n, char *buf, size_t len);

/* ------------------------------------------------------------ gradcheck */

/* How gradcheck samples the input space. */
typedef enum bm_gradcheck_mode {
    BM_GRADCHECK_EXHAUSTIVE = 0, /* every element of every input */
    BM_GRADCHECK_PROJECTION = 1  /* random directions: g·v vs directional diff */
} bm_gradcheck_mode;

/* Gradcheck settings; bm_gradcheck_defaults() fills sensible values. */
typedef struct bm_gradcheck_opts {
    bm_gradcheck_mode mode;
    double eps;        /* central-difference step (1e-6) */
    double atol;       /* pass if |a-n| <= atol + rtol*|n| (1e-6, 1e-5) */
    double rtol;
    uint64_t seed;     /* seeds the output weighting and projections */
    int projections;   /* directions in projection mode (8) */
    double kink_tol;   /* one-sided slopes differing more are kinks (1e-3), unless a
                        * 4x wider step shows the difference is curvature */
} bm_gradcheck_opts;

/* What gradcheck found. */
typedef struct bm_gradcheck_result {
    int passed;
    double max_abs_err;
    double max_rel_err;
    size_t worst_input;   /* which input held the worst element */
    size_t worst_index;   /* its flat index (projection: direction index) */
    double worst_analytic, worst_numeric;
    double worst_fd_error; /* estimated error of worst_numeric (Richardson: D(ε) against
                            * D(ε/2)); a gap far beyond it is a gradient bug */
    size_t checked;       /* elements (or directions) compared */
    size_t skipped;       /* skipped as kinks */
    char message[BM_ERR_LEN];
    char warning[BM_ERR_LEN]; /* "" or why the verdict may say nothing about an input:
                               * it reaches the output through no recorded op (only
                               * through BM_CONST values, which replay does not
                               * recompute, or not at all) */
    bm_error error;       /* when the call returns an error: its code and message */
} bm_gradcheck_result;

/* Default gradcheck settings. */
bm_gradcheck_opts bm_gradcheck_defaults(void);
/* Check d(out)/d(inputs) of a recorded F64 graph against central
 * differences. out may have any shape: it is reduced with a seeded random
 * weighting w (f = Σ w·out). Inputs must be leaves of the graph with
 * BM_REQUIRES_GRAD. Their gradients are overwritten. Refuses to pass when
 * every gradient is zero. An input that reaches out only through constants
 * (computed with recording off: replay does not recompute them, so both
 * gradients through them are zero) or not at all is named in res->warning.
 * Returns BM_OK when the check could run (see res->passed for the verdict). */
bm_status bm_gradcheck(bm_tape *tape, bm_tensor *out, bm_tensor *const *inputs,
                       size_t n_inputs, const bm_gradcheck_opts *opts,
                       bm_gradcheck_result *res);


/* --------------------------------------------------------- graph export */

/* How a recorded graph is drawn; bm_graph_defaults() gives all zeros. */
typedef struct bm_graph_opts {
    int backward;        /* 1: add the gradient flow: a "∂name" node per tensor that
                          * gets a gradient, labelled with the gradient's shape,
                          * dashed edges from each op's gradient to its
                          * differentiable inputs' gradients */
    /* 1: one box per group (a model's layer) instead of its ops and
     * parameters, labelled with the group's name ("layers[0]: dense") and
     * its output shape (its last op's); edges between boxes deduplicated
     * (dashed when none of the merged ones is differentiable); with backward,
     * one "∂" node per box and the gradient flow between boxes. Ops and
     * leaves outside any group stay as they are. Box ids are "L<k>", k the
     * cluster number. */
    int collapse;
    const char *title;   /* graph label, may be NULL (not owned) */
    /* Cluster name of a tensor ("layer 0: dense") or NULL for none; called for
     * op outputs and parameters; nodes of one name are drawn in one
     * `subgraph cluster_<k>` (k by first appearance). May be NULL. The
     * returned string is copied. */
    const char *(*group)(void *ud, const bm_tensor *t);
    void *group_ud;      /* passed to group */
} bm_graph_opts;

/* Default graph options: forward only, no title, no clusters. */
bm_graph_opts bm_graph_defaults(void);
/* Write tape's graph as Graphviz DOT to f. Ops are "n<index>" labelled
 * "<index>: <op>\n<shape>"; leaves are numbered by first appearance:
 * parameters (BM_PARAM) "p<k>", inputs "in<k>", targets (only read through
 * non-differentiable inputs) "t<k>", constants computed with recording off
 * (BM_CONST, drawn grey and dashed: replay does not recompute them) "c<k>",
 * labelled with their name (or kind), shape and dtype. output: NULL draws every node; otherwise only the nodes
 * output depends on, with output highlighted (it must be recorded on this
 * tape). o may be NULL (defaults). The same graph always gives the same
 * bytes. Errors: NULL tape/f, empty tape, foreign output, write failure. */
bm_status bm_graph_write_dot(const bm_tape *tape, const bm_tensor *output, FILE *f,
                             const bm_graph_opts *o, bm_error *err);
/* Write the same graph as JSON to f: {"title", "nodes": [{"id", "kind"
 * (op/param/input/target/constant), "op", "index" (ops), "name", "shape", "dtype",
 * "requires_grad", "group"}], "edges": [{"from", "to", "input",
 * "differentiable"}], "grad_edges" (with o->backward: [{"from", "to",
 * "input"}]), "output"}. Same selection, ids and errors as the DOT writer.
 * With o->collapse: "collapsed": true, and each group is one node {"id":
 * "L<k>", "kind": "layer", "name", "ops", "params" (counts merged), "shape",
 * "dtype", "requires_grad" (its output's), "group"}; edges are {"from", "to",
 * "differentiable", "count"} between those nodes, grad_edges {"from", "to"}. */
bm_status bm_graph_write_json(const bm_tape *tape, const bm_tensor *output, FILE *f,
                              const bm_graph_opts *o, bm_error *err);

BM_API_END
#ifdef __cplusplus
}
#endif
#endif
