// cmd_info.c: `springfield info`: CPU, ISA path, caches, threads, the measured FMA peak, the topology
// (packages, NUMA nodes, cores, PUs, caches), the thread binding map, the profile in use and where the
// big buffers live.
#include "cli/commands.h"
#include "cli/options.h"
#include "cli/placement.h"
#include "kernels/profile.h"
#include "kernels/sgemm_tuning.h"
#include "kernels/topology.h"
#include "nn/replica.h"
#include "springfield.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static const sf_opt_spec spec[] = {
    {"threads", SF_OPT_INT, "0", NULL, 0, SF_TOPO_MAX_THREADS, "compute threads (0: one per core, or OMP_NUM_THREADS)"},
    {"numa", SF_OPT_CHOICE, "auto", "auto|off|interleave", 0, 0, "NUMA placement of threads, batch and buffers"},
    {"smt", SF_OPT_FLAG, "off", NULL, 0, 0, "run threads on SMT siblings too"},
    {"batch", SF_OPT_INT, "64", NULL, 1, 1 << 20, "batch size whose split across NUMA nodes is shown"},
    {"bind", SF_OPT_FLAG, "on", NULL, 0, 0, "bind the threads to show where they run (--no-bind: plan only)"},
    {"model", SF_OPT_CHOICE, "simple", "simple|best|resnet18|resnet50|none", 0, 0,
     "build this model's replicas as training would and show where their buffers are (none: skip)"},
    {"size", SF_OPT_INT, "96", NULL, 16, 1024, "input size of that model"},
};
#define NSPEC (int)(sizeof spec / sizeof spec[0])

static const char *node_str(char *buf, size_t n, int node) {
    if (node == SF_NODE_ANY) snprintf(buf, n, "first touch");
    else if (node == SF_NODE_INTERLEAVE) snprintf(buf, n, "interleaved");
    else snprintf(buf, n, "node %d", node);
    return buf;
}

static void print_topology(const sf_topology *t) {
    sf_topo_summary s;
    sf_topo_summarize(&s, t);
    printf("topology:  %d package%s, %d NUMA node%s, %d cores, %d PUs (%d cores, %d PUs usable); from %s\n", s.packages,
           s.packages == 1 ? "" : "s", s.numa_nodes, s.numa_nodes == 1 ? "" : "s", s.cores, s.pus, s.usable_cores,
           s.usable_pus, sf_topology_source(t));
    printf("numa:     ");
    for (int i = 0; i < s.numa_nodes && i < SF_TOPO_MAX_GROUPS; i++)
        printf(" node L#%d %zu MiB%s", i, s.numa_bytes[i] >> 20, i + 1 < s.numa_nodes ? "," : "");
    printf("\n");
    printf("hw caches: L1d %zu KiB x%d, L2 %zu KiB x%d, L3 %zu KiB x%d (hwloc)\n", s.l1d >> 10, s.n_l1d, s.l2 >> 10,
           s.n_l2, s.l3 >> 10, s.n_l3);
}

static void print_plan(const sf_topo_plan *p, const sf_topo_opts *o, const int *observed, int misplaced) {
    printf("placement: %d threads, numa %s, %s\n", p->n_threads, sf_numa_name(p->numa),
           p->bind ? "each thread bound to its PU" : "not bound by springfield");
    if (!p->bind) printf("           %s (%s)\n", p->why_unbound, o->omp_env);
    char pus[256], cores[256], ran[256], b1[32];
    int v[SF_TOPO_MAX_THREADS], c[SF_TOPO_MAX_THREADS];
    for (int g = 0; g < p->n_groups; g++) {
        int first = p->group_first_thread[g], n = p->group_threads[g];
        for (int i = 0; i < n; i++) v[i] = p->thread_pu[first + i], c[i] = p->thread_core[first + i];
        sf_list_str(pus, sizeof pus, v, n);
        sf_list_str(cores, sizeof cores, c, n);
        char range[32];
        if (n == 1) snprintf(range, sizeof range, "thread %d", first);
        else snprintf(range, sizeof range, "threads %d-%d", first, first + n - 1);
        printf("  group %d: %s -> core%s %s (PU%s %s) on %s; samples %d-%d of the batch\n", g, range,
               n == 1 ? "" : "s", cores, n == 1 ? "" : "s", pus, node_str(b1, sizeof b1, p->group_node[g]),
               p->batch_start[g], p->batch_start[g] + p->batch_count[g] - 1);
    }
    if (!observed) return;
    for (int i = 0; i < p->n_threads; i++) v[i] = observed[i];
    sf_list_str(ran, sizeof ran, v, p->n_threads);
    if (misplaced < 0) printf("  binding:  failed (threads ran on PUs %s)\n", ran);
    else if (p->bind) printf("  binding:  %d of %d threads on their planned PU (observed PUs %s)\n",
                             p->n_threads - misplaced, p->n_threads, ran);
    else printf("  binding:  threads observed on PUs %s\n", ran);
}

