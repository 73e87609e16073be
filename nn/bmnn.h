/* bmnn.h — the umbrella header: everything public in bmnn. */
#ifndef BMNN_H
#define BMNN_H

#include "bm_autograd.h"
#include "bm_op.h"
#include "bm_ops.h"
#include "bm_data.h"
#include "bm_optim.h"
#include "bm_layer.h"
#include "bm_model.h"
#include "bm_model_io.h"
#include "bm_dist.h"
#include "bm_npz.h"
#include "bm_file.h"
#include "bm_text.h"
#include "bm_generate.h"

#ifdef __cplusplus
extern "C" {
#endif
BM_API_BEGIN

/* Write "blas=yes|no gemm=avx512|avx2|portable" (the GEMM kernel this CPU
 * runs, chosen at run time) into buf, snprintf-style: returns the length
 * the whole string needs; buf may be NULL when len is 0. */
size_t bm_build_features(char *buf, size_t len);

BM_API_END
#ifdef __cplusplus
}
#endif
#endif
