/* conv_grad.c — the convolution ops' vjps, FLOP counts and tables, and
 * their builders (conv.c has the shapes and kernels). Each product's vjp is
 * made of the other two, so derivatives of any order close. */
#include <stdio.h>

#include "conv_internal.h"
#include "ops_internal.h"

static const conv_params *cp_of(const bm_node *n) { return n->params; }

extern const bm_op bm_op_conv2d, bm_op_conv_transpose2d, bm_op_conv2d_wgrad;

/* The same geometry with size[] set (output H, W or kernel kh, kw). */
static conv_params with_size(const conv_params *p, size_t a, size_t b)
{
    conv_params q = *p;
    q.size[0] = a;
    q.size[1] = b;
    return q;
}

static bm_tensor *rec2(bm_tape *t, const bm_op *op, bm_tensor *a, bm_tensor *b,
                       const conv_params *p)
{
    bm_tensor *in[2] = {a, b};
    return bm_tape_apply(t, op, in, 2, p);
}

/* dX = conv_transpose2d(G, w), dW = wgrad(x, G), db = Σ over N, H, W. */
static bm_status conv2d_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    bm_tensor *x = n->in[0], *w = n->in[1];
    const conv_params *p = cp_of(n);
    conv_params px = with_size(p, x->shape[2], x->shape[3]), pw = with_size(p, w->shape[2], w->shape[3]);
    if (bm_op_wants_grad(t, n, 0))
        dx[0] = rec2(t, &bm_op_conv_transpose2d, g, w, &px);
    if (bm_op_wants_grad(t, n, 1))
        dx[1] = rec2(t, &bm_op_conv2d_wgrad, x, g, &pw);
    if (n->n_in == 3 && bm_op_wants_grad(t, n, 2)) {
        size_t O = w->shape[0];
        dx[2] = bm_reshape(t, bm_sum_to(t, g, 4, (size_t[]){1, O, 1, 1}), 1, &O);
    }
    return bm_tape_status(t);
}

/* out = convT(y, w): dY = conv2d(U, w), dW = wgrad(U, y). */
static bm_status convt_vjp(bm_tape *t, bm_node *n, bm_tensor *u, bm_tensor **dx)
{
    bm_tensor *y = n->in[0], *w = n->in[1];
    const conv_params *p = cp_of(n);
    conv_params pw = with_size(p, w->shape[2], w->shape[3]);
    if (bm_op_wants_grad(t, n, 0))
        dx[0] = rec2(t, &bm_op_conv2d, u, w, &pw);
    if (bm_op_wants_grad(t, n, 1))
        dx[1] = rec2(t, &bm_op_conv2d_wgrad, u, y, &pw);
    return bm_tape_status(t);
}

/* out = wgrad(x, y): dX = convT(y, U), dY = conv2d(x, U). */
static bm_status wgrad_vjp(bm_tape *t, bm_node *n, bm_tensor *u, bm_tensor **dx)
{
    bm_tensor *x = n->in[0], *y = n->in[1];
    const conv_params *p = cp_of(n);
    conv_params px = with_size(p, x->shape[2], x->shape[3]);
    if (bm_op_wants_grad(t, n, 0))
        dx[0] = rec2(t, &bm_op_conv_transpose2d, y, u, &px);
    if (bm_op_wants_grad(t, n, 1))
        dx[1] = rec2(t, &bm_op_conv2d, x, u, &px);
    return bm_tape_status(t);
}

/* v [A,B,L] viewed as [A,B,L,1], and back. */
static bm_tensor *as4(bm_tape *t, bm_tensor *v)
{
    return bm_reshape(t, v, 4, (size_t[]){v->shape[0], v->shape[1], v->shape[2], 1});
}
static bm_tensor *as3(bm_tape *t, bm_tensor *v)
{
    return v ? bm_reshape(t, v, 3, v->shape) : NULL;
}

/* conv1d is conv2d on [.., W, 1] views: the 2-D vjps on those views. */
static bm_status conv1d_vjp(bm_tape *t, bm_node *n, bm_tensor *g, bm_tensor **dx)
{
    bm_tensor *x = n->in[0], *w = n->in[1], *g4 = as4(t, g);
    const conv_params *p = cp_of(n);
    conv_params px = with_size(p, x->shape[2], 1), pw = with_size(p, w->shape[2], 1);
    if (bm_op_wants_grad(t, n, 0))
        dx[0] = as3(t, rec2(t, &bm_op_conv_transpose2d, g4, as4(t, w), &px));
    if (bm_op_wants_grad(t, n, 1))
        dx[1] = as3(t, rec2(t, &bm_op_conv2d_wgrad, as4(t, x), g4, &pw));
    if (n->n_in == 3 && bm_op_wants_grad(t, n, 2)) {
        size_t O = w->shape[0];
        dx[2] = bm_reshape(t, bm_sum_to(t, g, 3, (size_t[]){1, O, 1}), 1, &O);
    }
    return bm_tape_status(t);
}

/* FLOPs of a product between the [N,O,OH,OW] side y and the kernel w
 * [O,C/g,kh,kw]: a multiply and an add per output element per tap. */