// Each thread allocates its scratch where the plan says and touches it; the OS then says where it lives.
static void print_buffers(const sf_topology *t, const sf_topo_plan *p) {
    const size_t bytes = 4 << 20;
    int found[SF_TOPO_MAX_THREADS];
#pragma omp parallel num_threads(p->n_threads)
    {
#ifdef _OPENMP
        int i = omp_get_thread_num();
#else
        int i = 0;
#endif
        void *buf = sf_topo_alloc(t, bytes, sf_topo_buf_node(p, SF_BUF_THREAD, i));
        sf_topo_first_touch(buf, bytes);
        found[i] = sf_topo_area_node(t, buf, bytes);
        sf_topo_free(t, buf, bytes);
    }
    int ok = 0;
    for (int i = 0; i < p->n_threads; i++) {
        int want = sf_topo_buf_node(p, SF_BUF_THREAD, i);
        ok += want < 0 || found[i] == want;
    }
    char b1[32], b2[32], b3[32];
    printf("buffers:   thread scratch (GEMM packing, partial sums) -> the thread's node: %d of %d 4 MiB probes "
           "found there (thread 0: %s)\n",
           ok, p->n_threads, node_str(b1, sizeof b1, found[0]));
    printf("           node replica (weights, gradients, activations of its batch share) -> %s",
           node_str(b2, sizeof b2, sf_topo_buf_node(p, SF_BUF_GROUP, 0)));
    printf("%s; shared (master weights, input batch) -> %s\n", p->n_groups > 1 ? " (group 0)" : "",
           node_str(b3, sizeof b3, sf_topo_buf_node(p, SF_BUF_SHARED, 0)));
}

// The replicas training would build (nn/replica.h), with the pages' nodes as the OS reports them.
static void print_replicas(const sf_topology *t, const sf_topo_plan *p, const char *arch, int size, int batch) {
    sf_model_config mc = {.arch = arch, .n_classes = 42, .in_h = size, .in_w = size, .max_batch = batch, .seed = 1};
    char err[512], b1[32], b2[32], b3[32], b4[32];
    sf_replicas *r = sf_replicas_create(&mc, t, p, NULL, err, sizeof err);
    if (!r) {
        printf("           %s replicas: %s\n", arch, err);
        return;
    }
    printf("           %s at %d px, batch %d: %d replica%s (found where their pages are now)\n", arch, size, batch,
           sf_replicas_count(r), sf_replicas_count(r) == 1 ? "" : "s");
    for (int g = 0; g < sf_replicas_count(r); g++) {
        sf_replica_mem w;
        sf_replicas_where(&w, r, g);
        printf("           replica %d (up to %d samples, planned %s): weights %.1f MiB on %s, gradients %.1f MiB on "
               "%s, activations %.1f MiB on %s\n",
               g, w.max_batch, node_str(b1, sizeof b1, w.planned), w.bytes_params / 1048576.0,
               node_str(b2, sizeof b2, w.node_params), w.bytes_grads / 1048576.0, node_str(b3, sizeof b3, w.node_grads),
               w.bytes_acts / 1048576.0, node_str(b4, sizeof b4, w.node_acts));
    }
    sf_replicas_free(r);
}

