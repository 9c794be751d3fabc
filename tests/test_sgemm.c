// test_sgemm.c: sf_sgemm against the double-accumulating sf_sgemm_ref, and the packing routines alone.
//
// Residual check: for every element, |C - C_ref| <= tol(k) * (|alpha| * sum_p |a_ip| |b_pj| + |beta| |c_ij|)
// with tol(k) = 2 (k + 4) FLT_EPSILON, the classical bound for a length-k float dot product (any summation
// order) with slack for the alpha/beta update. A real indexing or packing bug gives errors of order 1 in
// that scale, far above it. Small blocks (sf_sgemm_set_blocking) make modest shapes cross every MC, KC
// and NC boundary, so the test stays fast enough for qemu.
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include "springfield.h"
#include "kernels/sgemm_internal.h"
#include "kernels/sgemm_tuning.h"

static void fill(float *x, long n, sf_rng *r) {
    for (long i = 0; i < n; i++) x[i] = sf_rng_uniform_range(r, -1.0f, 1.0f);
}

static void absv(float *dst, const float *src, long n) {
    for (long i = 0; i < n; i++) dst[i] = fabsf(src[i]);
}

// Runs one case (leading dimensions padded by `pad`) and returns the worst error / bound ratio
// (> 1 is a failure); C starts as NaN when beta == 0, to check that C is then never read.
static double check_case(bool ta, bool tb, int m, int n, int k, float alpha, float beta, int pad, uint64_t seed) {
    sf_rng r;
    sf_rng_seed(&r, seed, 7);
    int lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
    long na = (long)(ta ? k : m) * lda + 1, nb = (long)(tb ? n : k) * ldb + 1, nc = (long)m * ldc + 1;
    float *a = sf_malloc(na * sizeof(float)), *b = sf_malloc(nb * sizeof(float));
    float *c = sf_malloc(nc * sizeof(float)), *cref = sf_malloc(nc * sizeof(float));
    float *aa = sf_malloc(na * sizeof(float)), *ab = sf_malloc(nb * sizeof(float)), *bound = sf_malloc(nc * sizeof(float));
    fill(a, na, &r);
    fill(b, nb, &r);
    fill(c, nc, &r);
    if (beta == 0.0f)
        for (long i = 0; i < nc; i++) c[i] = NAN;
    memcpy(cref, c, nc * sizeof(float));
    absv(aa, a, na);
    absv(ab, b, nb);
    absv(bound, c, nc);
    sf_sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    sf_sgemm_ref(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, cref, ldc);
    sf_sgemm_ref(ta, tb, m, n, k, fabsf(alpha), aa, lda, ab, ldb, fabsf(beta), bound, ldc);
    const double tol = 2.0 * (k + 4) * FLT_EPSILON;
    double worst = 0.0;
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            long x = (long)i * ldc + j;
            double err = fabs((double)c[x] - cref[x]), lim = tol * bound[x] + 1e-30;
            double ratio = isfinite(c[x]) ? err / lim : INFINITY;
            if (ratio > worst) worst = ratio;
        }
    // The padding between rows must be untouched.
    for (int i = 0; i < m; i++)
        for (int j = n; j < ldc && (long)i * ldc + j < nc; j++) {
            long x = (long)i * ldc + j;
            if (!(c[x] == cref[x] || (isnan(c[x]) && isnan(cref[x])))) worst = INFINITY;
        }
    free(a), free(b), free(c), free(cref), free(aa), free(ab), free(bound);
    return worst;
}

typedef struct {
    int m, n, k;
} shape;

static const shape shapes[] = {
    {0, 5, 5},    {5, 0, 5},     {5, 5, 0},     {1, 1, 1},      {1, 37, 13},   {37, 1, 13},   {2, 3, 5},
    {13, 17, 19}, {14, 32, 64},  {15, 33, 7},   {16, 16, 16},   {29, 65, 131}, {61, 67, 31},  {64, 97, 73},
    {67, 61, 53}, {6, 263, 41},  {131, 7, 43},  {127, 131, 37}, {3, 257, 97},  {251, 5, 89},  {97, 101, 103},
};
#define N_SHAPES (int)(sizeof shapes / sizeof shapes[0])

static const float alphas[] = {1.0f, -0.5f, 0.7f, 1.0f, 0.0f};
static const float betas[] = {0.0f, 1.0f, 2.0f, -1.3f, 0.5f};
#define N_AB (int)(sizeof alphas / sizeof alphas[0])

