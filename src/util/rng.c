// rng.c: PCG32 (XSH-RR output), see rng.h.
#include "util/rng.h"

#include "util/util.h"

uint32_t sf_rng_u32(sf_rng *r) {
    uint64_t old = r->state;
    r->state = old * 6364136223846793005ULL + r->inc;
    uint32_t xorshifted = (uint32_t)(((old >> 18) ^ old) >> 27);
    uint32_t rot = (uint32_t)(old >> 59);
    return (xorshifted >> rot) | (xorshifted << ((-rot) & 31));
}

void sf_rng_seed(sf_rng *r, uint64_t seed, uint64_t stream) {
    r->state = 0;
    r->inc = (stream << 1) | 1u;
    sf_rng_u32(r);
    r->state += seed;
    sf_rng_u32(r);
}

float sf_rng_uniform(sf_rng *r) { return (float)(sf_rng_u32(r) >> 8) * (1.0f / 16777216.0f); }

float sf_rng_uniform_range(sf_rng *r, float lo, float hi) { return lo + (hi - lo) * sf_rng_uniform(r); }

uint32_t sf_rng_below(sf_rng *r, uint32_t n) {
    if (n <= 1) return 0;
    uint32_t threshold = (uint32_t)(-n) % n;  // reject the short top range
    for (;;) {
        uint32_t x = sf_rng_u32(r);
        if (x >= threshold) return x % n;
    }
}

static uint64_t splitmix(uint64_t z) {
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t sf_hash64(uint64_t a, uint64_t b, uint64_t c) { return splitmix(splitmix(splitmix(a) ^ b) ^ c); }

float *sf_alloc_uniform(size_t n, float lo, float hi, uint64_t seed) {
    float *v = sf_aligned_alloc(n * sizeof(float));
    sf_rng r;
    sf_rng_seed(&r, seed, 0);
    for (size_t i = 0; i < n; i++) v[i] = lo == hi ? lo : sf_rng_uniform_range(&r, lo, hi);
    return v;
}
