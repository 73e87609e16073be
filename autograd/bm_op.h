/* bm_op.h — the op interface: define an op of your own, outside the library.
 *
 * An op is one `bm_op` with designated fields: a name, its arity (fixed, or
 * BM_OP_VARIADIC for any number of inputs), the size of its parameter block,
 * which inputs get no gradient, shape inference, a forward kernel and its
 * vector-Jacobian product (vjp). The vjp is written with op builders (bm_mul,
 * bm_matmul_ex, bm_sum_to, ... or your own ops), so the gradient it returns
 * is itself a recorded, differentiable graph: second and higher derivatives
 * of your op come by construction, and `bm_gradcheck`/`bm_gradgradcheck`,
 * replay, DOT/JSON export and anomaly detection treat it as a built-in one.
 *
 *   typedef struct { double beta; } swish_params;
 *   static int swish_infer(bm_tape *t, bm_node *n)
 *   { return bm_op_set_output_like(t, n, bm_op_in(n, 0)) == BM_OK ? 0 : -1; }
 *   static void swish_forward(bm_tape *t, bm_node *n) { ... y = x·σ(βx) ... }
 *   static bm_status swish_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
 *   { ... dx[0] = bm_mul(t, g, <dy/dx built from ops>); return bm_tape_status(t); }
 *   static const bm_op swish = {.name = "swish", .arity = 1,
 *       .params_size = sizeof(swish_params), .infer = swish_infer,
 *       .forward = swish_forward, .vjp = swish_vjp};
 *   bm_tensor *y = bm_tape_record(tape, &swish, &x, 1, &(swish_params){.beta = 1});
 *
 * examples/custom_op.c is a whole program. The op struct must outlive every
 * tape that recorded it (a static const is the usual choice). */
#ifndef BM_OP_H
#define BM_OP_H

#include "bm_autograd.h"

