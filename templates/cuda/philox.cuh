/*
 * philox.cuh: Philox4x32-10 and the draws' recipes, as graphc.random specifies them (the same
 * key/counter layout as graphc's numpy and C code, so a seed gives the same numbers on every
 * backend). Each function computes its value from (seed, offset, position) alone, so any
 * thread can draw any element without sequential state.
 */
#ifndef GRAPHC_PHILOX_CUH
#define GRAPHC_PHILOX_CUH

#include "graphc_cuda.cuh"

/* block b of the stream of `seed`: counter (low32(b), high32(b), 0, 0), key (low32(seed),
   high32(seed)); ten rounds, the key bumped after each */
__host__ __device__ inline void graphc_philox(uint64_t seed, uint64_t b, uint32_t out[4])
{
    uint32_t c0 = (uint32_t)b, c1 = (uint32_t)(b >> 32), c2 = 0, c3 = 0;
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int round = 0; round < 10; round++) {
        const uint64_t p0 = (uint64_t)0xD2511F53u * c0, p1 = (uint64_t)0xCD9E8D57u * c2;
        const uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0, n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        c1 = (uint32_t)p1;
        c3 = (uint32_t)p0;
        c0 = n0;
        c2 = n2;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

/* word j of the draw at `offset`: word j % 4 of block offset + j / 4 (mod 2**64) */
__host__ __device__ inline uint32_t graphc_random_word(uint64_t seed, uint64_t offset, uint64_t j)
{
    uint32_t block[4];
    graphc_philox(seed, offset + j / 4, block);
    return block[j % 4];
}

/* uniform e of a draw with `bits` <= 32 random bits (one word each): exact in [0, 1) */
__host__ __device__ inline double graphc_uniform_narrow(uint64_t seed, uint64_t offset,
                                                         uint64_t e, int bits)
{
    return (double)(graphc_random_word(seed, offset, e) >> (32 - bits)) * ldexp(1.0, -bits);
}

/* uniform e of the 53-bit recipe: words 2e and 2e + 1 (both in block offset + e / 2) */
__host__ __device__ inline double graphc_uniform53(uint64_t seed, uint64_t offset, uint64_t e)
{
    uint32_t block[4];
    graphc_philox(seed, offset + e / 2, block);
    const int k = (int)(e % 2);
    return (double)((((uint64_t)block[2 * k] << 32) | block[2 * k + 1]) >> 11) * 0x1p-53;
}

__host__ __device__ inline double graphc_uniform(uint64_t seed, uint64_t offset, uint64_t e,
                                                  int bits)
{
    return bits > 32 ? graphc_uniform53(seed, offset, e)
                     : graphc_uniform_narrow(seed, offset, e, bits);
}

/* value * scale + shift in float64, one rounding per operation whatever nvcc's --fmad (the
   recipes' uniform_(low, high) takes scale high - low and shift low; normal_(mean, std) scale
   std and shift mean). Host builds keep the two roundings with -ffp-contract=off. */
__host__ __device__ inline double graphc_scale_shift(double value, double scale, double shift)
{
#ifdef __CUDA_ARCH__
    return __dadd_rn(__dmul_rn(value, scale), shift);
#else
    return value * scale + shift;
#endif
}

/* Box-Muller pair k (elements 2k and 2k + 1) from uniforms 2k and 2k + 1 of `bits` bits (24 for
   float16/float32, 53 for float64), in float64 */
__host__ __device__ inline void graphc_normal_pair(uint64_t seed, uint64_t offset, uint64_t k,
                                                    int bits, double *z0, double *z1)
{
    const double v0 = graphc_uniform(seed, offset, 2 * k, bits);
    const double v1 = graphc_uniform(seed, offset, 2 * k + 1, bits);
    const double radius = sqrt(-2.0 * log(1.0 - v0));
    const double angle = (2.0 * 3.14159265358979323846) * v1;
    *z0 = radius * cos(angle);
    *z1 = radius * sin(angle);
}

/* integer e in [low, low + span) for 0 < span <= 2**32 (one word each) */
__host__ __device__ inline int64_t graphc_random_integer(uint64_t seed, uint64_t offset,
                                                          uint64_t e, int64_t low, uint64_t span)
{
    return low + (int64_t)(graphc_random_word(seed, offset, e) % span);
}

#endif  /* GRAPHC_PHILOX_CUH */
