/* test_add2_kind.h — a test-local layer kind, "add2" (a + b, two inputs of
 * one shape, no parameters), written against the public layer interface
 * (bm_layer.h); test_model_graph.c and test_model_io_v2.c build and load
 * graph models through it. */
#ifndef BM_TEST_ADD2_KIND_H
#define BM_TEST_ADD2_KIND_H

#include <string.h>

#include "test_util.h"

/* Both inputs must have the same shape; the output has it too. */
static bm_status add2_infer(const bm_layer_spec *s, const bm_shape *in, size_t n_in,
                            bm_shape *out, bm_error *err)
{
    (void)s;
    (void)n_in;
    if (in[0].rank != in[1].rank || memcmp(in[0].dim, in[1].dim, sizeof(size_t) *
                                           (size_t)in[0].rank) != 0)
        return bm_error_set(err, BM_ERR_SHAPE, "add2: inputs of different shapes");
    *out = in[0];
    return BM_OK;
}

/* add2 has no parameters. */
static size_t add2_params(const bm_layer_spec *s, const bm_shape *in, size_t n_in,
                          bm_param_desc *out)
{
    (void)s;
    (void)in;
    (void)n_in;
    (void)out;
    return 0;
}

/* a + b on the tape. */
static bm_tensor *add2_record(bm_tape *t, const bm_layer_call *c)
{
    return bm_add(t, c->in[0], c->in[1]);
}

static const char *const add2_keys[] = {NULL};
/* The add2 kind's vtable. */
static const bm_layer_vt add2_vt = {
    .name = "add2", .summary = "a + b", .min_inputs = 2, .max_inputs = 2, .keys = add2_keys,
    .infer = add2_infer, .params = add2_params, .record = add2_record,
};

#endif