static double conv_flops(const bm_tensor *y, const bm_tensor *w)
{
    return 2.0 * (double)y->size * (double)(w->size / w->shape[0]);
}

static double conv2d_flops(const bm_node *n)
{
    return conv_flops(n->out, n->in[1]) + (n->n_in == 3 ? (double)n->out->size : 0.0);
}

static double convt_flops(const bm_node *n) { return conv_flops(n->in[0], n->in[1]); }

static double wgrad_flops(const bm_node *n) { return conv_flops(n->in[1], n->out); }

static void conv_describe(const bm_node *n, char *buf, size_t len)
{
    const conv_params *p = n->params;
    snprintf(buf, len, "stride %zux%zu, pad %zux%zu, dilation %zux%zu, groups %zu", p->stride[0],
             p->stride[1], p->pad[0], p->pad[1], p->dilation[0], p->dilation[1], p->groups);
}

const bm_op bm_op_conv2d = {
    .name = "conv2d", .arity = BM_OP_VARIADIC, .params_size = sizeof(conv_params),
    .infer = bm_conv_conv2d_infer, .forward = bm_conv_conv2d_forward, .vjp = conv2d_vjp,
    .describe = conv_describe, .flops = conv2d_flops,
};
const bm_op bm_op_conv1d = {
    .name = "conv1d", .arity = BM_OP_VARIADIC, .params_size = sizeof(conv_params),
    .infer = bm_conv_conv2d_infer, .forward = bm_conv_conv2d_forward, .vjp = conv1d_vjp,
    .describe = conv_describe, .flops = conv2d_flops,
};
const bm_op bm_op_conv_transpose2d = {
    .name = "conv_transpose2d", .arity = 2, .params_size = sizeof(conv_params),
    .infer = bm_conv_convt_infer, .forward = bm_conv_convt_forward, .vjp = convt_vjp, .describe = conv_describe,
    .flops = convt_flops,
};
const bm_op bm_op_conv2d_wgrad = {
    .name = "conv2d_wgrad", .arity = 2, .params_size = sizeof(conv_params),
    .flags = BM_OP_ACCUMULATES, .infer = bm_conv_wgrad_infer, .forward = bm_conv_wgrad_forward,
    .vjp = wgrad_vjp, .describe = conv_describe, .flops = wgrad_flops,
};

static conv_params make_params(const bm_conv_opts *o)
{
    bm_conv_opts d = o ? *o : bm_conv_defaults();
    conv_params p = {.stride = {d.stride[0], d.stride[1]}, .pad = {d.pad[0], d.pad[1]},
                     .dilation = {d.dilation[0], d.dilation[1]}, .groups = d.groups,
                     .algo = d.algo};
    return p;
}

bm_conv_opts bm_conv_defaults(void)
{
    bm_conv_opts o = {.stride = {1, 1}, .pad = {0, 0}, .dilation = {1, 1}, .groups = 1,
                      .output_pad = {0, 0}, .algo = BM_CONV_AUTO};
    return o;
}

bm_tensor *bm_conv2d(bm_tape *t, bm_tensor *x, bm_tensor *w, bm_tensor *b, const bm_conv_opts *o)
{
    conv_params p = make_params(o);
    bm_tensor *in[3] = {x, w, b};
    return bm_tape_apply(t, &bm_op_conv2d, in, b ? 3 : 2, &p);
}

bm_tensor *bm_conv_transpose2d(bm_tape *t, bm_tensor *x, bm_tensor *w, const bm_conv_opts *o)
{
    conv_params p = make_params(o);
    bm_conv_opts d = o ? *o : bm_conv_defaults();
    if (x && w && x->rank == 4 && w->rank == 4)
        for (int a = 0; a < 2; a++) {
            /* torch: (in − 1)·s − 2p + d(k − 1) + output_pad + 1 */
            size_t full = (x->shape[2 + a] - 1) * d.stride[a] + d.dilation[a] * (w->shape[2 + a] - 1) +
                          d.output_pad[a] + 1;
            p.size[a] = full > 2 * d.pad[a] ? full - 2 * d.pad[a] : 0;
        }
    bm_tensor *in[2] = {x, w};
    return bm_tape_apply(t, &bm_op_conv_transpose2d, in, 2, &p);
}

bm_tensor *bm_conv2d_wgrad(bm_tape *t, bm_tensor *x, bm_tensor *y, size_t kh, size_t kw,
                           const bm_conv_opts *o)
{
    conv_params p = make_params(o);
    p.size[0] = kh;
    p.size[1] = kw;
    return rec2(t, &bm_op_conv2d_wgrad, x, y, &p);
}

bm_tensor *bm_conv1d(bm_tape *t, bm_tensor *x, bm_tensor *w, bm_tensor *b, size_t stride,
                     size_t pad, size_t dilation, size_t groups)
{
    /* the length is conv2d's H of [N,C,W,1] */
    conv_params p = {.stride = {stride, 1}, .pad = {pad, 0}, .dilation = {dilation, 1},
                     .groups = groups};
    bm_tensor *in[3] = {x, w, b};
    return bm_tape_apply(t, &bm_op_conv1d, in, b ? 3 : 2, &p);
}
