/* bm_ops.h — the differentiable primitives (op builders).
 *
 * Every builder records one node on the tape and returns its output, which
 * lives in the tape's arena. On bad input (NULL, shapes that do not fit,
 * mixed dtypes) it returns NULL and sets the tape's sticky error with a
 * message naming the op and the shapes; a NULL input makes the next builder
 * return NULL too, so one check after building a graph is enough. Every op
 * works in F32 and F64. Elementwise binary ops broadcast with NumPy's rules
 * and sum gradients back over broadcast axes. The full list, with gradient
 * formulas, is ops/ops.def and README's op table. */
#ifndef BM_OPS_H
#define BM_OPS_H

#include <limits.h>

#include "bm_autograd.h"

#ifdef __cplusplus
extern "C" {
#endif
BM_API_BEGIN

/* Pass as `axis` to reduce over every axis. */
#define BM_AXIS_ALL (-128)

/* Lower and upper clip of probabilities in cce/bce (the walk-through's). */
#define BM_PROB_CLIP 1e-7

/* ---- linear algebra -------------------------------------------------- */
/* a [..,M,K] · b [..,K,N] -> [..,M,N] (ranks 2–4, leading batch axes
 * broadcast as torch.matmul). dA = g·bᵀ, dB = aᵀ·g (no transposes built). */
bm_tensor *bm_matmul(bm_tape *t, bm_tensor *a, bm_tensor *b);
/* [B,M,K] · [B,K,N] -> [B,M,N] (torch.bmm). */
bm_tensor *bm_bmm(bm_tape *t, bm_tensor *a, bm_tensor *b);
/* a [M] ⊗ b [N] -> [M,N] (torch.outer). */
bm_tensor *bm_outer(bm_tape *t, bm_tensor *a, bm_tensor *b);
/* op(a)·op(b), op(a) = aᵀ when ta (a stored [K,M]), op(b) = bᵀ when tb (b
 * stored [N,K]): the transposed operand is read in place, never copied. */
bm_tensor *bm_matmul_ex(bm_tape *t, bm_tensor *a, bm_tensor *b, int ta, int tb);
/* x [M,K] · W [K,N] + b [N] or [1,N] -> [M,N]: a dense layer in one op, no
 * intermediate; b may be NULL (no bias). dX = g·Wᵀ (skipped when x needs no
 * gradient), dW = xᵀ·g, db = column sums of g. Same values as
 * bm_add(t, bm_matmul(t, x, W), b). */
bm_tensor *bm_linear(bm_tape *t, bm_tensor *x, bm_tensor *W, bm_tensor *b);

/* ---- broadcasting elementwise ----------------------------------------- */
/* a + b. */
bm_tensor *bm_add(bm_tape *t, bm_tensor *a, bm_tensor *b);
/* a − b. */
bm_tensor *bm_sub(bm_tape *t, bm_tensor *a, bm_tensor *b);
/* a ⊙ b. */
bm_tensor *bm_mul(bm_tape *t, bm_tensor *a, bm_tensor *b);
/* a / b. */
bm_tensor *bm_div(bm_tape *t, bm_tensor *a, bm_tensor *b);

/* ---- unary elementwise ------------------------------------------------ */
/* −x. */
bm_tensor *bm_neg(bm_tape *t, bm_tensor *x);
/* s·x. */
bm_tensor *bm_scale(bm_tape *t, bm_tensor *x, double s);
/* x + c. */
bm_tensor *bm_add_scalar(bm_tape *t, bm_tensor *x, double c);
/* eˣ. */
bm_tensor *bm_exp(bm_tape *t, bm_tensor *x);
/* ln x (x > 0). */
bm_tensor *bm_log(bm_tape *t, bm_tensor *x);
/* xᵖ for a constant p. */
bm_tensor *bm_pow(bm_tape *t, bm_tensor *x, double p);
/* √x. */
bm_tensor *bm_sqrt(bm_tape *t, bm_tensor *x);
/* |x|; gradient sign(x), 0 at 0. */
bm_tensor *bm_abs(bm_tape *t, bm_tensor *x);
/* max(0, x); gradient 1 where x > 0. */
bm_tensor *bm_relu(bm_tape *t, bm_tensor *x);
/* 1 / (1 + e⁻ˣ). */
bm_tensor *bm_sigmoid(bm_tape *t, bm_tensor *x);
/* tanh x. */
bm_tensor *bm_tanh(bm_tape *t, bm_tensor *x);
/* sign(x) ∈ {−1, 0, 1}; piecewise constant: no gradient flows through it. */
bm_tensor *bm_sign(bm_tape *t, bm_tensor *x);
/* min(max(x, lo), hi); gradient 1 where lo ≤ x ≤ hi (torch.clamp). */
bm_tensor *bm_clamp(bm_tape *t, bm_tensor *x, double lo, double hi);
/* g where lo < x < hi (open) or lo ≤ x ≤ hi, else 0; x and g of one shape.
 * The backward primitive of relu and clamp: linear in g, no gradient to x. */
bm_tensor *bm_gate(bm_tape *t, bm_tensor *x, bm_tensor *g, double lo, double hi, int open);

/* ---- more elementwise (issue 10) --------------------------------------- */
/* x² (torch.square). */
bm_tensor *bm_square(bm_tape *t, bm_tensor *x);
/* 1/x (torch.reciprocal). */
bm_tensor *bm_reciprocal(bm_tape *t, bm_tensor *x);
/* sin x. */
bm_tensor *bm_sin(bm_tape *t, bm_tensor *x);
/* cos x. */
bm_tensor *bm_cos(bm_tape *t, bm_tensor *x);
/* erf x (torch.erf). */
bm_tensor *bm_erf(bm_tape *t, bm_tensor *x);
/* log(1 + x), accurate near 0 (torch.log1p). */
bm_tensor *bm_log1p(bm_tape *t, bm_tensor *x);
/* eˣ − 1, accurate near 0 (torch.expm1). */
bm_tensor *bm_expm1(bm_tape *t, bm_tensor *x);
/* x·σ(x) (torch.nn.SiLU). */
bm_tensor *bm_silu(bm_tape *t, bm_tensor *x);
/* x·Φ(x) (torch.nn.GELU); tanh_form: its tanh approximation
 * (approximate='tanh'). */
bm_tensor *bm_gelu(bm_tape *t, bm_tensor *x, int tanh_form);
/* g·gelu'(x), gelu's backward in one kernel (x, g of one shape; tanh_form
 * as bm_gelu); differentiable in both. */
bm_tensor *bm_gelu_grad(bm_tape *t, bm_tensor *x, bm_tensor *g, int tanh_form);
/* log(1 + e^{βx})/β, x where βx > threshold (torch.nn.Softplus; beta > 0). */
bm_tensor *bm_softplus(bm_tape *t, bm_tensor *x, double beta, double threshold);
/* x for x > 0, slope·x otherwise (torch.nn.LeakyReLU). */
bm_tensor *bm_leaky_relu(bm_tape *t, bm_tensor *x, double slope);
/* x for x > 0, α(eˣ − 1) otherwise (torch.nn.ELU). */
bm_tensor *bm_elu(bm_tape *t, bm_tensor *x, double alpha);
/* max(a, b) elementwise, broadcast (torch.maximum); ties share the
 * gradient half and half. */
bm_tensor *bm_maximum(bm_tape *t, bm_tensor *a, bm_tensor *b);
/* min(a, b) elementwise, broadcast (torch.minimum). */
bm_tensor *bm_minimum(bm_tape *t, bm_tensor *a, bm_tensor *b);

/* ---- softmax family (last axis) --------------------------------------- */
/* softmax over the last axis; backward s ⊙ (g − Σ g·s). */
bm_tensor *bm_softmax(bm_tape *t, bm_tensor *x);
/* log softmax over the last axis; backward g − softmax·Σg. */
bm_tensor *bm_log_softmax(bm_tape *t, bm_tensor *x);
/* The softmax Jacobian-vector product s ⊙ (g − Σ g·s) over the last axis,
 * for s a softmax: softmax's backward primitive. */
bm_tensor *bm_softmax_grad(bm_tape *t, bm_tensor *s, bm_tensor *g);

/* ---- reductions and shape --------------------------------------------- */
/* Σ over `axis` (negative counts from the end) or BM_AXIS_ALL. */
bm_tensor *bm_sum(bm_tape *t, bm_tensor *x, int axis, int keepdims);
/* Mean over `axis` or BM_AXIS_ALL. */
bm_tensor *bm_mean(bm_tape *t, bm_tensor *x, int axis, int keepdims);
/* Max along `axis` or BM_AXIS_ALL (torch.amax for one axis; the
 * gradient goes to the first maximal element, as torch.max(dim)'s index;
 * NaN wins). */
bm_tensor *bm_max(bm_tape *t, bm_tensor *x, int axis, int keepdims);
/* Min along `axis` or BM_AXIS_ALL (as bm_max). */
bm_tensor *bm_min(bm_tape *t, bm_tensor *x, int axis, int keepdims);
/* Index of the first maximum along `axis` (flat index for BM_AXIS_ALL),
 * stored as numbers; not differentiable (torch.argmax). */
bm_tensor *bm_argmax(bm_tape *t, bm_tensor *x, int axis, int keepdims);
/* Index of the first minimum (torch.argmin). */
bm_tensor *bm_argmin(bm_tape *t, bm_tensor *x, int axis, int keepdims);
/* log Σ exp(x) along `axis`, stable (torch.logsumexp). */
bm_tensor *bm_logsumexp(bm_tape *t, bm_tensor *x, int axis, int keepdims);
/* Variance along `axis`; unbiased divides by n − 1 (torch.var). */
bm_tensor *bm_var(bm_tape *t, bm_tensor *x, int axis, int unbiased, int keepdims);
/* Standard deviation, √var (torch.std). */
bm_tensor *bm_std(bm_tape *t, bm_tensor *x, int axis, int unbiased, int keepdims);
/* L2 norm √Σx² along `axis` (torch.linalg.vector_norm; gradient 0 at 0). */
bm_tensor *bm_norm(bm_tape *t, bm_tensor *x, int axis, int keepdims);
/* Running sums along `axis`, from the end when reverse (torch.cumsum). */
bm_tensor *bm_cumsum(bm_tape *t, bm_tensor *x, int axis, int reverse);
/* Swap the last two axes (rank ≥ 2); bm_transpose_axes swaps any two. */
bm_tensor *bm_transpose(bm_tape *t, bm_tensor *x);
/* Same elements, new shape (sizes must match). */
bm_tensor *bm_reshape(bm_tape *t, bm_tensor *x, int rank, const size_t *shape);
/* A copy of x that is a constant: no gradient flows back through it
 * (torch.Tensor.detach; truncated BPTT's stop-gradient). */
bm_tensor *bm_detach(bm_tape *t, bm_tensor *x);
/* x broadcast to shape (NumPy rules; torch.Tensor.expand); gradient sum_to. */
bm_tensor *bm_expand(bm_tape *t, bm_tensor *x, int rank, const size_t *shape);
/* x summed over the axes that broadcasting shape to x's would add (shape
 * must broadcast to x's); gradient expand. */
bm_tensor *bm_sum_to(bm_tape *t, bm_tensor *x, int rank, const size_t *shape);
/* Class indices [N] as one-hot rows [N, classes] (not differentiable). */
bm_tensor *bm_one_hot(bm_tape *t, bm_tensor *indices, size_t classes);

/* ---- shape and indexing ------------------------------------------------ */
/* Axes permuted: out axis k is x's axis axes[k] (n_axes = x's rank; negative
 * axes count from the end) (torch.permute); gradient the inverse permute. */
bm_tensor *bm_permute(bm_tape *t, bm_tensor *x, int n_axes, const int *axes);
/* Swap axes axis0 and axis1 (negative from the end) (torch.transpose). */
bm_tensor *bm_transpose_axes(bm_tape *t, bm_tensor *x, int axis0, int axis1);
/* Drop `axis` if its size is 1 (else x's shape is kept, as torch.squeeze),
 * or every size-1 axis for BM_AXIS_ALL. */
bm_tensor *bm_squeeze(bm_tape *t, bm_tensor *x, int axis);
/* Insert an axis of size 1 at `axis` (−1: at the end) (torch.unsqueeze). */
bm_tensor *bm_unsqueeze(bm_tape *t, bm_tensor *x, int axis);

/* A Python slice start:stop:step of one axis: negative start/stop count
 * from the end, both are clamped to the axis, step ≥ 1 (as torch);
 * BM_END as stop runs to the end. {0, BM_END, 1} is the whole axis. */
typedef struct bm_range {
    long start, stop, step;
} bm_range;
#define BM_END LONG_MAX
/* x[r[0], r[1], .., r[n-1]] (the axes past n whole); an empty range is an
 * error (no tensor has a size-0 axis). */
bm_tensor *bm_slice(bm_tape *t, bm_tensor *x, int n, const bm_range *ranges);
/* x sliced start:stop:step along one axis (negative from the end). */
bm_tensor *bm_slice_axis(bm_tape *t, bm_tensor *x, int axis, long start, long stop, long step);
/* slice's backward primitive: zeros of shape [rank] with g (the shape of
 * the slice `ranges` of it) placed at the slice (torch slice_backward);
 * its gradient is the slice again. */
bm_tensor *bm_slice_backward(bm_tape *t, bm_tensor *g, int rank, const size_t *shape, int n,
                             const bm_range *ranges);
/* x padded with `value` by before[k], after[k] ≥ 0 elements on axis k (one
 * entry per axis of x) (torch.nn.functional.pad, mode 'constant'); value
 * may be ±inf. */
bm_tensor *bm_pad(bm_tape *t, bm_tensor *x, const long *before, const long *after, double value);
/* x split along axis into n parts of sizes[k] (summing to the axis) written
 * to out[0..n): each a slice (torch.split with a list). Returns the tape's
 * status. */
bm_status bm_split(bm_tape *t, bm_tensor *x, int axis, int n, const size_t *sizes,
                   bm_tensor **out);
/* xs[0..n) joined along axis; shapes equal off it (torch.cat). */
bm_tensor *bm_concat(bm_tape *t, int n, bm_tensor *const *xs, int axis);
/* xs[0..n), all one shape, stacked along a new axis (torch.stack). */
bm_tensor *bm_stack(bm_tape *t, int n, bm_tensor *const *xs, int axis);

/* Index tensors hold integers as numbers (like class indices); a value
 * that is not one, or out of range, fails the op when it runs. */
/* out[i][j] = x[index[i][j]][j] for axis 0, and so on (torch.gather):
 * index of x's rank, no larger than x off the axis; out index's shape. */
bm_tensor *bm_gather(bm_tape *t, bm_tensor *x, int axis, bm_tensor *index);
/* x with src (index's shape) added at the places gather would read
 * (torch.Tensor.scatter_add); repeated indices add up. */
bm_tensor *bm_scatter_add(bm_tape *t, bm_tensor *x, int axis, bm_tensor *index, bm_tensor *src);
/* The entries index [K] of x along axis (torch.index_select). */
bm_tensor *bm_index_select(bm_tape *t, bm_tensor *x, int axis, bm_tensor *index);
/* x with src (x's shape, K along axis) added at entries index [K] along
 * axis (torch.Tensor.index_add); repeated indices add up. */
bm_tensor *bm_index_add(bm_tape *t, bm_tensor *x, int axis, bm_tensor *index, bm_tensor *src);
/* Rows of weight [V,D] for indices [..] (rank ≤ 3) -> [.., D]
 * (torch.nn.functional.embedding); dW adds G's rows at the indices. */
bm_tensor *bm_embedding(bm_tape *t, bm_tensor *indices, bm_tensor *weight);
/* a where cond ≠ 0, else b; all three broadcast (torch.where); no gradient
 * to cond. */
bm_tensor *bm_where(bm_tape *t, bm_tensor *cond, bm_tensor *a, bm_tensor *b);
/* x with value where mask ≠ 0 (mask broadcasts to x; value may be ±inf,
 * which anomaly detection accepts here) (torch.Tensor.masked_fill). */
bm_tensor *bm_masked_fill(bm_tape *t, bm_tensor *x, bm_tensor *mask, double value);
/* Comparisons, broadcast: 1 where a op b holds, else 0; not differentiable
 * (torch.eq, ne, lt, le, gt, ge; NaN compares unequal to everything). */
/* a == b. */
bm_tensor *bm_eq(bm_tape *t, bm_tensor *a, bm_tensor *b);
/* a != b. */
bm_tensor *bm_ne(bm_tape *t, bm_tensor *a, bm_tensor *b);
/* a < b. */
bm_tensor *bm_lt(bm_tape *t, bm_tensor *a, bm_tensor *b);
/* a <= b. */
bm_tensor *bm_le(bm_tape *t, bm_tensor *a, bm_tensor *b);
/* a > b. */
bm_tensor *bm_gt(bm_tape *t, bm_tensor *a, bm_tensor *b);
/* a >= b. */
bm_tensor *bm_ge(bm_tape *t, bm_tensor *a, bm_tensor *b);
/* Π along `axis` or BM_AXIS_ALL (torch.prod); the gradient Π of the other
 * elements is formed without division: exact with zeros, at every order. */
bm_tensor *bm_prod(bm_tape *t, bm_tensor *x, int axis, int keepdims);

/* ---- convolution (NCHW) ------------------------------------------------- */
/* How conv2d and conv_transpose2d compute (the same values up to rounding). */
typedef enum bm_conv_algo {
    BM_CONV_AUTO = 0,  /* Winograd where it applies and both channel counts are >= 16 */
    BM_CONV_IM2COL,    /* im2col + GEMM, always */
    BM_CONV_WINOGRAD,  /* Winograd F(4x4,3x3) wherever it applies (3x3, stride 1,
                          dilation 1, one group; transposed: padding <= 2), else im2col */
} bm_conv_algo;
/* Geometry of a 2-D convolution, per axis (H, W). */
typedef struct bm_conv_opts {
    size_t stride[2], pad[2], dilation[2]; /* ≥ 1, ≥ 0, ≥ 1 */
    size_t groups;                         /* C and O divisible by it */
    size_t output_pad[2];                  /* bm_conv_transpose2d only */
    bm_conv_algo algo;                     /* BM_CONV_AUTO (0) by default; kept by the gradients */
} bm_conv_opts;
/* Stride 1, no padding, dilation 1, one group. */
bm_conv_opts bm_conv_defaults(void);
/* x [N,C,H,W] ⋆ w [O,C/groups,kh,kw] (+ b [O], may be NULL) -> [N,O,OH,OW]
 * (torch.nn.functional.conv2d); o NULL for the defaults. */
bm_tensor *bm_conv2d(bm_tape *t, bm_tensor *x, bm_tensor *w, bm_tensor *b, const bm_conv_opts *o);
/* The transposed convolution (torch conv_transpose2d, no bias): x
 * [N,O,H,W], w [O,C/groups,kh,kw] -> [N,C,H',W']; conv2d's input gradient. */
bm_tensor *bm_conv_transpose2d(bm_tape *t, bm_tensor *x, bm_tensor *w, const bm_conv_opts *o);
/* conv2d's weight gradient as an op: x [N,C,H,W] and y [N,O,OH,OW] ->
 * [O,C/groups,kh,kw] = Σ_n y ⋆ patches(x). */
bm_tensor *bm_conv2d_wgrad(bm_tape *t, bm_tensor *x, bm_tensor *y, size_t kh, size_t kw,
                           const bm_conv_opts *o);

/* x [N,C,W] ⋆ w [O,C/groups,k] (+ b [O], may be NULL) -> [N,O,OW]
 * (torch.nn.functional.conv1d): stride ≥ 1, padding, dilation ≥ 1, groups;
 * its gradient is conv_transpose2d/conv2d_wgrad on H = 1 views. */
bm_tensor *bm_conv1d(bm_tape *t, bm_tensor *x, bm_tensor *w, bm_tensor *b, size_t stride,
                     size_t pad, size_t dilation, size_t groups);

/* ---- pooling (NCHW) ------------------------------------------------------ */
/* Window of a 2-D pool, per axis (H, W). */
typedef struct bm_pool_opts {
    size_t kernel[2], stride[2], pad[2]; /* ≥ 1, ≥ 1, ≤ kernel/2 */
    int count_include_pad;               /* avg: padded zeros count (torch's default) */
} bm_pool_opts;
/* Kernel kh×kw, stride = kernel (torch's default), no padding,
 * count_include_pad on. */
bm_pool_opts bm_pool_defaults(size_t kh, size_t kw);
/* Max over each window of x [N,C,H,W] -> [N,C,OH,OW] (torch max_pool2d,
 * padding never wins); ties: the first maximal element in row-major order
 * gets the gradient, as PyTorch's CPU kernel. */
bm_tensor *bm_max_pool2d(bm_tape *t, bm_tensor *x, const bm_pool_opts *o);
/* max_pool2d's backward primitive: g [N,C,OH,OW] scattered (added) to the
 * argmax of x's windows -> x's shape; no gradient to x. */
bm_tensor *bm_max_pool2d_grad(bm_tape *t, bm_tensor *x, bm_tensor *g, const bm_pool_opts *o);
/* The scatter's adjoint: u [N,C,H,W] read at the argmax of x's windows ->
 * [N,C,OH,OW]; no gradient to x. */
bm_tensor *bm_max_pool2d_gather(bm_tape *t, bm_tensor *x, bm_tensor *u, const bm_pool_opts *o);
/* Mean over each window (torch avg_pool2d; divisor the padded window with
 * count_include_pad, else the part inside the image). */
bm_tensor *bm_avg_pool2d(bm_tape *t, bm_tensor *x, const bm_pool_opts *o);
/* Mean over torch's adaptive windows -> [N,C,oh,ow] (torch
 * adaptive_avg_pool2d); oh = ow = 1 is a global average pool. */
bm_tensor *bm_adaptive_avg_pool2d(bm_tape *t, bm_tensor *x, size_t oh, size_t ow);
/* The adjoint of avg_pool2d (o) or, o NULL, of adaptive_avg_pool2d: g
 * [N,C,OH,OW] spread back over an h×w input -> [N,C,h,w]. */
bm_tensor *bm_avg_pool2d_grad(bm_tape *t, bm_tensor *g, size_t h, size_t w,
                              const bm_pool_opts *o);

/* ---- normalisation (last axis) ----------------------------------------- */
/* (x − mean)/√(var + eps)·w + b over the last axis [..,C]; w and b [C] may
 * be NULL (b only with w) (torch.nn.functional.layer_norm). */
bm_tensor *bm_layer_norm(bm_tape *t, bm_tensor *x, bm_tensor *w, bm_tensor *b, double eps);
/* layer_norm's input gradient as an op (fused): x [..,C], g x's shape,
 * w [C] or NULL -> dX; differentiable again. */
bm_tensor *bm_layer_norm_grad(bm_tape *t, bm_tensor *x, bm_tensor *g, bm_tensor *w, double eps);
/* layer_norm's weight gradient as an op (fused): Σ over rows of g·x̂ -> [C]. */
bm_tensor *bm_layer_norm_wgrad(bm_tape *t, bm_tensor *x, bm_tensor *g, double eps);
/* x/√(mean(x²) + eps)·w over the last axis; w [C] may be NULL (torch.nn.RMSNorm). */
bm_tensor *bm_rms_norm(bm_tape *t, bm_tensor *x, bm_tensor *w, double eps);

/* ---- batch and group normalisation (NCHW) ------------------------------ */
/* Batch normalisation of x [N,C], [N,C,L] or [N,C,H,W] per channel
 * (torch.nn.functional.batch_norm): training normalises with the batch's
 * mean and biased variance and, when running_mean and running_var [C] are
 * given, updates them in the forward: running = (1 − momentum)·running +
 * momentum·stat, the variance unbiased (torch's convention). They are the
 * caller's tensors (not differentiated) and every run of the forward —
 * each replay of the graph, each gradcheck evaluation — updates them again.
 * Evaluation (training 0) normalises with them and needs both. w, b [C]
 * may be NULL (b only with w). */
bm_tensor *bm_batch_norm(bm_tape *t, bm_tensor *x, bm_tensor *running_mean,
                         bm_tensor *running_var, bm_tensor *w, bm_tensor *b, int training,
                         double momentum, double eps);
/* Group normalisation of x [N,C,..] over groups of C/groups channels and
 * the spatial axes (torch.nn.functional.group_norm); w, b [C] may be NULL
 * (b only with w). */
bm_tensor *bm_group_norm(bm_tape *t, bm_tensor *x, size_t groups, bm_tensor *w, bm_tensor *b,
                         double eps);

/* ---- attention ------------------------------------------------------------ */
/* Options of scaled dot-product attention. */
typedef struct bm_sdpa_opts {
    int causal;    /* query i attends to keys j ≤ i (torch's is_causal) */
    double scale;  /* multiplies q·kᵀ; 0: 1/√D */
    int recompute; /* one fused op that keeps no T×S probabilities (one head's
                      at a time); its backward computes them again */
} bm_sdpa_opts;
/* Not causal, scale 1/√D, probabilities kept for the vjp. */
bm_sdpa_opts bm_sdpa_defaults(void);
/* softmax(scale·q·kᵀ)·v for q [..,T,D], k [..,S,D], v [..,S,Dv] with the
 * same leading axes ([B,H]) -> [..,T,Dv]
 * (torch.nn.functional.scaled_dot_product_attention); o NULL for the
 * defaults. Records attention_probs and the product with v (causal_matmul
 * when causal), or with o->recompute the fused op. The causal mask leaves
 * entries out (never −inf), so anomaly detection does not fire. */
bm_tensor *bm_scaled_dot_product_attention(bm_tape *t, bm_tensor *q, bm_tensor *k,
                                           bm_tensor *v, const bm_sdpa_opts *o);
/* Modes of bm_causal_matmul, with L = tril(a) (entries j ≤ i of a's
 * [T,S]; the rest never read). */
enum {
    BM_CAUSAL_LB = 0,  /* α·L·b:        a [..,T,S], b [..,S,N] -> [..,T,N] */
    BM_CAUSAL_LTB = 1, /* α·Lᵀ·b:       a [..,T,S], b [..,T,N] -> [..,S,N] */
    BM_CAUSAL_ABT = 2  /* α·tril(a·bᵀ): a [..,T,N], b [..,S,N] -> [..,T,S] */
};
/* A product with a causal (lower-triangular) matrix by blocks of rows, the
 * masked half skipped; the leading axes of a and b equal. Causal
 * attention's backward primitive; the modes are each other's gradients. */
bm_tensor *bm_causal_matmul(bm_tape *t, bm_tensor *a, bm_tensor *b, int mode, double alpha);
/* The attention probabilities softmax(scale·q·kᵀ) (masked entries 0) ->
 * [..,T,S]: what attention's vjp differentiates through. */
bm_tensor *bm_attention_probs(bm_tape *t, bm_tensor *q, bm_tensor *k, const bm_sdpa_opts *o);

/* ---- losses (scalar outputs, mean over the batch) ---------------------- */
/* Targets: class indices [N] (stored as numbers) or one-hot [N,C]. */
/* Categorical cross-entropy of probabilities [N,C], clipped to
 * [1e-7, 1−1e-7]; gradient −y/ŷ / N. */
bm_tensor *bm_cce(bm_tape *t, bm_tensor *probs, bm_tensor *targets);
/* Fused softmax + CCE from logits [N,C] (log-sum-exp); gradient (ŷ − y)/N. */
bm_tensor *bm_softmax_cce(bm_tape *t, bm_tensor *logits, bm_tensor *targets);
/* The fused loss's backward primitive: (softmax(z)·Σy − y)·g/N for logits
 * z [N,C], targets as bm_softmax_cce's, g a scalar []. */
bm_tensor *bm_softmax_cce_grad(bm_tape *t, bm_tensor *logits, bm_tensor *targets, bm_tensor *g);
/* Binary cross-entropy of probabilities (same shape as targets), mean over
 * every element; clipped like cce. */
bm_tensor *bm_bce(bm_tape *t, bm_tensor *probs, bm_tensor *targets);
/* Mean squared error over every element. */
bm_tensor *bm_mse(bm_tape *t, bm_tensor *pred, bm_tensor *targets);
/* Mean absolute error over every element. */
bm_tensor *bm_mae(bm_tape *t, bm_tensor *pred, bm_tensor *targets);

/* No ignored class (the ignore_index of bm_cross_entropy, bm_nll_loss). */
#define BM_NO_IGNORE (-1e300)
/* Cross-entropy of logits [N,C] with class indices [N], as
 * torch.nn.functional.cross_entropy: rows whose label is ignore_index (or
 * BM_NO_IGNORE) are left out of the mean; smoothing ε in [0, 1) spreads
 * ε/C over the classes. */
bm_tensor *bm_cross_entropy(bm_tape *t, bm_tensor *logits, bm_tensor *targets,
                            double ignore_index, double smoothing);
/* −mean of log_probs[i, y_i] over the rows not ignored (torch nll_loss). */
bm_tensor *bm_nll_loss(bm_tape *t, bm_tensor *log_probs, bm_tensor *targets, double ignore_index);
/* Huber loss, mean over elements (torch.nn.HuberLoss; delta > 0). */
bm_tensor *bm_huber(bm_tape *t, bm_tensor *pred, bm_tensor *targets, double delta);
/* Smooth L1 (torch.nn.SmoothL1Loss): huber(beta)/beta. */
bm_tensor *bm_smooth_l1(bm_tape *t, bm_tensor *pred, bm_tensor *targets, double beta);
/* KL divergence mean(p·(log p − x)) of log-probabilities x against
 * probabilities p (torch kl_div, reduction 'mean'). */
bm_tensor *bm_kl_div(bm_tape *t, bm_tensor *log_probs, bm_tensor *targets);

/* ---- regularization ---------------------------------------------------- */
/* Inverted dropout: zero each element with probability `rate`, scale the
 * rest by 1/(1−rate). The mask is drawn from rng (not owned; must outlive
 * the tape's replays) and saved for backward. */
bm_tensor *bm_dropout(bm_tape *t, bm_tensor *x, double rate, bm_rng *rng);
/* λ·Σ|x| (scalar). */
bm_tensor *bm_l1(bm_tape *t, bm_tensor *x, double lambda);
/* λ·Σx² (scalar). */
bm_tensor *bm_l2(bm_tape *t, bm_tensor *x, double lambda);

/* ---- higher order (built on the ops) ------------------------------------ */

/* Largest element count of a dense Jacobian or Hessian (2^24). */
#define BM_JACOBIAN_MAX ((size_t)1 << 24)

/* Hessian-vector product of a scalar out: results[k] = Σ_j ∂²out/∂x_k∂x_j
 * · v_j, by two reverse passes (the n×n Hessian is never formed). v[k]
 * matches inputs[k]; results land on the tape (create_graph: differentiable
 * again). */
bm_status bm_hvp(bm_tape *tape, bm_tensor *out, bm_tensor *const *inputs, size_t n_inputs,
                 bm_tensor *const *v, int create_graph, bm_tensor **results);
/* Dense Jacobian of out with respect to input: a new caller-owned tensor
 * [out->size, input->size] (free with bm_tensor_free) in *jac, one reverse
 * pass per element of out. For small sizes: BM_ERR_SIZE beyond
 * BM_JACOBIAN_MAX elements. */
bm_status bm_jacobian(bm_tape *tape, bm_tensor *out, bm_tensor *input, bm_tensor **jac,
                      bm_error *err);
/* Dense Hessian of a scalar out with respect to input: a new caller-owned
 * [n, n] tensor (n = input->size) in *hess: the Jacobian of the gradient,
 * which is recorded on the tape with create_graph. */
bm_status bm_hessian(bm_tape *tape, bm_tensor *out, bm_tensor *input, bm_tensor **hess,
                     bm_error *err);

/* Second order, as PyTorch's gradgradcheck: records the first gradient
 * g_k = ∂(w·out)/∂x_k with bm_grad (create_graph; w a seeded weighting that
 * is itself an input), reduces it with seeded random directions v_k to
 * h = Σ v_k·g_k and gradchecks h against inputs and w: the analytic
 * gradient of the first gradient against central differences of it. Same
 * options, result and refusals as bm_gradcheck (res->worst_input ==
 * n_inputs names w). The first gradient stays recorded on the tape. */
bm_status bm_gradgradcheck(bm_tape *tape, bm_tensor *out, bm_tensor *const *inputs,
                           size_t n_inputs, const bm_gradcheck_opts *opts,
                           bm_gradcheck_result *res);

/* ---- the registry ------------------------------------------------------ */
/* Number of ops in ops.def. */
size_t bm_op_count(void);
/* Name of op i (ops.def order), NULL when out of range. */
const char *bm_op_name(size_t i);
/* What op i takes ("a [M,K], b [K,N]"), for documentation and tools. */
const char *bm_op_inputs(size_t i);
/* Op i's gradient formula ("dA = G·Bᵀ, dB = Aᵀ·G"). */
const char *bm_op_gradient(size_t i);

/* ---- self-check -------------------------------------------------------- */
/* The gradcheck of one built-in example of an op. */
typedef struct bm_op_check {
    const char *op;                      /* op name (static) */
    char shapes[64];                     /* input shapes, "[3,4] x [4,5]" */
    bm_gradcheck_result exhaustive;      /* every element */
    bm_gradcheck_result projection;      /* random directions */
    bm_gradcheck_result second;          /* gradgradcheck (order 2 only) */
    int order;                           /* 1, or 2 when second was run */
    int passed;                          /* every check run passed */
} bm_op_check;
/* Gradcheck (F64, exhaustive and projection; with order 2 also
 * gradgradcheck) the built-in examples of op `name`, or of every op when
 * name is NULL. Writes up to max results to out and the number of examples
 * to *n (call with max 0 to count). order must be 1 or 2. */
bm_status bm_op_selfcheck(const char *name, int order, bm_op_check *out, size_t max, size_t *n,
                          bm_error *err);

BM_API_END
#ifdef __cplusplus
}
#endif
#endif
