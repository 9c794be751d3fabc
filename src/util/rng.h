// rng.h: a small seeded generator (PCG32, O'Neill 2014) used for initialisation, sampling and
// augmentation. Its whole state is two integers, so a checkpoint can save and restore it exactly, and
// independent streams (per epoch, per image) come from seeding with a hash of (seed, epoch, index).
#ifndef SF_RNG_H
#define SF_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t state;
    uint64_t inc;  // stream selector, always odd
} sf_rng;

void sf_rng_seed(sf_rng *r, uint64_t seed, uint64_t stream);
uint32_t sf_rng_u32(sf_rng *r);
// Uniform in [0, 1) with 24 bits, as float; and in [lo, hi).
float sf_rng_uniform(sf_rng *r);
float sf_rng_uniform_range(sf_rng *r, float lo, float hi);
// Uniform integer in [0, n) without modulo bias.
uint32_t sf_rng_below(sf_rng *r, uint32_t n);
// Mix several integers into one well-spread 64-bit seed (splitmix64 finaliser).
uint64_t sf_hash64(uint64_t a, uint64_t b, uint64_t c);

// A new aligned buffer v (n) of floats uniform in [lo, hi) from stream `seed` (lo == hi: all lo); for
// benchmark and tuning inputs. Free with sf_free_aligned.
float *sf_alloc_uniform(size_t n, float lo, float hi, uint64_t seed);

#endif
