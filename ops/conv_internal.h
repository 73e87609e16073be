/* conv_internal.h — shared by conv.c (shapes, kernels) and conv_grad.c
 * (vjps, op tables, builders); not installed. */
#ifndef BM_CONV_INTERNAL_H
#define BM_CONV_INTERNAL_H

#include <stddef.h>

#include "bm_op.h"
#include "bm_ops.h"

/* The geometry of a convolution node. */
typedef struct conv_params {
    size_t stride[2], pad[2], dilation[2], groups;
    size_t size[2];   /* conv_transpose2d: the output's H, W; wgrad: kh, kw */
    bm_conv_algo algo; /* bm_conv_opts.algo */
} conv_params;

/* infer and forward of conv2d (and conv1d), conv_transpose2d, conv2d_wgrad. */
int bm_conv_conv2d_infer(bm_tape *tape, bm_node *n);
void bm_conv_conv2d_forward(bm_tape *tape, bm_node *n);
int bm_conv_convt_infer(bm_tape *tape, bm_node *n);
void bm_conv_convt_forward(bm_tape *tape, bm_node *n);
int bm_conv_wgrad_infer(bm_tape *tape, bm_node *n);
void bm_conv_wgrad_forward(bm_tape *tape, bm_node *n);

/* The kernels of conv_direct.c (few input channels, batch-lane layout), for
 * the node kinds: */
enum { BM_CONV_DIRECT_FWD, BM_CONV_DIRECT_DX, BM_CONV_DIRECT_DW };
/* 1 if the direct path takes a node of kind with these sizes (images,
 * channels per group in and out, taps C/g·kh·kw) in dt on a CPU it runs on. */
int bm_conv_direct_fits(bm_dtype dt, int kind, size_t N, size_t cg, size_t og, size_t K);
/* 1 if this build and CPU run the direct path (x86 with AVX2 and FMA). */
int bm_conv_direct_cpu(void);
/* Set n->scratch_bytes for the direct path when it takes node n as kind
 * (conv2d, conv_transpose2d, conv2d_wgrad); else leave it. */
void bm_conv_direct_size(const bm_tape *tape, bm_node *n, int kind);
/* Run node n on the direct path: 1 if it did (its scratch sized by
 * bm_conv_direct_size), 0 when the GEMM path must. */
int bm_conv_direct_run(bm_tape *tape, bm_node *n, int kind);
/* Winograd F(4×4,3×3) (conv_winograd.c) for conv2d, conv_transpose2d and
 * conv2d_wgrad nodes: 1 if node n runs on it (3×3, stride 1, dilation 1,
 * one group; auto: both channel counts ≥ 16); the scratch it needs; its
 * forward. */
int bm_conv_winograd_ok(const bm_node *n);
size_t bm_conv_winograd_scratch(const bm_tape *tape, const bm_node *n);
void bm_conv_winograd_forward(bm_tape *tape, bm_node *n);

#endif
