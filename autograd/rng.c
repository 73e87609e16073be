/* rng.c — xoshiro256** seeded by splitmix64; state is caller-owned. */
#include <math.h>

#include "bm_autograd.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void bm_rng_seed(bm_rng *r, uint64_t seed)
{
    if (!r)
        return;
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

uint64_t bm_rng_next(bm_rng *r)
{
    if (!r)
        return 0;
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double bm_rng_uniform(bm_rng *r)
{
    if (!r)
        return 0.0;
    /* 53 random mantissa bits. */
    return (double)(bm_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

double bm_rng_normal(bm_rng *r)
{
    const double two_pi = 6.283185307179586476925286766559;
    if (!r)
        return 0.0;
    double u1 = 1.0 - bm_rng_uniform(r); /* (0, 1]: log is finite */
    double u2 = bm_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(two_pi * u2);
}

uint64_t bm_rng_below(bm_rng *r, uint64_t n)
{
    if (!r || n == 0)
        return 0;
    /* Rejection sampling: unbiased for any n. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do {
        x = bm_rng_next(r);
    } while (x >= limit);
    return x % n;
}
