// sgemm.c: the portable BLIS-style five-loop driver of sf_sgemm (sgemm.h).
//
//   for jc in n by NC                     B panel KC x NC (L2/L3)
//     for pc in k by KC                   pack op(B)[pc, jc]
//       for ic in this thread's m by MC   pack op(A)[ic, pc] into this thread's buffer (lives in L2)
//         for jr in this thread's n by NR     the B sliver KC x NR stays in L1 ...
//           for ir in MC by MR                ... while the A slivers stream past it
//             micro-kernel: C[ir, jr] (MR x NR) = alpha A sliver * B sliver + beta C   (contract in
//                                                                                       sgemm_internal.h)
//
// Threads form a tm x tn grid over (m, n) chosen per call to balance the tiles. With tm == 1 each
// thread owns a range of columns and runs the loops above on it alone (its own B, no barriers); with
// tm > 1 the threads pack each B panel together, meet at a barrier, and split m.
//
// Skinny path: when m <= SKINNY and B is not transposed, the kernel reads B's rows in place (no packing
// of B at all; only the ragged last sliver is packed), and likewise for op(A) when n <= SKINNY and A is
// transposed. Otherwise, when one MC block holds all of m, NC shrinks so that each packed B chunk is
// consumed from L2 right after packing instead of making a round trip through L3.
#include "kernels/sgemm.h"
#include "kernels/cpu.h"
#include "kernels/sgemm_internal.h"
#include "kernels/sgemm_tuning.h"
#include "util/util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

enum { SKINNY = 64 };

static struct {
    sf_sgemm_arch arch;
    int mc, kc, nc;
} g_cfg;
static pthread_once_t g_cfg_once = PTHREAD_ONCE_INIT;

static int round_up(int x, int m) { return (x + m - 1) / m * m; }
static int clampi(int x, int lo, int hi) { return x < lo ? lo : x > hi ? hi : x; }

static int env_int(const char *name) {
    const char *s = getenv(name);
    return s && *s ? atoi(s) : 0;
}

static void set_blocking(int mc, int kc, int nc) {
    const sf_sgemm_arch *a = &g_cfg.arch;
    if (kc > 0) g_cfg.kc = kc;
    if (mc > 0) g_cfg.mc = round_up(mc, a->mr);
    if (nc > 0) g_cfg.nc = round_up(nc, a->nr);
}

// Defaults from the caches, the rules of the table in sgemm_internal.h.
static void cfg_init(void) {
    g_cfg.arch = sf_sgemm_arch_for(sf_isa_active());
    const sf_cpu_info *cpu = sf_cpu();
    size_t l1 = cpu->l1d ? cpu->l1d : 32 << 10, l2 = cpu->l2 ? cpu->l2 : 256 << 10;
    size_t l3 = cpu->l3 ? cpu->l3 : 4 << 20;
    int mr = g_cfg.arch.mr, nr = g_cfg.arch.nr;
    int kc = clampi((int)(l1 / 2 / (sizeof(float) * (size_t)nr)) / 8 * 8, 64, 1024);
    int mc = clampi((int)(l2 / 2 / (sizeof(float) * (size_t)kc)) / mr * mr, mr, 1024 / mr * mr);
    int nc = clampi((int)(l3 / 4 / (sizeof(float) * (size_t)kc)) / nr * nr, nr, 4096 / nr * nr);
    set_blocking(mc, kc, nc);
    set_blocking(env_int("SPRINGFIELD_GEMM_MC"), env_int("SPRINGFIELD_GEMM_KC"), env_int("SPRINGFIELD_GEMM_NC"));
}

void sf_sgemm_set_blocking(int mc, int kc, int nc) {
    pthread_once(&g_cfg_once, cfg_init);
    set_blocking(mc, kc, nc);
}

void sf_sgemm_get_blocking(int *mr, int *nr, int *mc, int *kc, int *nc, const char **kernel_name) {
    pthread_once(&g_cfg_once, cfg_init);
    if (mr) *mr = g_cfg.arch.mr;
    if (nr) *nr = g_cfg.arch.nr;
    if (mc) *mc = g_cfg.mc;
    if (kc) *kc = g_cfg.kc;
    if (nc) *nc = g_cfg.nc;
    if (kernel_name) *kernel_name = g_cfg.arch.name;
}