static void print_profile(void) {
    char note[1024];
    sf_profile tmp;
    sf_profile_find(&tmp, sf_cpu(), NULL, note, sizeof note);
    const sf_profile *p = sf_profile_active();
    char name[160];
    sf_profile_name(name, sizeof name, sf_cpu(), 1);
    int mr, nr, mc, kc, nc;
    const char *kern = "?";
    sf_sgemm_get_blocking(&mr, &nr, &mc, &kc, &nc, &kern);
    printf("profile:   %s%s%s%s (this CPU's name: %s); %d baselines\n", p->name, p->path[0] ? " (" : "", p->path,
           p->path[0] ? ")" : "", name, p->n_baselines);
    if (!p->path[0]) printf("           %s\n", note);
    printf("gemm:      micro-kernel %s (%dx%d), blocks MC %d KC %d NC %d%s\n", kern, mr, nr, mc, kc, nc,
           p->gemm_mc || p->gemm_kc || p->gemm_nc ? " (from the profile)" : " (cache-size defaults)");
    sf_isa isa = sf_isa_active();
    printf("conv:      direct %s blocking per layer class (ocb output blocks, leftovers across images below N):",
           sf_isa_name(isa));
    for (int c = 0; c < SF_CONV_N_CLASSES; c++) {
        int ocb, across;
        if (sf_conv_get_tuning(isa, (sf_conv_class)c, &ocb, &across)) continue;
        printf("%s %s ocb %d N %d%s", c ? "," : "", sf_conv_class_name((sf_conv_class)c), ocb, across,
               p->conv_ocb[isa][c] >= 0 || p->conv_across[isa][c] >= 0 ? " (profile)" : "");
    }
    printf("\n");
}

int sf_cmd_info(int argc, char **argv) {
    // --isa-supported NAME: exit status says whether this CPU runs that path (used by make test-isas).
    if (argc == 3 && !strcmp(argv[1], "--isa-supported")) {
        int isa = sf_isa_parse(argv[2]);
        return isa >= 0 && sf_isa_supported((sf_isa)isa) ? 0 : 1;
    }
    sf_opts o;
    int rc = sf_opts_cli(&o, spec, NSPEC, argc, argv, "springfield info [options]");
    if (rc >= 0) return rc;
    const sf_topology *topo = sf_topology_get();
    sf_topo_opts to;
    sf_topo_opts_default(&to);
    if (sf_opt_int(&o, "threads") > 0) to.threads = (int)sf_opt_int(&o, "threads");
    to.numa = (sf_numa_mode)sf_numa_parse(sf_opt_str(&o, "numa"));
    to.smt = sf_opt_flag(&o, "smt");
    to.batch = (int)sf_opt_int(&o, "batch");
    sf_topo_plan *plan = sf_malloc(sizeof *plan);
    int have_plan = sf_topo_plan_make(plan, topo, &to) == 0;
    char err[512];
    if (have_plan && sf_placement_fake_groups(plan, err, sizeof err) < 0) {
        fprintf(stderr, "springfield info: %s\n", err);
        free(plan);
        return 2;
    }
    int observed[SF_TOPO_MAX_THREADS], misplaced = 0;
    int bound = have_plan && sf_opt_flag(&o, "bind");
    if (bound) misplaced = sf_topo_apply(topo, plan, observed);
    else if (have_plan) sf_set_threads(plan->n_threads);

    const sf_cpu_info *c = sf_cpu();
    printf("cpu:       %s (%s family %d model %d), %d logical CPUs\n", c->name, c->vendor, c->family,
           c->model, c->logical_cpus);
    printf("isa:       %s (vector block %d floats)", sf_isa_name(sf_isa_active()), sf_vb());
    printf("; supported:");
    for (int i = 0; i < 4; i++)
        if (sf_isa_supported((sf_isa)i)) printf(" %s", sf_isa_name((sf_isa)i));
    printf("\n");
    printf("bf16:      %s\n", sf_bf16_supported() ? "yes (AVX512_BF16: train --precision bf16 runs the convolutions in bf16)"
                                                  : "no (train --precision bf16 runs in fp32 here)");
    printf("caches:    L1d %zu KiB, L2 %zu KiB, L3 %zu KiB\n", c->l1d >> 10, c->l2 >> 10, c->l3 >> 10);
    printf("threads:   %d\n", sf_threads());
    double p1 = sf_peak_gflops();
    double pn = sf_peak_gflops_threads(sf_threads());
    printf("peak:      %.1f GFLOP/s fp32 on 1 thread, %.1f GFLOP/s on %d threads (measured FMA probe)\n", p1,
           pn, sf_threads());
    print_topology(topo);
    if (have_plan) {
        print_plan(plan, &to, bound ? observed : NULL, misplaced);
        print_buffers(topo, plan);
        if (strcmp(sf_opt_str(&o, "model"), "none") != 0)
            print_replicas(topo, plan, sf_opt_str(&o, "model"), (int)sf_opt_int(&o, "size"), to.batch);
    } else {
        printf("placement: no usable PU in this process's cpuset\n");
    }
    print_profile();
    free(plan);
    return 0;
}
