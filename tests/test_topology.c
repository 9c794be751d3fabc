// test_topology.c: placement plans on synthetic and XML topologies (a 2-socket SMT server, a 4-node
// EPYC, a laptop, a cgroup-restricted container), and real thread binding and NUMA memory on this machine.
#include <criterion/criterion.h>
#include <hwloc.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernels/topology.h"
#include "util/util.h"

// "pack:2 numa:1 core:32 pu:2" with Linux's numbering: the SMT siblings of core k are PUs k and k + 64.
static sf_topology *server(void) {
    static char desc[1024];
    int n = snprintf(desc, sizeof desc, "pack:2 numa:1 core:32 pu:2(indexes=");
    for (int k = 0; k < 64; k++) n += snprintf(desc + n, sizeof desc - (size_t)n, "%d,%d%s", k, k + 64, k < 63 ? "," : ")");
    sf_topology *t = sf_topology_synthetic(desc);
    cr_assert_not_null(t, "hwloc rejected %s", desc);
    return t;
}

static sf_topology *synthetic(const char *desc) {
    sf_topology *t = sf_topology_synthetic(desc);
    cr_assert_not_null(t, "hwloc rejected %s", desc);
    return t;
}

static sf_topo_opts opts_with(int threads, int smt, sf_numa_mode numa, int batch) {
    sf_topo_opts o;
    memset(&o, 0, sizeof o);
    o.threads = threads, o.smt = smt, o.numa = numa, o.batch = batch;
    return o;
}

// Invariants of every plan: threads numbered group by group, batch ranges contiguous and complete,
// each PU used at most once unless oversubscribed, buffers on the thread's own node in auto mode.
static void check_plan(const sf_topo_plan *p, int batch) {
    int next = 0, samples = 0;
    for (int g = 0; g < p->n_groups; g++) {
        cr_assert_eq(p->group_first_thread[g], next, "group %d threads not contiguous", g);
        next += p->group_threads[g];
        cr_assert_eq(p->batch_start[g], samples, "group %d batch range not contiguous", g);
        samples += p->batch_count[g];
        for (int i = p->group_first_thread[g]; i < next; i++) {
            cr_assert_eq(p->thread_group[i], g);
            if (p->numa == SF_NUMA_AUTO) {
                cr_assert_eq(p->thread_node[i], p->group_node[g], "thread %d off its group's node", i);
                cr_assert_eq(sf_topo_buf_node(p, SF_BUF_THREAD, i), p->thread_node[i]);
            }
        }
    }
    cr_assert_eq(next, p->n_threads);
    cr_assert_eq(samples, batch, "batch split covers %d of %d samples", samples, batch);
}

