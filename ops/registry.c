/* registry.c — the op table, generated from ops.def. */
#include "ops_internal.h"

#define BM_OP(name, inputs, grad) extern const bm_op bm_op_##name;
#include "ops.def"
#undef BM_OP

static const bm_op *const op_table[] = {
#define BM_OP(name, inputs, grad) &bm_op_##name,
#include "ops.def"
#undef BM_OP
};

enum { OP_COUNT = sizeof op_table / sizeof op_table[0] };

size_t bm_op_count(void) { return OP_COUNT; }

const bm_op *bm_op_at(size_t i) { return i < OP_COUNT ? op_table[i] : NULL; }

const char *bm_op_name(size_t i) { return i < OP_COUNT ? op_table[i]->name : NULL; }

const bm_op *bm_op_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < OP_COUNT; i++)
        if (strcmp(op_table[i]->name, name) == 0)
            return op_table[i];
    return NULL;
}

static const struct {
    const char *inputs, *gradient;
} op_docs[] = {
#define BM_OP(name, inputs, grad) {inputs, grad},
#include "ops.def"
#undef BM_OP
};

const char *bm_op_inputs(size_t i) { return i < OP_COUNT ? op_docs[i].inputs : NULL; }

const char *bm_op_gradient(size_t i) { return i < OP_COUNT ? op_docs[i].gradient : NULL; }