// All transpose combinations x all shapes x alpha/beta pairs, the leading dimensions padded.
static void sweep(const char *label) {
    double worst = 0.0;
    int cases = 0;
    for (int t = 0; t < 4; t++)
        for (int s = 0; s < N_SHAPES; s++) {
            int ab = (t + s) % N_AB;
            bool ta = t & 1, tb = t >> 1;
            double w = check_case(ta, tb, shapes[s].m, shapes[s].n, shapes[s].k, alphas[ab], betas[ab], 3 + s % 5,
                                  (uint64_t)(t * 100 + s));
            cr_expect(w <= 1.0, "%s: ta %d tb %d m %d n %d k %d alpha %g beta %g: error/bound %.3g", label, ta, tb,
                      shapes[s].m, shapes[s].n, shapes[s].k, alphas[ab], betas[ab], w);
            if (w > worst) worst = w;
            cases++;
        }
    cr_log_info("%s: %d cases, worst error / bound %.3g (tol(k) = 2 (k+4) eps)", label, cases, worst);
}

Test(sgemm, all_transposes_default_blocking) {
    const char *kern;
    int mr, nr, mc, kc, nc;
    sf_sgemm_get_blocking(&mr, &nr, &mc, &kc, &nc, &kern);
    cr_log_info("kernel %s MR %d NR %d MC %d KC %d NC %d on %s", kern, mr, nr, mc, kc, nc, sf_isa_name(sf_isa_active()));
    sweep("default blocks");
}

// Tiny blocks: every shape above crosses several MC, KC and NC boundaries, with 1 and 2 threads.
Test(sgemm, all_transposes_small_blocks) {
    int mr, nr, mc, kc, nc;
    sf_sgemm_get_blocking(&mr, &nr, &mc, &kc, &nc, NULL);
    sf_sgemm_set_blocking(2 * mr, 16, 2 * nr);
    int threads = sf_threads();
    sf_set_threads(1);
    sweep("small blocks, 1 thread");
    sf_set_threads(2);
    sweep("small blocks, 2 threads");
    sf_set_threads(threads);
    sf_sgemm_set_blocking(mc, kc, nc);
}

// Every alpha/beta pair on a shape that is split over threads and has ragged edges, beta == 0 with NaN in C.
Test(sgemm, alpha_beta_values) {
    double worst = 0.0;
    for (int ab = 0; ab < N_AB; ab++)
        for (int t = 0; t < 4; t++) {
            double w = check_case(t & 1, t >> 1, 83, 79, 211, alphas[ab], betas[ab], 1, (uint64_t)(ab * 10 + t));
            cr_expect(w <= 1.0, "alpha %g beta %g ta %d tb %d: error/bound %.3g", alphas[ab], betas[ab], t & 1, t >> 1, w);
            if (w > worst) worst = w;
        }
    cr_log_info("alpha/beta sweep: worst error / bound %.3g", worst);
}

// Skinny shapes (m or n <= 64) read op(B) or op(A) in place when the stride allows; contiguous
// power-of-two strides take the packed path instead. Both must agree with the oracle.
Test(sgemm, skinny_in_place_and_packed) {
    const shape sk[] = {{64, 300, 150}, {32, 301, 147}, {13, 96, 200}, {300, 64, 150}, {301, 32, 147}, {96, 13, 200}};
    double worst = 0.0;
    // Under qemu one padding (the contiguous one, which has both in-place and packed cases) is enough.
    const int max_pad = getenv("SPRINGFIELD_EMULATED") ? 0 : 5;
    for (int s = 0; s < 6; s++)
        for (int t = 0; t < 4; t++)
            for (int pad = 0; pad <= max_pad; pad += 5) {
                double w = check_case(t & 1, t >> 1, sk[s].m, sk[s].n, sk[s].k, 1.0f, 0.0f, pad, (uint64_t)(s * 10 + t));
                cr_expect(w <= 1.0, "m %d n %d k %d ta %d tb %d pad %d: error/bound %.3g", sk[s].m, sk[s].n, sk[s].k,
                          t & 1, t >> 1, pad, w);
                if (w > worst) worst = w;
            }
    cr_log_info("skinny shapes: worst error / bound %.3g", worst);
}

// Larger than the default KC, so C accumulates over several k blocks with beta applied once.
Test(sgemm, beyond_default_blocks) {
    int kc;
    sf_sgemm_get_blocking(NULL, NULL, NULL, &kc, NULL, NULL);
    int k = getenv("SPRINGFIELD_EMULATED") ? kc + 37 : 2 * kc + 37;
    double worst = 0.0;
    for (int t = 0; t < 4; t++) {
        double w = check_case(t & 1, t >> 1, 157, 139, k, 0.9f, 0.3f, 2, (uint64_t)t);
        cr_expect(w <= 1.0, "ta %d tb %d k %d: error/bound %.3g", t & 1, t >> 1, k, w);
        if (w > worst) worst = w;
    }
    cr_log_info("k = %d: worst error / bound %.3g", k, worst);
}