Test(topology, server_2_sockets_smt) {
    sf_topology *t = server();
    sf_topo_summary s;
    sf_topo_summarize(&s, t);
    cr_log_info("server: %d packages, %d NUMA nodes, %d cores, %d PUs", s.packages, s.numa_nodes, s.cores, s.pus);
    cr_assert_eq(s.packages, 2);
    cr_assert_eq(s.numa_nodes, 2);
    cr_assert_eq(s.cores, 64);
    cr_assert_eq(s.pus, 128);
    cr_assert_eq(s.usable_cores, 64);

    sf_topo_opts o = opts_with(0, 0, SF_NUMA_AUTO, 64);
    sf_topo_plan p;
    cr_assert_eq(sf_topo_plan_make(&p, t, &o), 0);
    check_plan(&p, 64);
    // One thread per physical core, never an SMT sibling (PUs 64..127).
    cr_assert_eq(p.n_threads, 64);
    cr_assert(p.bind);
    for (int i = 0; i < 64; i++) {
        cr_assert_eq(p.thread_core[i], i);
        cr_assert_eq(p.thread_pu[i], i, "thread %d on PU %d", i, p.thread_pu[i]);
        cr_assert_eq(p.thread_node[i], i / 32);
    }
    cr_assert_eq(p.n_groups, 2);
    cr_assert_eq(p.group_node[0], 0);
    cr_assert_eq(p.group_node[1], 1);
    cr_assert_eq(p.batch_start[0], 0);
    cr_assert_eq(p.batch_count[0], 32);
    cr_assert_eq(p.batch_start[1], 32);
    cr_assert_eq(p.batch_count[1], 32);
    cr_assert_eq(sf_topo_buf_node(&p, SF_BUF_THREAD, 5), 0);
    cr_assert_eq(sf_topo_buf_node(&p, SF_BUF_THREAD, 40), 1);
    cr_assert_eq(sf_topo_buf_node(&p, SF_BUF_GROUP, 1), 1);
    cr_assert_eq(sf_topo_buf_node(&p, SF_BUF_SHARED, 0), SF_NODE_INTERLEAVE);

    // With SMT: 128 threads, the siblings after the cores of each node.
    o.smt = 1;
    cr_assert_eq(sf_topo_plan_make(&p, t, &o), 0);
    check_plan(&p, 64);
    cr_assert_eq(p.n_threads, 128);
    cr_assert_eq(p.group_threads[0], 64);
    cr_assert_eq(p.thread_pu[31], 31);
    cr_assert_eq(p.thread_pu[32], 64, "node 0's first sibling thread is on PU %d", p.thread_pu[32]);
    cr_assert_eq(p.thread_core[32], 0);
    cr_assert_eq(p.thread_pu[64], 32);
    cr_assert_eq(p.thread_pu[127], 127);

    // 8 threads: 4 per socket on the first cores of each.
    o = opts_with(8, 0, SF_NUMA_AUTO, 64);
    cr_assert_eq(sf_topo_plan_make(&p, t, &o), 0);
    check_plan(&p, 64);
    int want[8] = {0, 1, 2, 3, 32, 33, 34, 35};
    for (int i = 0; i < 8; i++) cr_assert_eq(p.thread_pu[i], want[i], "thread %d on PU %d", i, p.thread_pu[i]);
    cr_assert_eq(p.batch_count[0], 32);
    sf_topology_free(t);
}

Test(topology, epyc_4_nodes) {
    sf_topology *t = synthetic("pack:1 numa:4 l3:2 core:4 pu:2");
    sf_topo_summary s;
    sf_topo_summarize(&s, t);
    cr_log_info("epyc: %d NUMA nodes, %d L3 of %zu KiB, %d cores, %d PUs", s.numa_nodes, s.n_l3, s.l3 >> 10, s.cores,
                s.pus);
    cr_assert_eq(s.numa_nodes, 4);
    cr_assert_eq(s.n_l3, 8);
    cr_assert_eq(s.cores, 32);

    sf_topo_opts o = opts_with(0, 0, SF_NUMA_AUTO, 64);
    sf_topo_plan p;
    cr_assert_eq(sf_topo_plan_make(&p, t, &o), 0);
    check_plan(&p, 64);
    cr_assert_eq(p.n_threads, 32);
    cr_assert_eq(p.n_groups, 4);
    for (int g = 0; g < 4; g++) {
        cr_assert_eq(p.group_node[g], g);
        cr_assert_eq(p.group_threads[g], 8);
        cr_assert_eq(p.batch_start[g], 16 * g);
        cr_assert_eq(p.batch_count[g], 16);
        cr_assert_eq(sf_topo_buf_node(&p, SF_BUF_GROUP, g), g);
    }
    // Synthetic PUs are numbered in order: core k holds PUs 2k and 2k+1.
    for (int i = 0; i < 32; i++) cr_assert_eq(p.thread_pu[i], 2 * i);

    // A batch that does not divide: 50 = 13 + 13 + 12 + 12.
    o.batch = 50;
    cr_assert_eq(sf_topo_plan_make(&p, t, &o), 0);
    check_plan(&p, 50);
    int counts[4] = {13, 13, 12, 12};
    for (int g = 0; g < 4; g++) cr_assert_eq(p.batch_count[g], counts[g], "node %d got %d", g, p.batch_count[g]);

    // 6 threads over 4 equal nodes: 2, 2, 1, 1; the batch follows the threads (64 * 2/6 = 21.3, 64 * 1/6 = 10.7).
    o = opts_with(6, 0, SF_NUMA_AUTO, 64);
    cr_assert_eq(sf_topo_plan_make(&p, t, &o), 0);
    check_plan(&p, 64);
    int threads[4] = {2, 2, 1, 1}, batch[4] = {21, 21, 11, 11};
    for (int g = 0; g < 4; g++) {
        cr_assert_eq(p.group_threads[g], threads[g]);
        cr_assert_eq(p.batch_count[g], batch[g], "node %d got %d samples", g, p.batch_count[g]);
    }
    // 2 threads: two nodes stay idle and get no samples.
    o.threads = 2;
    cr_assert_eq(sf_topo_plan_make(&p, t, &o), 0);
    check_plan(&p, 64);
    cr_assert_eq(p.n_groups, 2);
    cr_assert_eq(p.group_node[1], 1);
    sf_topology_free(t);
}