// Packing buffers: one set per OS thread, grown on demand and then reused by every later call (OpenMP
// keeps its worker threads, so steady-state calls allocate nothing). A thread-specific key frees them
// when a thread that used them exits.
typedef struct {
    float *p;
    size_t cap;
} buffer;
typedef struct {
    buffer a, b, edge;
    bool registered;
} buffers;
static _Thread_local buffers tl;
static pthread_key_t g_key;
static pthread_once_t g_key_once = PTHREAD_ONCE_INIT;

static void free_buffers(void *p) {
    buffers *t = p;
    sf_free_aligned(t->a.p);
    sf_free_aligned(t->b.p);
    sf_free_aligned(t->edge.p);
    *t = (buffers){0};
}
static void key_init(void) {
    if (pthread_key_create(&g_key, free_buffers)) sf_die("pthread_key_create failed");
}

static buffers *thread_buffers(void) {
    if (!tl.registered) {
        pthread_once(&g_key_once, key_init);
        pthread_setspecific(g_key, &tl);
        tl.registered = true;
    }
    return &tl;
}

static float *buffer_get(buffer *b, size_t floats) {
    if (floats > b->cap) {
        sf_free_aligned(b->p);
        b->p = sf_aligned_alloc(floats * sizeof(float));
        b->cap = floats;
    }
    return b->p;
}

// Everything one call needs, fixed before the parallel region.
typedef struct {
    bool ta, tb;
    int m, n, k;
    float alpha, beta;
    const float *a, *b;
    int lda, ldb, ldc;
    float *c;
    sf_sgemm_arch arch;
    int mc, kc, nc;
    bool pack_a, pack_b;  // false: read op(A) / op(B) in place (skinny path)
    int tm, tn;           // thread grid
    float *bpack;         // shared packed B panel, (NC/NR, KC, NR)
} plan;

// [*lo, *hi) of `units` split into `parts` near-equal ranges.
static void split(int units, int parts, int idx, int *lo, int *hi) {
    *lo = (int)((long)units * idx / parts);
    *hi = (int)((long)units * (idx + 1) / parts);
}

// c is (m,n) with row stride ldc; beta * C, without reading C when beta == 0
static void scale_c(float *c, int m, int n, int ldc, float beta) {
    for (int i = 0; i < m; i++) {
        float *ci = c + (long)i * ldc;
        if (beta == 0.0f) memset(ci, 0, (size_t)n * sizeof(float));
        else if (beta != 1.0f)
            for (int j = 0; j < n; j++) ci[j] *= beta;
    }
}

// The block size <= `block` (a multiple of `unit`) that splits `len` into the fewest near-equal blocks.
static int even_block(int len, int block, int unit) {
    if (len <= 0) return block;
    int nblocks = (len + block - 1) / block;
    int b = ((len + nblocks - 1) / nblocks + unit - 1) / unit * unit;
    return b < block ? b : block;
}