// Called from inside a parallel region, each thread runs its own GEMM on its own buffers.
Test(sgemm, inside_parallel_region) {
    double worst[4] = {0};
#pragma omp parallel for num_threads(2)
    for (int t = 0; t < 4; t++) worst[t] = check_case(t & 1, t >> 1, 71, 89, 97, 1.0f, 0.5f, 4, (uint64_t)(50 + t));
    for (int t = 0; t < 4; t++) cr_expect(worst[t] <= 1.0, "ta %d tb %d: error/bound %.3g", t & 1, t >> 1, worst[t]);
    cr_log_info("nested calls: worst error / bound %.3g %.3g %.3g %.3g", worst[0], worst[1], worst[2], worst[3]);
}

static void *gemm_in_thread(void *arg) {
    *(double *)arg = check_case(true, false, 45, 77, 66, 1.0f, 0.0f, 2, 99);
    return NULL;
}

// A short-lived thread gets its own packing buffers, which its exit frees (the sanitizer build checks that).
Test(sgemm, short_lived_threads) {
    double worst = 0.0;
    for (int i = 0; i < 3; i++) {
        double w = INFINITY;
        pthread_t t;
        cr_assert_eq(pthread_create(&t, NULL, gemm_in_thread, &w), 0);
        pthread_join(t, NULL);
        if (w > worst) worst = w;
    }
    cr_log_info("short-lived threads: worst error / bound %.3g", worst);
    cr_assert(worst <= 1.0, "error/bound %.3g", worst);
}

// The blocking setter rounds to the register tile and keeps values <= 0.
Test(sgemm, blocking_setter) {
    int mr, nr, mc, kc, nc, mc2, kc2, nc2;
    const char *name;
    sf_sgemm_get_blocking(&mr, &nr, &mc, &kc, &nc, &name);
    cr_assert(name && *name);
    sf_sgemm_set_blocking(mr + 1, 0, nr + 1);
    sf_sgemm_get_blocking(NULL, NULL, &mc2, &kc2, &nc2, NULL);
    cr_expect_eq(mc2, 2 * mr);
    cr_expect_eq(kc2, kc);
    cr_expect_eq(nc2, 2 * nr);
    sf_sgemm_set_blocking(mc, kc, nc);
}

// pack_a / pack_b alone: every element in the drawn order (sgemm_internal.h), zeros in the padding.
Test(sgemm_pack, a_and_b_layout) {
    sf_rng r;
    sf_rng_seed(&r, 11, 3);
    const int mrs[] = {4, 6, 8, 14}, mc = 23, kc = 19, ld = 29;
    float src[29 * 29], dst[32 * 19];
    fill(src, 29 * 29, &r);
    int bad = 0;
    for (int x = 0; x < 4; x++) {
        int mr = mrs[x], slivers = (mc + mr - 1) / mr;
        for (int t = 0; t < 2; t++) {
            memset(dst, 0x7f, sizeof dst);
            sf_sgemm_pack_a(dst, t, src, ld, mc, kc, mr);
            for (int s = 0; s < slivers; s++)
                for (int p = 0; p < kc; p++)
                    for (int i = 0; i < mr; i++) {
                        int row = s * mr + i;
                        float want = row >= mc ? 0.0f : t ? src[p * ld + row] : src[row * ld + p];
                        bad += dst[(s * kc + p) * mr + i] != want;
                    }
            memset(dst, 0x7f, sizeof dst);
            // B: kc x nc with nc = mc, NR = mr (same drawing, transposed roles)
            sf_sgemm_pack_b(dst, t, src, ld, kc, mc, mr);
            for (int s = 0; s < slivers; s++)
                for (int p = 0; p < kc; p++)
                    for (int j = 0; j < mr; j++) {
                        int col = s * mr + j;
                        float want = col >= mc ? 0.0f : t ? src[col * ld + p] : src[p * ld + col];
                        bad += dst[(s * kc + p) * mr + j] != want;
                    }
        }
    }
    cr_log_info("packing: %d misplaced elements", bad);
    cr_assert_eq(bad, 0);
}

