/* bmnn.h — the umbrella header: everything public in bmnn. */
#ifndef BMNN_H
#define BMNN_H

#include "bm_autograd.h"
#include "bm_op.h"
#include "bm_ops.h"
#include "bm_data.h"
#include "bm_optim.h"
#include "bm_model.h"
#include "bm_model_io.h"
#include "bm_file.h"

#endif
