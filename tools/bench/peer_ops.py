"""peer_ops.py -- bmnn-bench's workload O (bench_ops.c) in PyTorch: each op's
forward and the backward of sum(out * R) for a fixed random R, float32, with
every input requiring a gradient. Labels and shapes match bench_ops.c's."""

# label -> (op, input shapes, keyword arguments)
OPS = {
    "conv LeNet-1 b64": ("conv2d", [(64, 1, 28, 28), (6, 1, 5, 5), (6,)], {}),
    "conv LeNet-2 b64": ("conv2d", [(64, 6, 14, 14), (16, 6, 5, 5), (16,)], {}),
    "conv 3x3 64ch 32x32 b32": ("conv2d", [(32, 64, 32, 32), (64, 64, 3, 3), (64,)],
                                {"padding": 1}),
    "layer_norm 8192x256": ("layer_norm", [(8192, 256), (256,), (256,)], {}),
    "batch_norm 32x64x16x16": ("batch_norm", [(32, 64, 16, 16), (64,), (64,)], {}),
    "bmm 8x128x64 . 8x64x128": ("bmm", [(8, 128, 64), (8, 64, 128)], {}),
    "attention 8x4x128x32 causal": ("sdpa", [(8, 4, 128, 32)] * 3, {"is_causal": True}),
}


def torch_op(torch, label):
    """A step function: zero the inputs' gradients, forward, backward."""
    import torch.nn.functional as F
    op, shapes, kw = OPS[label]
    xs = [torch.randn(*s, requires_grad=True) for s in shapes]
    if op == "conv2d":
        def f():
            return F.conv2d(xs[0], xs[1], xs[2], **kw)
    elif op == "layer_norm":
        def f():
            return F.layer_norm(xs[0], shapes[0][-1:], xs[1], xs[2], 1e-5)
    elif op == "batch_norm":  # training; the running statistics without gradients
        rm, rv = torch.zeros(shapes[1]), torch.ones(shapes[1])

        def f():
            return F.batch_norm(xs[0], rm, rv, xs[1], xs[2], True, 0.1, 1e-5)
    elif op == "bmm":
        def f():
            return torch.bmm(xs[0], xs[1])
    elif hasattr(F, "scaled_dot_product_attention"):
        def f():
            return F.scaled_dot_product_attention(xs[0], xs[1], xs[2], **kw)
    else:  # torch < 2.0 (Debian's 1.13): the same in torch ops, the mask as -inf
        T, S, D = shapes[0][-2], shapes[1][-2], shapes[0][-1]
        keep = torch.ones(T, S, dtype=torch.bool).tril()

        def f():
            s = xs[0] @ xs[1].transpose(-2, -1) * D ** -0.5
            if kw.get("is_causal"):
                s = s.masked_fill(~keep, float("-inf"))
            return torch.softmax(s, -1) @ xs[2]
    seed = torch.randn_like(f())

    def step():
        for x in xs:
            x.grad = None
        f().backward(seed)
    return step
