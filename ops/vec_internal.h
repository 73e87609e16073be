/* vec_internal.h — the elementwise kernels at full vector width, chosen at
 * run time (not installed).
 *
 * The kernels listed in vec_kernels.def are plain C templates compiled once
 * per instruction set: vec_portable.c (the baseline the library is built
 * for), vec_avx2.c and vec_avx512.c (the same source under GCC target
 * pragmas, so the vectoriser uses 8- and 16-lane registers). Each file
 * exports one static const table of function pointers; bm_vec returns the
 * table of the widest path this CPU runs, asked anew on each call
 * (__builtin_cpu_supports is a few loads), so nothing is cached and there is
 * no global state — as bm_gemm does.
 *
 * Same bits on every path: the source uses no FMA intrinsics and C11 mode
 * does not contract a·b + c, every sum runs in an order the source fixes
 * (partial sums in BM_VEC_LANES lanes, combined as a tree, never left to
 * the vectoriser), and exp/log for float are vmath_internal.h's
 * branch-free formulas rather than libm calls; tests/test_vec.c checks that
 * every kernel gives the same bits on each path this CPU has.
 *
 * Tests force a path with bm_vec_isa_kernels (the test-only form). */
#ifndef BM_VEC_INTERNAL_H
#define BM_VEC_INTERNAL_H

#include <stddef.h>

#include "ops_internal.h"

/* 1 where the x86 paths (GCC/Clang target pragmas) are built in. */
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define BM_VEC_X86 1
#else
#define BM_VEC_X86 0
#endif

/* Partial sums of a row reduction (a power of two; the same on every path). */
#define BM_VEC_LANES 16

/* The paths, narrowest first. */
typedef enum bm_vec_isa {
    BM_VEC_AUTO = 0, /* the widest available */
    BM_VEC_PORTABLE, /* the build's baseline (x86-64: SSE2) */
    BM_VEC_AVX2,     /* AVX2, 8 float lanes */
    BM_VEC_AVX512,   /* AVX-512F, 16 float lanes */
    BM_VEC_ISA_COUNT
} bm_vec_isa;

/* The layouts of a binary op with a loop of their own (no index arithmetic):
 * both operands out's shape; b (or a) one row [N] over the other [..,N], as
 * a dense layer's bias; anything else by broadcast strides. */
enum { BM_BIN_SAME, BM_BIN_ROW_B, BM_BIN_ROW_A, BM_BIN_GENERIC };

/* How a binary op's a and b map onto out: the layout, out's size and last
 * axis, and the broadcast strides (BM_BIN_GENERIC only). */
typedef struct bm_binary_shape {
    int layout;
    size_t size, N;
    bm_bcast bc;
} bm_binary_shape;

/* Is v a class index of 0..C-1? (the class losses' targets) */
static inline int bm_is_class(double v, size_t C)
{
    return v >= 0.0 && v < (double)C && v == (double)(long)v;
}

/* The parameters of elementwise.c's ops (slope, alpha, beta; softplus
 * threshold; gelu's form). */
typedef struct bm_elem_params {
    double a, b;
    int mode; /* gelu: BM_GELU_ERF or BM_GELU_TANH */
} bm_elem_params;

enum { BM_GELU_ERF = 0, BM_GELU_TANH = 1 };

/* √½, √(2/π), 2/√π, 1/√(2π), and the cubic coefficient of tanh-GELU. */
#define BM_SQRT1_2 0.70710678118654752440
#define BM_GELU_K 0.79788456080286535588
#define BM_TWO_OVER_SQRT_PI 1.12837916709551257390
#define BM_INV_SQRT_2PI 0.39894228040143267794
#define BM_GELU_C 0.044715

/* One path's kernels for float (vec_kernels.def, T = float). */
#define T float
typedef struct bm_vec_f32 {
#define BM_VEC(ret, name, params) ret(*name) params;
#include "vec_kernels.def"
#undef BM_VEC
} bm_vec_f32;
#undef T

/* One path's kernels for double. */
#define T double
typedef struct bm_vec_f64 {
#define BM_VEC(ret, name, params) ret(*name) params;
#include "vec_kernels.def"
#undef BM_VEC
} bm_vec_f64;
#undef T

/* One path: its name and its kernels for both element types. */
typedef struct bm_vec_kernels {
    const char *name;
    bm_vec_f32 f32;
    bm_vec_f64 f64;
} bm_vec_kernels;

/* The tables of each file (NULL where not built in). They do not ask the
 * CPU; bm_vec_isa_available does. */
const bm_vec_kernels *bm_vec_portable_kernels(void);
const bm_vec_kernels *bm_vec_avx2_kernels(void);
const bm_vec_kernels *bm_vec_avx512_kernels(void);

/* 1 if this build and CPU can run isa (BM_VEC_AUTO: always 1). */
int bm_vec_isa_available(bm_vec_isa isa);

/* The path BM_VEC_AUTO resolves to on this CPU. */
bm_vec_isa bm_vec_isa_best(void);

/* The kernels of path isa (BM_VEC_AUTO: the widest), NULL where this build
 * or CPU lacks it. Test-only: the ops use bm_vec. */
const bm_vec_kernels *bm_vec_isa_kernels(bm_vec_isa isa);

/* The kernels of the widest path this CPU runs (never NULL). */
const bm_vec_kernels *bm_vec(void);

#endif
