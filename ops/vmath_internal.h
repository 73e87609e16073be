/* vmath_internal.h — e^x, log x, tanh x and erf x for float in plain C that
 * the compiler vectorises (not installed).
 *
 * libm's expf and logf are calls the vectoriser cannot see through, so a
 * loop over them runs one element at a time. These are written branch-free
 * (selects, integer bit operations on the float's representation), so GCC
 * turns a loop calling them into full-width vector code, and because they
 * use no FMA and no reassociation (C11 mode: -ffp-contract=off), every
 * instruction set computes the same bits (the portable, AVX2 and AVX-512
 * copies of vec_kernels.inc agree exactly).
 *
 * Accuracy (tests/test_vmath.c sweeps the whole float range against libm):
 * at most 2 ulp for every finite input, exact at the special values
 * (e^±0 = 1, e^−∞ = 0, e^+∞ = +∞, log 1 = 0, log ±0 = −∞, log x<0 = NaN,
 * log +∞ = +∞, NaN → NaN), overflow to +∞ and underflow through the
 * subnormals to 0 at the same thresholds as libm up to those 2 ulp.
 *
 * Method. e^x: x = n·ln2 + r with n = round(x/ln2) (the 1.5·2²³ shift
 * trick), ln2 in two parts (Cody and Waite) so n·LN2_HI is exact, e^r by its
 * Taylor polynomial of degree 7 (|r| <= ln2/2: truncation below 0.15 ulp),
 * then 2ⁿ applied as two exact powers of two so subnormal results round
 * once. log x: x = 2ᵉ·m with m in [√½, √2), f = m − 1, s = f/(2 + f),
 * log m = f − (f²/2 − s·(f²/2 + R(s²))) with R the atanh series' tail
 * (the fdlibm arrangement), plus e·ln2 in two parts; subnormal x is scaled
 * by 2²³ first. Only float: double keeps libm (exact to 1 ulp already, and
 * the gradient checks compare double results to 1e-15). */
#ifndef BM_VMATH_INTERNAL_H
#define BM_VMATH_INTERNAL_H

#include <stdint.h>
#include <string.h>

/* Constants of both functions (float bit patterns and thresholds). */
#define BM_VM_LOG2E 1.44269504088896341f     /* 1/ln 2 */
#define BM_VM_LN2_HI 0.693359375f            /* ln 2, leading 9 bits: n·LN2_HI exact */
#define BM_VM_LN2_LO (-2.12194440e-4f)       /* ln 2 − LN2_HI */
#define BM_VM_SHIFT 12582912.0f              /* 1.5·2²³: x + SHIFT rounds x to an integer */
#define BM_VM_EXP_HI 89.0f                   /* above ln FLT_MAX: e^x is +∞ from here on */
#define BM_VM_EXP_LO (-104.0f)               /* below ln(min subnormal / 2): e^x is 0 */
#define BM_VM_EXP_NMIN (-151)                /* n = round(x/ln 2) over [EXP_LO, EXP_HI] */
#define BM_VM_EXP_NMAX 129
#define BM_VM_SQRT_HALF_BITS 0x3f3504f3      /* √½ as float bits: log's mantissa range starts here */
#define BM_VM_MANT_MASK 0x007fffff           /* a float's 23 mantissa bits */
#define BM_VM_MANT_BITS 23
#define BM_VM_EXP_BIAS 127
#define BM_VM_INF_BITS 0x7f800000           /* +∞ */
#define BM_VM_NAN_BITS 0x7fc00000           /* the default quiet NaN */
#define BM_VM_MIN_NORMAL 1.17549435e-38f     /* FLT_MIN */
#define BM_VM_SUBNORMAL_SCALE 8388608.0f     /* 2²³: lifts a subnormal into the normals */

/* Taylor coefficients 1/k! of e^r, k = 2..7. */
#define BM_VM_E2 0.5f
#define BM_VM_E3 0.166666672f
#define BM_VM_E4 0.0416666679f
#define BM_VM_E5 0.00833333377f
#define BM_VM_E6 0.00138888892f
#define BM_VM_E7 0.000198412701f
/* atanh series: log m = 2s + 2s³/3 + 2s⁵/5 + ...; R(z) = z·(2/3 + z·(2/5 + z·(2/7 + z·2/9))). */
#define BM_VM_L3 0.666666687f
#define BM_VM_L5 0.400000006f
#define BM_VM_L7 0.285714298f
#define BM_VM_L9 0.222222224f

