/* vec.c — which elementwise path runs: the widest this CPU has, asked on
 * each call (see vec_internal.h). */
#include "vec_internal.h"

int bm_vec_isa_available(bm_vec_isa isa)
{
    switch (isa) {
    case BM_VEC_AUTO:
    case BM_VEC_PORTABLE:
        return 1;
#if BM_VEC_X86
    case BM_VEC_AVX2:
        return __builtin_cpu_supports("avx2");
    case BM_VEC_AVX512:
        return __builtin_cpu_supports("avx512f");
#endif
    default:
        return 0;
    }
}

bm_vec_isa bm_vec_isa_best(void)
{
    if (bm_vec_isa_available(BM_VEC_AVX512))
        return BM_VEC_AVX512;
    if (bm_vec_isa_available(BM_VEC_AVX2))
        return BM_VEC_AVX2;
    return BM_VEC_PORTABLE;
}

const bm_vec_kernels *bm_vec_isa_kernels(bm_vec_isa isa)
{
    if (isa == BM_VEC_AUTO)
        isa = bm_vec_isa_best();
    if (!bm_vec_isa_available(isa))
        return NULL;
    switch (isa) {
    case BM_VEC_AVX2:
        return bm_vec_avx2_kernels();
    case BM_VEC_AVX512:
        return bm_vec_avx512_kernels();
    default:
        return bm_vec_portable_kernels();
    }
}

const bm_vec_kernels *bm_vec(void)
{
    const bm_vec_kernels *k = bm_vec_isa_kernels(BM_VEC_AUTO);
    return k ? k : bm_vec_portable_kernels();
}