Test(topology, laptop_single_node) {
    sf_topology *t = synthetic("pack:1 numa:1 l3:1 l2:4 core:1 pu:2");
    sf_topo_opts o = opts_with(0, 0, SF_NUMA_AUTO, 64);
    sf_topo_plan p;
    cr_assert_eq(sf_topo_plan_make(&p, t, &o), 0);
    check_plan(&p, 64);
    cr_assert_eq(p.n_threads, 4);
    cr_assert_eq(p.n_groups, 1);
    cr_assert_eq(p.batch_count[0], 64);
    cr_assert_eq(sf_topo_buf_node(&p, SF_BUF_SHARED, 0), 0, "one node: shared buffers are simply local");
    for (int i = 0; i < 4; i++) cr_assert_eq(p.thread_pu[i], 2 * i);

    // More threads than cores: siblings before doubling up, then wrap around.
    o.threads = 6;
    cr_assert_eq(sf_topo_plan_make(&p, t, &o), 0);
    int want[6] = {0, 2, 4, 6, 1, 3};
    for (int i = 0; i < 6; i++) cr_assert_eq(p.thread_pu[i], want[i]);
    o.threads = 10;
    cr_assert_eq(sf_topo_plan_make(&p, t, &o), 0);
    cr_assert_eq(p.n_threads, 10);
    cr_assert_eq(p.thread_pu[8], 0);
    sf_topology_free(t);
}

Test(topology, restricted_cpuset) {
    sf_topology *t = server();
    // A container given cores 0-7 on socket 0 (both siblings), core 40 on socket 1, and only the second
    // sibling (PU 100) of core 36.
    cr_assert_eq(sf_topology_allow_cpus(t, "0-7,64-71,40,104,100"), 0);
    sf_topo_summary s;
    sf_topo_summarize(&s, t);
    cr_log_info("restricted: %d of %d cores, %d of %d PUs usable", s.usable_cores, s.cores, s.usable_pus, s.pus);
    cr_assert_eq(s.usable_cores, 10);
    cr_assert_eq(s.usable_pus, 19);
    sf_topo_opts o = opts_with(0, 0, SF_NUMA_AUTO, 64);
    sf_topo_plan p;
    cr_assert_eq(sf_topo_plan_make(&p, t, &o), 0);
    check_plan(&p, 64);
    cr_assert_eq(p.n_threads, 10);
    int want_pu[10] = {0, 1, 2, 3, 4, 5, 6, 7, 100, 40};
    int want_core[10] = {0, 1, 2, 3, 4, 5, 6, 7, 36, 40};
    for (int i = 0; i < 10; i++) {
        cr_assert_eq(p.thread_pu[i], want_pu[i], "thread %d on PU %d", i, p.thread_pu[i]);
        cr_assert_eq(p.thread_core[i], want_core[i]);
    }
    // 8 cores on node 0, 2 on node 1: the batch of 64 splits 51 / 13 (8:2 by largest remainder).
    cr_assert_eq(p.n_groups, 2);
    cr_assert_eq(p.batch_count[0], 51);
    cr_assert_eq(p.batch_count[1], 13);
    cr_assert_eq(sf_topo_buf_node(&p, SF_BUF_THREAD, 9), 1);

    // Only socket 0: one group takes the whole batch.
    cr_assert_eq(sf_topology_allow_cpus(t, "0-31"), 0);
    cr_assert_eq(sf_topo_plan_make(&p, t, &o), 0);
    check_plan(&p, 64);
    cr_assert_eq(p.n_threads, 32);
    cr_assert_eq(p.n_groups, 1);
    cr_assert_eq(p.group_node[0], 0);
    cr_assert_eq(p.batch_count[0], 64);
    cr_assert_eq(sf_topo_buf_node(&p, SF_BUF_SHARED, 0), 0);

    cr_assert_neq(sf_topology_allow_cpus(t, "not-a-list"), 0);
    sf_topology_free(t);
}

