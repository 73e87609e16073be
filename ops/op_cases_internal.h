/* op_cases_internal.h — the per-op gradcheck examples (not installed). */
#ifndef BM_OP_CASES_INTERNAL_H
#define BM_OP_CASES_INTERNAL_H

#include "ops_internal.h"

enum dom { ANY, POS, PROB };                     /* input value ranges */
enum tgt { NONE, IDX, ONEHOT, SAME01, SAMEANY }; /* the non-differentiable target */

typedef bm_tensor *(*build_fn)(bm_tape *t, bm_tensor *const *in, bm_tensor *y, bm_rng *r);

/* Case flags: the op has no gradient (its output never requires one): the
 * tests check that, and its values, instead of a gradcheck. */
enum { CASE_NODIFF = 1u << 0 };

/* One example: op name, builder, input ranks/shapes, domain, target kind,
 * flags. */
typedef struct bm_op_case bm_op_case;
struct bm_op_case {
    const char *op;
    build_fn build;
    int n_in;
    int rank[BM_MAX_INPUTS];
    size_t shape[BM_MAX_INPUTS][BM_MAX_RANK];
    enum dom dom;
    enum tgt tgt;
    unsigned flags;
};

/* The families of examples, one table each (op_cases_<family>.c defines
 * bm_op_cases_<family>[] and bm_op_cases_<family>_n). A new family: one
 * file and one entry here. */
#define BM_OP_CASE_TABLES BM_OP_CASE_TABLE(core) BM_OP_CASE_TABLE(shape) BM_OP_CASE_TABLE(nn)
#define BM_OP_CASE_TABLE(family) \
    extern const bm_op_case bm_op_cases_##family[]; \
    extern const size_t bm_op_cases_##family##_n;
BM_OP_CASE_TABLES
#undef BM_OP_CASE_TABLE

/* A builder whose body is one expression of the tape t, the inputs in[],
 * the target y and the dropout rng r. */
#define B1(name, expr) \
    static bm_tensor *b_##name(bm_tape *t, bm_tensor *const *in, bm_tensor *y, bm_rng *r) \
    {                                                                                \
        (void)y, (void)r;                                                            \
        return expr;                                                                 \
    }

/* Input counts, ranks and shapes of a case: S1(rank, dims...) for one input,
 * S2/S3(ranks..., SH(dims)...) for two or three. */
#define S1(r0, ...) 1, {r0, 0}, {{__VA_ARGS__}, {0}}
#define S2(r0, r1, s0, s1) 2, {r0, r1}, {s0, s1}
#define S3(r0, r1, r2, s0, s1, s2) 3, {r0, r1, r2}, {s0, s1, s2}
#define SH(...) {__VA_ARGS__}

/* Number of examples (several per op). */
size_t bm_op_case_count(void);
/* Example i, NULL when out of range. */
const bm_op_case *bm_op_case_at(size_t i);
/* Fill x with values of domain d (away from 0 for ANY). */
void bm_op_case_fill(bm_tensor *x, enum dom d, bm_rng *r);
/* The target tensor of case c for predictions shaped like in0 (NULL: none). */
bm_tensor *bm_op_case_target(bm_tape *t, const bm_op_case *c, const bm_tensor *in0, bm_rng *r);
/* Record example c in dtype dt: inputs (requiring grad) land in in[0..n_in)
 * (in has BM_MAX_INPUTS entries).
 * Returns the op's output or NULL (tape error set). */
bm_tensor *bm_op_case_record(bm_tape *t, const bm_op_case *c, bm_dtype dt, bm_tensor **in,
                             bm_rng *vals, bm_rng *drop);
/* "[3,4] x [4,5]" into buf. */
char *bm_op_case_shapes(const bm_op_case *c, char *buf, size_t len);

#endif