// One thread's share of the five loops. With tm == 1 ("private B") each thread owns whole columns of C
// and packs only the B it uses, with no barriers; otherwise the threads pack each B panel together
// and split its slivers by tn.
static void run_thread(const plan *pl, int tid, int nthreads) {
    const int mr = pl->arch.mr, nr = pl->arch.nr, kc = pl->kc, nc = pl->nc;
    const int ti = tid / pl->tn, tj = tid % pl->tn;
    const bool priv = pl->tm == 1;
    int m_lo, m_hi, n_lo = 0, n_hi = pl->n;
    split((pl->m + mr - 1) / mr, pl->tm, ti, &m_lo, &m_hi);
    m_lo *= mr;
    m_hi = m_hi * mr < pl->m ? m_hi * mr : pl->m;
    if (priv) {
        split((pl->n + nr - 1) / nr, pl->tn, tj, &n_lo, &n_hi);
        n_lo *= nr;
        n_hi = n_hi * nr < pl->n ? n_hi * nr : pl->n;
    }
    // Equal MC blocks over this thread's rows: m = 1024 with MC = 1022 must not leave a 2-row block
    // that streams all of B again for almost no work.
    const int mc = even_block(m_hi - m_lo, pl->mc, mr);
    buffers *bufs = thread_buffers();
    float *apack = buffer_get(&bufs->a, (size_t)pl->mc * kc);
    float *edge = buffer_get(&bufs->edge, (size_t)(mr > nr ? mr : nr) * kc);
    float *bpack = priv && pl->pack_b ? buffer_get(&bufs->b, (size_t)(nc + nr) * kc) : pl->bpack;
    const sf_sgemm_ukernel_fn kern = pl->arch.kernel;

    for (int jc = n_lo; jc < n_hi; jc += nc) {
        const int ncur = n_hi - jc < nc ? n_hi - jc : nc;
        const int panels = (ncur + nr - 1) / nr;
        int j_lo = 0, j_hi = panels;
        if (!priv) split(panels, pl->tn, tj, &j_lo, &j_hi);
        for (int pc = 0; pc < pl->k; pc += kc) {
            const int kcur = pl->k - pc < kc ? pl->k - pc : kc;
            const float beta = pc == 0 ? pl->beta : 1.0f;
            const float *bsrc = pl->tb ? pl->b + (long)jc * pl->ldb + pc : pl->b + (long)pc * pl->ldb + jc;
            if (pl->pack_b) {
                int s_lo = 0, s_hi = panels;
                if (!priv) split(panels, nthreads, tid, &s_lo, &s_hi);
                if (s_hi > s_lo) {
                    int j0 = s_lo * nr, j1 = s_hi * nr < ncur ? s_hi * nr : ncur;
                    const float *src = pl->tb ? bsrc + (long)j0 * pl->ldb : bsrc + j0;
                    pl->arch.pack_b(bpack + (long)s_lo * nr * kcur, pl->tb, src, pl->ldb, kcur, j1 - j0, nr);
                }
                if (!priv) {
#pragma omp barrier
                }
            } else if (j_hi > j_lo && j_hi * nr > ncur) {
                // In-place B: only the ragged last sliver, if this thread owns it, needs zero padding.
                int j0 = (j_hi - 1) * nr;
                sf_sgemm_pack_b(edge, false, bsrc + j0, pl->ldb, kcur, ncur - j0, nr);
            }
            for (int ic = m_lo; ic < m_hi; ic += mc) {
                const int mcur = m_hi - ic < mc ? m_hi - ic : mc;
                const float *asrc = pl->ta ? pl->a + (long)pc * pl->lda + ic : pl->a + (long)ic * pl->lda + pc;
                if (pl->pack_a) pl->arch.pack_a(apack, pl->ta, asrc, pl->lda, mcur, kcur, mr);
                for (int jp = j_lo; jp < j_hi; jp++) {
                    const int jr = jp * nr, n_eff = ncur - jr < nr ? ncur - jr : nr;
                    const float *bs;
                    long rs_b;
                    if (pl->pack_b) bs = bpack + (long)jp * nr * kcur, rs_b = nr;
                    else if (n_eff < nr) bs = edge, rs_b = nr;
                    else bs = bsrc + jr, rs_b = pl->ldb;
                    float *cc = pl->c + (long)ic * pl->ldc + jc + jr;
                    for (int ir = 0; ir < mcur; ir += mr) {
                        const int m_eff = mcur - ir < mr ? mcur - ir : mr;
                        const float *as;
                        long rs_a;
                        if (pl->pack_a) as = apack + (long)ir * kcur, rs_a = mr;
                        else if (m_eff < mr) {
                            // In-place A: pack the ragged last sliver (once per jc/pc/ic, on first use).
                            if (jp == j_lo) sf_sgemm_pack_a(apack, true, asrc + ir, pl->lda, m_eff, kcur, mr);
                            as = apack, rs_a = mr;
                        } else as = asrc + ir, rs_a = pl->lda;
                        kern(kcur, as, rs_a, bs, rs_b, cc + (long)ir * pl->ldc, pl->ldc, pl->alpha, beta, m_eff, n_eff);
                    }
                }
            }
            if (pl->pack_b && !priv) {
#pragma omp barrier
            }
        }
    }
}