static inline int32_t bm_vm_bits(float x)
{
    int32_t i;
    memcpy(&i, &x, sizeof i);
    return i;
}

static inline float bm_vm_float(int32_t i)
{
    float x;
    memcpy(&x, &i, sizeof x);
    return x;
}

/* e^x for float, ≤ 2 ulp, vectorisable (see above). */
static inline float bm_expf(float x)
{
    float xc = x > BM_VM_EXP_HI ? BM_VM_EXP_HI : x; /* NaN passes both clamps */
    xc = xc < BM_VM_EXP_LO ? BM_VM_EXP_LO : xc;
    const float t = xc * BM_VM_LOG2E + BM_VM_SHIFT;
    const float n = t - BM_VM_SHIFT;
    int32_t ni = bm_vm_bits(t) - bm_vm_bits(BM_VM_SHIFT);
    ni = ni < BM_VM_EXP_NMIN ? BM_VM_EXP_NMIN : ni; /* only NaN is outside: keeps the */
    ni = ni > BM_VM_EXP_NMAX ? BM_VM_EXP_NMAX : ni; /* shifts below defined */
    const float r = (xc - n * BM_VM_LN2_HI) - n * BM_VM_LN2_LO;
    float q = BM_VM_E6 + r * BM_VM_E7;
    q = BM_VM_E5 + r * q;
    q = BM_VM_E4 + r * q;
    q = BM_VM_E3 + r * q;
    q = BM_VM_E2 + r * q;
    const float p = 1.0f + (r + (r * r) * q);
    const int32_t n1 = ni >> 1, n2 = ni - n1; /* 2ⁿ = 2^n1 · 2^n2, both normal */
    const float s1 = bm_vm_float((n1 + BM_VM_EXP_BIAS) << BM_VM_MANT_BITS);
    const float s2 = bm_vm_float((n2 + BM_VM_EXP_BIAS) << BM_VM_MANT_BITS);
    return (p * s1) * s2;
}

/* log x for float, ≤ 2 ulp, vectorisable (see above). */
static inline float bm_logf(float x)
{
    const int sub = x < BM_VM_MIN_NORMAL;
    const float xl = x * BM_VM_SUBNORMAL_SCALE; /* every value computed, then selected: */
    const float xs = sub ? xl : x;               /* no branch for the vectoriser to refuse */
    /* unsigned: a negative x's bits would overflow int32 (its result is NaN anyway) */
    const uint32_t ix = (uint32_t)bm_vm_bits(xs) - (uint32_t)BM_VM_SQRT_HALF_BITS;
    const int32_t e = ((int32_t)ix >> BM_VM_MANT_BITS) - (sub ? BM_VM_MANT_BITS : 0);
    const float m = bm_vm_float((int32_t)((ix & BM_VM_MANT_MASK) + BM_VM_SQRT_HALF_BITS));
    const float f = m - 1.0f;
    const float s = f / (2.0f + f);
    const float z = s * s;
    float R = BM_VM_L7 + z * BM_VM_L9;
    R = BM_VM_L5 + z * R;
    R = BM_VM_L3 + z * R;
    R = z * R;
    const float hf = 0.5f * f * f;
    const float fe = (float)e;
    const float y = fe * BM_VM_LN2_HI - ((hf - (s * (hf + R) + fe * BM_VM_LN2_LO)) - f);
    /* the special values: +∞ and NaN as they are, 0 → −∞, negative → NaN */
    const float inf = bm_vm_float(BM_VM_INF_BITS), nan = bm_vm_float(BM_VM_NAN_BITS);
    float out = x == 0.0f ? -inf : y;
    out = x < 0.0f ? nan : out;
    out = (x != x || x == inf) ? x : out;
    return out;
}

/* Taylor coefficients of tanh x = x + x³·(T3 + x²·(T5 + ...)), for |x| < TANH_SMALL. */
#define BM_VM_TANH_SMALL 0.625f
#define BM_VM_T3 (-0.333333343f)
#define BM_VM_T5 0.133333340f
#define BM_VM_T7 (-0.0539682545f)
#define BM_VM_T9 0.0218694881f
#define BM_VM_T11 (-0.00886323582f)
#define BM_VM_T13 0.00359212793f
#define BM_VM_T15 (-0.00145583437f)
#define BM_VM_T17 0.000590027426f
#define BM_VM_SIGN_BIT ((int32_t)0x80000000u)

