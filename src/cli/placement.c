// placement.c: see placement.h.
#include "cli/placement.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/profile.h"
#include "util/util.h"

#define FAKE_ENV "SPRINGFIELD_FAKE_NUMA_NODES"

void sf_list_str(char *out, size_t n, const int *v, int count) {
    size_t k = 0;
    out[0] = 0;
    for (int i = 0; i < count && k + 1 < n;) {
        int j = i;
        while (j + 1 < count && v[j + 1] == v[j] + 1) j++;
        int w = j > i ? snprintf(out + k, n - k, "%s%d-%d", k ? "," : "", v[i], v[j])
                      : snprintf(out + k, n - k, "%s%d", k ? "," : "", v[i]);
        if (w < 0 || (size_t)w >= n - k) break;
        k += (size_t)w;
        i = j + 1;
    }
}

static const char *node_str(char *buf, size_t n, int node) {
    if (node == SF_NODE_ANY) snprintf(buf, n, "any node");
    else if (node == SF_NODE_INTERLEAVE) snprintf(buf, n, "interleaved");
    else snprintf(buf, n, "node %d", node);
    return buf;
}

int sf_placement_fake_groups(sf_topo_plan *p, char *err, size_t errlen) {
    const char *fake = getenv(FAKE_ENV);
    if (!fake || !*fake) return 0;
    char *end;
    long n = strtol(fake, &end, 10);
    if (*end || n < 1 || n > SF_TOPO_MAX_GROUPS) {
        snprintf(err, errlen, "%s=%s: expected a number of groups in 1..%d", FAKE_ENV, fake, SF_TOPO_MAX_GROUPS);
        return -1;
    }
    if (p->numa != SF_NUMA_AUTO) {
        sf_warn("%s is ignored with --numa %s (one group)", FAKE_ENV, sf_numa_name(p->numa));
        return 0;
    }
    if (n == p->n_groups) return 0;
    sf_topo_plan_split_groups(p, (int)n);
    return (int)n;
}

int sf_placement_setup(sf_placement *out, int threads, const char *numa, int batch, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    int mode = sf_numa_parse(numa ? numa : "auto");
    if (mode < 0) {
        snprintf(err, errlen, "--numa %s: use auto, off or interleave", numa);
        return -1;
    }
    const sf_topology *t = sf_topology_get();
    sf_topo_opts o;
    sf_topo_opts_default(&o);
    if (threads > 0) o.threads = threads;
    o.numa = (sf_numa_mode)mode;
    o.batch = batch;
    sf_topo_plan *p = &out->plan;
    if (sf_topo_plan_make(p, t, &o)) {
        snprintf(err, errlen, "no usable core in this process's cpuset (hwloc topology from %s)", sf_topology_source(t));
        return -1;
    }
    out->fake_groups = sf_placement_fake_groups(p, err, errlen);
    if (out->fake_groups < 0) return -1;
    if (mode == SF_NUMA_OFF && p->bind) {
        p->bind = 0;
        p->why_unbound = "--numa off";
    }
    int observed[SF_TOPO_MAX_THREADS];
    out->misplaced = sf_topo_apply(t, p, observed);

    const sf_profile *prof = sf_profile_active();
    snprintf(out->profile, sizeof out->profile, "%s%s%s%s", prof->name, prof->path[0] ? " (" : "", prof->path,
             prof->path[0] ? ")" : "");

    // The report: threads and binding, then each group's cores, node and batch share.
    char pus[256], ran[256], b1[32];
    sf_list_str(pus, sizeof pus, p->thread_pu, p->n_threads);
    sf_list_str(ran, sizeof ran, observed, out->misplaced >= 0 ? p->n_threads : 0);
    size_t k = 0;
    int w = snprintf(out->report, sizeof out->report, "placement: %d thread%s, numa %s, ", p->n_threads,
                     p->n_threads == 1 ? "" : "s", sf_numa_name(p->numa));
    if (w > 0) k += (size_t)w;
    if (p->bind && out->misplaced == 0)
        w = snprintf(out->report + k, sizeof out->report - k, "bound to PUs %s", pus);
    else if (p->bind)
        w = snprintf(out->report + k, sizeof out->report - k, "binding to PUs %s %s (ran on %s)", pus,
                     out->misplaced < 0 ? "failed" : "not honoured", ran[0] ? ran : "?");
    else
        w = snprintf(out->report + k, sizeof out->report - k, "threads not bound: %s%s%s%s", p->why_unbound,
                     o.omp_binds ? " (" : "", o.omp_binds ? o.omp_env : "", o.omp_binds ? ")" : "");
    if (w > 0) k += (size_t)w;
    for (int g = 0; g < p->n_groups && k < sizeof out->report; g++) {
        w = snprintf(out->report + k, sizeof out->report - k, "; group %d: %d thread%s, memory %s, %d of %d samples",
                     g, p->group_threads[g], p->group_threads[g] == 1 ? "" : "s",
                     node_str(b1, sizeof b1, p->group_buf_node[g]), p->batch_count[g], batch);
        if (w > 0) k += (size_t)w;
    }
    if (out->fake_groups && k < sizeof out->report)
        snprintf(out->report + k, sizeof out->report - k, " (%s=%d: groups on one node, for testing)", FAKE_ENV,
                 out->fake_groups);
    return 0;
}

int sf_placement_model_node(const sf_placement *p) {
    if (p->plan.numa == SF_NUMA_OFF) return SF_NODE_ANY;
    return p->plan.n_groups == 1 ? p->plan.group_buf_node[0] : p->plan.shared_buf_node;
}