Test(topology, numa_modes_and_omp_env) {
    sf_topology *t = server();
    sf_topo_opts o = opts_with(0, 0, SF_NUMA_OFF, 64);
    sf_topo_plan p;
    cr_assert_eq(sf_topo_plan_make(&p, t, &o), 0);
    check_plan(&p, 64);
    cr_assert_eq(p.n_groups, 1);
    cr_assert_eq(p.n_threads, 64);
    cr_assert_eq(p.batch_count[0], 64);
    cr_assert_eq(p.thread_node[40], 1, "the report still names the real node");
    cr_assert_eq(sf_topo_buf_node(&p, SF_BUF_THREAD, 40), SF_NODE_ANY);
    cr_assert_eq(sf_topo_buf_node(&p, SF_BUF_SHARED, 0), SF_NODE_ANY);

    o.numa = SF_NUMA_INTERLEAVE;
    o.threads = 8;
    cr_assert_eq(sf_topo_plan_make(&p, t, &o), 0);
    check_plan(&p, 64);
    cr_assert_eq(p.thread_pu[7], 7, "one group: compact placement");
    cr_assert_eq(sf_topo_buf_node(&p, SF_BUF_THREAD, 3), SF_NODE_INTERLEAVE);
    cr_assert_eq(sf_topo_buf_node(&p, SF_BUF_GROUP, 0), SF_NODE_INTERLEAVE);

    cr_assert_eq(sf_numa_parse("auto"), SF_NUMA_AUTO);
    cr_assert_eq(sf_numa_parse("interleave"), SF_NUMA_INTERLEAVE);
    cr_assert_eq(sf_numa_parse("off"), SF_NUMA_OFF);
    cr_assert_eq(sf_numa_parse("on"), -1);

    // OMP_PLACES given: the plan leaves placement to the runtime and says why.
    setenv("OMP_PLACES", "cores", 1);
    sf_topo_opts_default(&o);
    unsetenv("OMP_PLACES");
    cr_assert(o.omp_binds);
    cr_assert(strstr(o.omp_env, "OMP_PLACES=cores") != NULL, "env report '%s'", o.omp_env);
    cr_assert_eq(sf_topo_plan_make(&p, t, &o), 0);
    cr_assert_eq(p.bind, 0);
    cr_assert_not_null(p.why_unbound);
    sf_topology_free(t);
}

Test(topology, xml_file_and_bad_description) {
    sf_topology *t = synthetic("pack:2 numa:2 core:4 pu:1");
    // Export through hwloc itself, then load the file as HWLOC_XMLFILE would.
    hwloc_topology_t h;
    cr_assert_eq(hwloc_topology_init(&h), 0);
    cr_assert_eq(hwloc_topology_set_synthetic(h, "pack:2 numa:2 core:4 pu:1"), 0);
    cr_assert_eq(hwloc_topology_load(h), 0);
    char path[64];
    snprintf(path, sizeof path, "/tmp/sf_topo_%d.xml", (int)getpid());
    cr_assert_eq(hwloc_topology_export_xml(h, path, 0), 0);
    hwloc_topology_destroy(h);
    sf_topology *x = sf_topology_xml(path);
    unlink(path);
    cr_assert_not_null(x);
    cr_log_info("loaded %s", sf_topology_source(x));
    sf_topo_opts o = opts_with(0, 0, SF_NUMA_AUTO, 64);
    sf_topo_plan a, b;
    cr_assert_eq(sf_topo_plan_make(&a, t, &o), 0);
    cr_assert_eq(sf_topo_plan_make(&b, x, &o), 0);
    check_plan(&b, 64);
    cr_assert_eq(b.n_groups, 4);
    cr_assert_eq(memcmp(&a, &b, sizeof a), 0, "the XML copy plans differently from its source");
    sf_topology_free(x);
    sf_topology_free(t);
    cr_assert_null(sf_topology_synthetic("pack:2 bogus:7"));
    cr_assert_null(sf_topology_xml("/nonexistent/topology.xml"));
}