#ifdef __cplusplus
extern "C" {
#endif
BM_API_BEGIN

/* Version of this interface; bumped when bm_op's fields or the calls below
 * change incompatibly. */
#define BM_OP_API_VERSION 1

/* bm_op.arity for an op taking any number (≥ 1) of inputs. */
#define BM_OP_VARIADIC (-1)
/* Most inputs of one node (variadic ops included). */
#define BM_OP_MAX_INPUTS 1024

/* bm_op.flags: the forward honours bm_op_accumulate() — it adds its result
 * into the output buffer instead of storing it when asked. The engine then
 * lets it write a leaf's gradient in place (a matrix product's beta = 1). */
#define BM_OP_ACCUMULATES (1u << 0)
/* bm_op.flags: the forward may write ±inf on purpose (masked_fill): anomaly detection skips its outputs */
#define BM_OP_NONFINITE_OK (1u << 1)

/* One op. Unset fields are 0/NULL. Input k (k < 32) gets no gradient when
 * bit k of `nondiff` is set (targets, indices, masks); inputs past 31 are
 * differentiable. */
typedef struct bm_op {
    const char *name;        /* shown in DOT/JSON, errors and anomaly messages */
    int arity;               /* number of inputs, or BM_OP_VARIADIC */
    size_t params_size;      /* bytes of the parameter block (copied into the node) */
    uint32_t nondiff;        /* bit k: input k is not differentiable */
    unsigned flags;          /* BM_OP_ACCUMULATES, BM_OP_NONFINITE_OK */
    /* Shape inference: check the inputs and set the output's dtype and shape
     * (bm_op_set_output); reserve saved values (bm_op_set_saved) and scratch
     * memory (bm_op_set_scratch). On bad input call bm_tape_fail(tape, code,
     * "name: what") and return non-zero. Inputs all have one dtype. */
    int (*infer)(bm_tape *tape, bm_node *n);
    /* Compute the output (bm_op_out(n)->data) and the saved values from the
     * inputs. Runs at record time and on every replay; it may call
     * bm_tape_fail for a value it cannot accept (a class index out of range). */
    void (*forward)(bm_tape *tape, bm_node *n);
    /* Vector-Jacobian product: given g, the gradient of the output (a tensor
     * of the output's shape), set dx[k] to the gradient of input k, built
     * with op builders on this tape, for each k where bm_op_wants_grad(tape,
     * n, k); leave dx[k] NULL for a zero gradient. Return bm_tape_status(tape).
     * NULL: the op has no gradient (every input must then be nondiff). */
    bm_status (*vjp)(bm_tape *tape, bm_node *n, bm_tensor *g, bm_tensor **dx);
    /* Optional: write the parameters as text ("axis=1"): DOT labels show
     * them as name(text), JSON as "params". */
    void (*describe)(const bm_node *n, char *buf, size_t len);
    /* Optional: floating-point operations of one forward run of node n
     * (2·M·N·K for a matrix product), from its shapes and parameters: the
     * profiler's GFLOP/s (bm_tape_set_profile). NULL: not counted. */
    double (*flops)(const bm_node *n);
} bm_op;

/* Record op on inputs in[0..n_in) with the parameter block params
 * (op->params_size bytes, copied; NULL for none or zeros). Runs infer and
 * forward, and returns the output (in the tape's arena) or NULL with the
 * tape's sticky error set: a NULL input, inputs of mixed dtypes, a tensor
 * recorded on another tape or before bm_tape_reset (BM_ERR_STATE), a wrong
 * input count, or what infer refused. */
bm_tensor *bm_tape_record(bm_tape *tape, const bm_op *op, bm_tensor *const *in, int n_in,
                          const void *params);

/* Input k of node n (NULL when k is out of range). */
bm_tensor *bm_op_in(const bm_node *n, int k);
/* Output of node n. */
bm_tensor *bm_op_out(const bm_node *n);
/* The node's copy of its parameter block (NULL when the op has none). */
void *bm_op_params(const bm_node *n);
/* Saved values: bytes the forward fills for the vjp (NULL when none). */
void *bm_op_saved(const bm_node *n);
/* Scratch memory for the forward only; its contents do not survive the call
 * (NULL when none). */
void *bm_op_scratch(const bm_node *n);
/* Bytes of scratch memory reserved for the node. */
size_t bm_op_scratch_bytes(const bm_node *n);

/* From infer: the output's dtype, rank and shape. BM_OK or an error code
 * (also set on the tape) for a bad rank or size. */
bm_status bm_op_set_output(bm_tape *tape, bm_node *n, bm_dtype dt, int rank,
                           const size_t *shape);
/* From infer: the output takes x's dtype and shape. */
bm_status bm_op_set_output_like(bm_tape *tape, bm_node *n, const bm_tensor *x);
/* From infer: reserve `bytes` of saved values (kept with the node). */
void bm_op_set_saved(bm_node *n, size_t bytes);
/* From infer: reserve `bytes` of scratch memory (shared between nodes:
 * valid only during this node's forward). */
void bm_op_set_scratch(bm_node *n, size_t bytes);

/* From a vjp: does input k need a gradient in this pass (differentiable,
 * requires one, and leads to what is being differentiated)? */
int bm_op_wants_grad(const bm_tape *tape, const bm_node *n, int k);
/* From a vjp: the node's saved values viewed as a constant tensor of dtype,
 * rank and shape, starting `offset` bytes in (must fit the saved bytes).
 * Replay refreshes its values. A vjp reading it must differentiate through
 * the node's inputs itself: the view is not differentiable. */
bm_tensor *bm_op_saved_tensor(bm_tape *tape, const bm_node *n, size_t offset, bm_dtype dt,
                              int rank, const size_t *shape);
/* From a forward: should it add into the output instead of storing (only
 * asked of ops with BM_OP_ACCUMULATES)? */
int bm_op_accumulate(const bm_node *n);
/* A constant scalar of value v on the tape (a leaf of dtype dt). */
bm_tensor *bm_tape_scalar(bm_tape *tape, bm_dtype dt, double v);

BM_API_END
#ifdef __cplusplus
}
#endif
#endif