// The drawing in sgemm_internal.h, literally: MR 3, k 3, m 5.
Test(sgemm_pack, drawn_example) {
    float a[5 * 3], dst[18];
    for (int i = 0; i < 15; i++) a[i] = (float)(i + 1);  // op(A)(i, p) = 3 i + p + 1
    sf_sgemm_pack_a(dst, false, a, 3, 5, 3, 3);
    const float want[18] = {1, 4, 7, 2, 5, 8, 3, 6, 9, 10, 13, 0, 11, 14, 0, 12, 15, 0};
    for (int i = 0; i < 18; i++) cr_expect_eq(dst[i], want[i], "offset %d: %g, want %g", i, dst[i], want[i]);
}

#if defined(__x86_64__)
// The AVX-512 transposing packs (op(A) = A, op(B) = B^T) must match the portable ones exactly, ragged
// edges included.
Test(sgemm_pack, avx512_transposing) {
    if (!sf_isa_supported(SF_ISA_AVX512)) {
        cr_log_info("no AVX-512 on this CPU: skipped");
        return;
    }
    sf_rng r;
    sf_rng_seed(&r, 5, 9);
    const int ld = 77, ncs[] = {32, 64, 70, 13}, kcs[] = {16, 35, 48, 5};
    float *src = sf_malloc(sizeof(float) * 70 * ld), *want = sf_malloc(sizeof(float) * 98 * 48);
    float *got = sf_malloc(sizeof(float) * 98 * 48);
    fill(src, 70L * ld, &r);
    int bad = 0;
    for (int x = 0; x < 4; x++)
        for (int t = 0; t < 2; t++) {
            int nc = ncs[x], kc = kcs[x], n_out = (nc + 31) / 32 * 32 * kc;
            sf_sgemm_pack_b(want, t, src, ld, kc, nc, 32);
            sf_sgemm_pack_b_avx512_32(got, t, src, ld, kc, nc, 32);
            for (int i = 0; i < n_out; i++) bad += got[i] != want[i];
        }
    // A: mc x kc blocks of op(A), MR 14, the same ragged cases with the roles of n and m swapped.
    for (int x = 0; x < 4; x++)
        for (int t = 0; t < 2; t++) {
            int mc = ncs[x], kc = kcs[x], n_out = (mc + 13) / 14 * 14 * kc;
            sf_sgemm_pack_a(want, t, src, ld, mc, kc, 14);
            sf_sgemm_pack_a_avx512_14(got, t, src, ld, mc, kc, 14);
            for (int i = 0; i < n_out; i++) bad += got[i] != want[i];
        }
    cr_log_info("avx512 pack_a and pack_b: %d differing elements", bad);
    cr_assert_eq(bad, 0);
    free(src), free(want), free(got);
}

// The AVX2 transposing packs (NR 16, MR 6) against the portable ones, exactly, ragged edges and k tails
// (k not a multiple of 8) included.
Test(sgemm_pack, avx2_transposing) {
    if (!sf_isa_supported(SF_ISA_AVX2)) {
        cr_log_info("no AVX2 on this CPU: skipped");
        return;
    }
    sf_rng r;
    sf_rng_seed(&r, 5, 10);
    const int ld = 77, ncs[] = {16, 48, 70, 13, 6, 12}, kcs[] = {8, 35, 48, 5, 17, 64};
    float *src = sf_malloc(sizeof(float) * 70 * ld), *want = sf_malloc(sizeof(float) * 80 * 64);
    float *got = sf_malloc(sizeof(float) * 80 * 64);
    fill(src, 70L * ld, &r);
    int bad = 0;
    for (int x = 0; x < 6; x++)
        for (int t = 0; t < 2; t++) {
            int nc = ncs[x], kc = kcs[x], n_out = (nc + 15) / 16 * 16 * kc;
            sf_sgemm_pack_b(want, t, src, ld, kc, nc, 16);
            sf_sgemm_pack_b_avx2_16(got, t, src, ld, kc, nc, 16);
            for (int i = 0; i < n_out; i++) bad += got[i] != want[i];
        }
    for (int x = 0; x < 6; x++)
        for (int t = 0; t < 2; t++) {
            int mc = ncs[x], kc = kcs[x], n_out = (mc + 5) / 6 * 6 * kc;
            // A canary past the packed block: the overlapping stores must stay inside it.
            got[n_out] = -7.0f;
            sf_sgemm_pack_a(want, t, src, ld, mc, kc, 6);
            sf_sgemm_pack_a_avx2_6(got, t, src, ld, mc, kc, 6);
            for (int i = 0; i < n_out; i++) bad += got[i] != want[i];
            bad += got[n_out] != -7.0f;
        }
    cr_log_info("avx2 pack_a and pack_b: %d differing elements", bad);
    cr_assert_eq(bad, 0);
    free(src), free(want), free(got);
}
#endif