Test(topology, real_binding_on_this_machine) {
    const sf_topology *t = sf_topology_get();
    sf_topo_summary s;
    sf_topo_summarize(&s, t);
    cr_log_info("this machine (%s): %d packages, %d nodes, %d cores, %d PUs, %d usable cores", sf_topology_source(t),
                s.packages, s.numa_nodes, s.cores, s.pus, s.usable_cores);
    cr_assert(s.usable_cores >= 1);
    sf_topo_opts o = opts_with(0, 0, SF_NUMA_AUTO, 64);
    sf_topo_plan p;
    cr_assert_eq(sf_topo_plan_make(&p, t, &o), 0);
    check_plan(&p, 64);
    cr_assert_eq(p.n_threads, s.usable_cores);
    int observed[SF_TOPO_MAX_THREADS];
    int misplaced = sf_topo_apply(t, &p, observed);
    for (int i = 0; i < p.n_threads; i++)
        cr_log_info("thread %d: planned PU %d (core %d, node %d), ran on PU %d", i, p.thread_pu[i], p.thread_core[i],
                    p.thread_node[i], observed[i]);
    cr_assert_eq(misplaced, 0, "%d threads ran off their PU", misplaced);
    cr_assert_eq(sf_threads(), p.n_threads);

    // A later region of the same size runs on the same bound threads.
    int again[SF_TOPO_MAX_THREADS] = {0};
    hwloc_topology_t h;
    cr_assert_eq(hwloc_topology_init(&h), 0);
    cr_assert_eq(hwloc_topology_load(h), 0);
#pragma omp parallel num_threads(p.n_threads)
    {
        hwloc_bitmap_t set = hwloc_bitmap_alloc();
        volatile double x = 0;
        for (int k = 0; k < 2000000; k++) x += k;
        hwloc_get_last_cpu_location(h, set, HWLOC_CPUBIND_THREAD);
        again[omp_get_thread_num()] = hwloc_bitmap_first(set);
        hwloc_bitmap_free(set);
    }
    hwloc_topology_destroy(h);
    for (int i = 0; i < p.n_threads; i++) cr_assert_eq(again[i], p.thread_pu[i], "thread %d moved to PU %d", i, again[i]);

    // Per-thread buffers on the thread's node: bound allocation, then first touch by the bound thread.
    size_t bytes = 4 << 20;
    int node = sf_topo_buf_node(&p, SF_BUF_THREAD, 0);
    float *buf = sf_topo_alloc(t, bytes, node);
    sf_topo_first_touch(buf, bytes);
    int where = sf_topo_area_node(t, buf, bytes);
    cr_log_info("4 MiB scratch for thread 0 planned on node %d, found on node %d", node, where);
    cr_assert_eq(where, node);
    cr_assert_eq(sf_topo_bind_area(t, buf, bytes, node), 0);
    sf_topo_free(t, buf, bytes);
}

// A short last batch keeps the plan's proportions (2-socket server: 32 threads per node), and so does a
// batch smaller than the number of groups (4-node EPYC: one sample per node, the rest idle).
Test(topology, batch_split_of_a_short_batch) {
    sf_topology *t = server();
    sf_topo_opts o = opts_with(0, 0, SF_NUMA_AUTO, 64);
    sf_topo_plan p;
    cr_assert_eq(sf_topo_plan_make(&p, t, &o), 0);
    cr_assert_eq(p.n_groups, 2);
    int start[SF_TOPO_MAX_GROUPS], count[SF_TOPO_MAX_GROUPS];
    sf_topo_batch_split(start, count, &p, 64);
    for (int g = 0; g < 2; g++) cr_assert(start[g] == p.batch_start[g] && count[g] == p.batch_count[g]);
    sf_topo_batch_split(start, count, &p, 13);
    cr_assert(start[0] == 0 && count[0] == 7 && start[1] == 7 && count[1] == 6, "13 split as %d+%d", count[0],
              count[1]);
    sf_topology_free(t);

    t = synthetic("pack:1 numa:4 core:8 pu:2");
    cr_assert_eq(sf_topo_plan_make(&p, t, &o), 0);
    cr_assert_eq(p.n_groups, 4);
    sf_topo_batch_split(start, count, &p, 2);
    cr_assert(count[0] == 1 && count[1] == 1 && count[2] == 0 && count[3] == 0);
    cr_assert(start[2] == 2 && start[3] == 2);
    sf_topology_free(t);
}

