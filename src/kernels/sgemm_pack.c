// sgemm_pack.c: copy blocks of op(A) and op(B) into the k-major, zero-padded slivers the micro-kernels
// read (contract and drawing in sgemm_internal.h). Portable C: every ISA path shares these.
#include "kernels/sgemm_internal.h"

#include <string.h>

// One sliver row: a constant-size memcpy for the register-tile widths compiles to a few vector moves,
// where a variable-size one is a library call per 32-128 bytes.
static inline void copy_row(float *restrict d, const float *restrict s, int n) {
    switch (n) {
    case 8: memcpy(d, s, 8 * sizeof(float)); break;
    case 12: memcpy(d, s, 12 * sizeof(float)); break;
    case 14: memcpy(d, s, 14 * sizeof(float)); break;
    case 16: memcpy(d, s, 16 * sizeof(float)); break;
    case 32: memcpy(d, s, 32 * sizeof(float)); break;
    default: memcpy(d, s, (size_t)n * sizeof(float)); break;
    }
}

// dst is (ceil(mc/mr), kc, mr); a holds op(A) as (mc,kc) with row stride lda, or (kc,mc) when trans_a
void sf_sgemm_pack_a(float *restrict dst, bool trans_a, const float *restrict a, int lda, int mc, int kc, int mr) {
    const long sliver = (long)mr * kc;
    if (trans_a) {
        // Row p of A^T holds column p of op(A) for every sliver: read each row once, front to back (the
        // hardware prefetchers follow one stream), and scatter it over the slivers.
        for (int p = 0; p < kc; p++) {
            const float *src = a + (long)p * lda;
            for (int i0 = 0, s = 0; i0 < mc; i0 += mr, s++) {
                int rows = mc - i0 < mr ? mc - i0 : mr;
                float *d = dst + s * sliver + (long)p * mr;
                copy_row(d, src + i0, rows);
                for (int i = rows; i < mr; i++) d[i] = 0.0f;
            }
        }
        return;
    }
    for (int i0 = 0; i0 < mc; i0 += mr, dst += sliver) {
        int rows = mc - i0 < mr ? mc - i0 : mr;
        // The rows are read as `rows` sequential streams and interleaved into one.
        for (int i = 0; i < rows; i++) {
            const float *src = a + (long)(i0 + i) * lda;
            for (int p = 0; p < kc; p++) dst[(long)p * mr + i] = src[p];
        }
        for (int i = rows; i < mr; i++)
            for (int p = 0; p < kc; p++) dst[(long)p * mr + i] = 0.0f;
    }
}

// dst is (ceil(nc/nr), kc, nr); b holds op(B) as (kc,nc) with row stride ldb, or (nc,kc) when trans_b
void sf_sgemm_pack_b(float *restrict dst, bool trans_b, const float *restrict b, int ldb, int kc, int nc, int nr) {
    const long sliver = (long)nr * kc;
    if (!trans_b) {
        // Blocks of PB rows of B, sliver after sliver: the PB source rows are read as sequential streams
        // and each sliver gets PB steps written in one contiguous run. Going row by row over every sliver
        // instead wrote each row to nc/nr slivers kc*nr floats apart, a different page each, and on Zen 3
        // the TLB misses made the pack twice as slow as OpenBLAS's (the fully connected dX = dY W, where
        // B is a 2048 x 4096 weight matrix). Of PB = 2 .. 32, 8 packed that matrix fastest there (1.6 ms
        // against 2.1 for 16 and 3.4 for 32: fewer streams for the prefetchers to follow).
        enum { PB = 8 };
        for (int p0 = 0; p0 < kc; p0 += PB) {
            const int pe = kc - p0 < PB ? kc - p0 : PB;
            for (int j0 = 0, s = 0; j0 < nc; j0 += nr, s++) {
                const int cols = nc - j0 < nr ? nc - j0 : nr;
                float *d = dst + s * sliver + (long)p0 * nr;
                const float *src = b + (long)p0 * ldb + j0;
                for (int p = 0; p < pe; p++, d += nr, src += ldb) {
                    copy_row(d, src, cols);
                    for (int j = cols; j < nr; j++) d[j] = 0.0f;
                }
            }
        }
        return;
    }
    for (int j0 = 0; j0 < nc; j0 += nr, dst += sliver) {
        int cols = nc - j0 < nr ? nc - j0 : nr;
        // A transpose: short blocks of p keep the `cols` source rows' lines in L1 while the destination
        // is written in order.
        enum { PB = 16 };
        for (int p0 = 0; p0 < kc; p0 += PB) {
            int pe = kc - p0 < PB ? kc - p0 : PB;
            for (int j = 0; j < cols; j++) {
                const float *src = b + (long)(j0 + j) * ldb + p0;
                float *d = dst + (long)p0 * nr + j;
                for (int p = 0; p < pe; p++) d[(long)p * nr] = src[p];
            }
            for (int j = cols; j < nr; j++)
                for (int p = 0; p < pe; p++) dst[(long)(p0 + p) * nr + j] = 0.0f;
        }
    }
}