// Thread grid: the fewest padded tiles on the busiest thread; ties go to splitting n (tm == 1), where
// each thread packs its own B and A and never waits at a barrier, which matters on a shared machine
// where a descheduled thread would stall its partner at every KC step.
static void choose_grid(plan *pl, int nt) {
    const int mr = pl->arch.mr, nr = pl->arch.nr;
    int best = -1;
    for (int tm = 1; tm <= nt; tm++) {
        if (nt % tm) continue;
        int tn = nt / tm;
        int work = ((pl->m + mr - 1) / mr + tm - 1) / tm * (((pl->n + nr - 1) / nr + tn - 1) / tn);
        if (best < 0 || work < best) best = work, pl->tm = tm, pl->tn = tn;
    }
}

// A stride is kind to the caches when consecutive rows do not pile onto a few cache sets: either not a
// whole number of 64-byte lines, or an odd number of them.
static bool stride_spreads(int ld) { return ld % 16 != 0 || (ld / 16) % 2 == 1; }

void sf_sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float *a, int lda,
              const float *b, int ldb, float beta, float *c, int ldc) {
    // a is (m,k) or (k,m) when trans_a; b is (k,n) or (n,k) when trans_b; c is (m,n), row stride ldc
    if (m <= 0 || n <= 0) return;
    if (k <= 0 || alpha == 0.0f) {
        scale_c(c, m, n, ldc, beta);
        return;
    }
    pthread_once(&g_cfg_once, cfg_init);
    plan pl = {trans_a, trans_b, m, n, k, alpha, beta, a, b, lda, ldb, ldc, c, g_cfg.arch,
               g_cfg.mc, g_cfg.kc, g_cfg.nc, true, true, 1, 1, NULL};
    const int nr = pl.arch.nr;
    pl.kc = even_block(k, pl.kc, 1);
    // When one MC block holds all of A, each packed B chunk is used once, right away: keep the chunk in
    // L2 instead of sending a large NC panel out to L3 and back.
    if (m <= pl.mc) {
        int nc_l2 = (int)(sf_cpu()->l2 / 4 / (sizeof(float) * (size_t)pl.kc)) / nr * nr;
        if (nc_l2 >= nr && nc_l2 < pl.nc) pl.nc = nc_l2;
    }
    pl.nc = even_block(n, pl.nc, nr);
    // In place needs the k-major shape (op(A) columns / op(B) rows contiguous) and a cache-friendly stride.
    pl.pack_b = !(m <= SKINNY && !trans_b && stride_spreads(ldb));
    pl.pack_a = !(n <= SKINNY && trans_a && stride_spreads(lda));

    int nt = 1;
#ifdef _OPENMP
    if (!omp_in_parallel()) nt = sf_threads();
#endif
    // Below ~64^3 multiply-adds the fork and the barriers cost more than a second core saves.
    if ((double)m * n * k < 262144.0) nt = 1;
    choose_grid(&pl, nt);
    if (pl.pack_b && pl.tm > 1) {
        // The panel the threads share lives in the calling thread's buffer.
        const int ncols = n < pl.nc ? n : pl.nc, nc_max = (ncols + nr - 1) / nr * nr;
        pl.bpack = buffer_get(&thread_buffers()->b, (size_t)nc_max * pl.kc);
    }
    if (nt == 1) {
        run_thread(&pl, 0, 1);
        return;
    }
#pragma omp parallel num_threads(nt)
    {
#ifdef _OPENMP
        int tid = omp_get_thread_num(), got = omp_get_num_threads();
#else
        int tid = 0, got = 1;
#endif
        // OpenMP may hand out a smaller team than asked (thread limits): then split n only, which needs
        // no shared buffer and no barrier.
        plan mine = pl;
        if (got != nt) mine.tm = 1, mine.tn = got;
        run_thread(&mine, tid, got);
    }
}