// The SPRINGFIELD_FAKE_NUMA_NODES hook: a one-node laptop regrouped into 2 groups (4 cores: 2 + 2), and
// into 3 groups with only 2 threads (PUs shared round-robin so that every group has a driver).
Test(topology, split_groups_on_one_node) {
    sf_topology *t = synthetic("pack:1 numa:1 core:4 pu:2");
    sf_topo_opts o = opts_with(0, 0, SF_NUMA_AUTO, 10);
    sf_topo_plan p;
    cr_assert_eq(sf_topo_plan_make(&p, t, &o), 0);
    cr_assert_eq(p.n_groups, 1);
    cr_assert_eq(sf_topo_plan_split_groups(&p, 2), 0);
    check_plan(&p, 10);
    cr_assert_eq(p.n_groups, 2);
    cr_assert(p.group_threads[0] == 2 && p.group_threads[1] == 2);
    cr_assert(p.batch_count[0] == 5 && p.batch_count[1] == 5);
    cr_assert(p.thread_pu[2] != p.thread_pu[0] && p.thread_pu[3] != p.thread_pu[1], "a PU was used twice");
    cr_assert_eq(p.group_node[1], p.group_node[0]);

    o = opts_with(2, 0, SF_NUMA_AUTO, 9);
    cr_assert_eq(sf_topo_plan_make(&p, t, &o), 0);
    cr_assert_eq(sf_topo_plan_split_groups(&p, 3), 0);
    check_plan(&p, 9);
    cr_assert_eq(p.n_threads, 3);
    for (int g = 0; g < 3; g++) cr_assert(p.group_threads[g] == 1 && p.batch_count[g] == 3);
    cr_assert_eq(p.thread_pu[2], p.thread_pu[0]);
    cr_assert_eq(sf_topo_plan_split_groups(&p, 0), -1);
    cr_assert_eq(sf_topo_plan_split_groups(&p, SF_TOPO_MAX_GROUPS + 1), -1);
    sf_topology_free(t);
}

// A group's driver thread (not an OpenMP thread) binds its own team to the group's PUs: the team of
// group 1 ends up on the PUs planned for it, and sf_threads() on that thread is the group's count.
static const sf_topology *g_real;
static sf_topo_plan g_plan;
static int g_observed[SF_TOPO_MAX_THREADS], g_rc, g_threads_seen;
static void *drive_group1(void *arg) {
    (void)arg;
    g_rc = sf_topo_apply_group(g_real, &g_plan, 1, g_observed);
    g_threads_seen = sf_threads();
    return NULL;
}

Test(topology, group_binding_from_a_driver_thread) {
    g_real = sf_topology_get();
    sf_topo_opts o = opts_with(0, 0, SF_NUMA_AUTO, 8);
    cr_assert_eq(sf_topo_plan_make(&g_plan, g_real, &o), 0);
    cr_assert_eq(sf_topo_plan_split_groups(&g_plan, 2), 0);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, drive_group1, NULL), 0);
    pthread_join(th, NULL);
    int first = g_plan.group_first_thread[1], n = g_plan.group_threads[1];
    for (int i = first; i < first + n; i++)
        cr_log_info("group 1 thread %d: planned PU %d, ran on PU %d", i, g_plan.thread_pu[i], g_observed[i]);
    cr_assert_eq(g_rc, 0, "group 1: %d threads off their PU (or binding failed)", g_rc);
    cr_assert_eq(g_threads_seen, n);
    cr_assert_eq(sf_topo_apply_group(g_real, &g_plan, 2, NULL), -1);
}

// The calling thread's memory policy: pages it touches go to its node, and the default comes back.
Test(topology, membind_here_places_first_touch) {
    const sf_topology *t = sf_topology_get();
    sf_topo_opts o = opts_with(0, 0, SF_NUMA_AUTO, 8);
    sf_topo_plan p;
    cr_assert_eq(sf_topo_plan_make(&p, t, &o), 0);
    int node = p.group_node[0];
    cr_assert_eq(sf_topo_membind_here(t, node), 0);
    size_t bytes = 8 << 20;
    char *buf = malloc(bytes);
    memset(buf, 1, bytes);
    int where = sf_topo_area_node(t, buf, bytes);
    cr_log_info("8 MiB touched under membind to node %d: found on %d", node, where);
    cr_assert_eq(where, node);
    free(buf);
    cr_assert_eq(sf_topo_membind_here(t, SF_NODE_INTERLEAVE), 0);
    cr_assert_eq(sf_topo_membind_here(t, SF_NODE_ANY), 0);
}