/* tanh x for float, vectorisable: the odd Taylor polynomial below
 * TANH_SMALL, 1 − 2/(e^{2|x|} + 1) above (no cancellation there: the result
 * is at least 0.55), the sign put back; tests/test_vmath.c bounds its error. */
static inline float bm_tanhf(float x)
{
    const int32_t sign = bm_vm_bits(x) & BM_VM_SIGN_BIT;
    const float a = bm_vm_float(bm_vm_bits(x) & ~BM_VM_SIGN_BIT);
    const float z = a * a;
    float q = BM_VM_T15 + z * BM_VM_T17;
    q = BM_VM_T13 + z * q;
    q = BM_VM_T11 + z * q;
    q = BM_VM_T9 + z * q;
    q = BM_VM_T7 + z * q;
    q = BM_VM_T5 + z * q;
    q = BM_VM_T3 + z * q;
    const float small = a + a * (z * q);
    const float large = 1.0f - 2.0f / (bm_expf(a + a) + 1.0f);
    const float t = a < BM_VM_TANH_SMALL ? small : large;
    return bm_vm_float(bm_vm_bits(t) | sign);
}

/* erf x = x·P(x²) for |x| < ERF_SPLIT, evaluated as x + x·(P − 1) (P fitted by relative least squares
 * on Chebyshev nodes); above it 1 − e^{−x²}·Q(1/|x|), Q fitted alike to
 * erfc(x)·e^{x²} over [ERF_SPLIT, 3.92] (erf rounds to 1 past that, where Q's
 * term vanishes on its own). */
#define BM_VM_ERF_SPLIT 1.0f
#define BM_VM_EP0 0.128379167f /* 2/√π − 1: erf x = x + x·(P − 1), the x exact */
#define BM_VM_EP1 (-0.376126289f)
#define BM_VM_EP2 0.112836123f
#define BM_VM_EP3 (-0.0268548075f)
#define BM_VM_EP4 0.00519004976f
#define BM_VM_EP5 (-0.000802431663f)
#define BM_VM_EP6 7.89806872e-05f
#define BM_VM_EQ0 0.000345151115f
#define BM_VM_EQ1 0.557808459f
#define BM_VM_EQ2 0.0505990274f
#define BM_VM_EQ3 (-0.504606307f)
#define BM_VM_EQ4 0.573308349f
#define BM_VM_EQ5 (-0.351445526f)
#define BM_VM_EQ6 0.118997678f
#define BM_VM_EQ7 (-0.0174232535f)

/* erf x for float, vectorisable: both pieces above computed for every x and
 * one selected (no branch), the sign put back; tests/test_vec.c bounds its
 * error against libm. */
static inline float bm_erff(float x)
{
    const int32_t sign = bm_vm_bits(x) & BM_VM_SIGN_BIT;
    const float a = bm_vm_float(bm_vm_bits(x) & ~BM_VM_SIGN_BIT);
    const float z = a * a;
    float p = BM_VM_EP5 + z * BM_VM_EP6;
    p = BM_VM_EP4 + z * p;
    p = BM_VM_EP3 + z * p;
    p = BM_VM_EP2 + z * p;
    p = BM_VM_EP1 + z * p;
    p = BM_VM_EP0 + z * p;
    const float small = a + a * p;
    const float r = 1.0f / (a < BM_VM_ERF_SPLIT ? BM_VM_ERF_SPLIT : a);
    float q = BM_VM_EQ6 + r * BM_VM_EQ7;
    q = BM_VM_EQ5 + r * q;
    q = BM_VM_EQ4 + r * q;
    q = BM_VM_EQ3 + r * q;
    q = BM_VM_EQ2 + r * q;
    q = BM_VM_EQ1 + r * q;
    q = BM_VM_EQ0 + r * q;
    const float large = 1.0f - bm_expf(-z) * q;
    const float e = a < BM_VM_ERF_SPLIT ? small : large;
    return bm_vm_float(bm_vm_bits(e) | sign);
}

#endif
