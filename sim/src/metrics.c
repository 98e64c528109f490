/* What a replay measured, turned into a sim_policy_result: per-cycle
 * fairness (Jain's index of dominant shares), time series in fixed buckets,
 * job completion time percentiles (nearest rank), utilisation and allocator
 * cost. Everything but the cost comes from simulated time only, so it is
 * identical for the same trace, config and seed.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "locus/error.h"
#include "world.h"

int sim_series_add(sim_world *w, double **arr, double t, double value)
{
    double fi = floor((t - w->first_submit) / w->series_bucket_s);
    size_t idx = fi > 0 ? (size_t)fi : 0;
    sim_policy_result *r = w->res;
    if (idx >= w->series_cap) {
        size_t cap = w->series_cap ? w->series_cap : 256;
        while (cap <= idx)
            cap *= 2;
        double *a = realloc(r->series_network_bytes, cap * sizeof *a);
        if (!a)
            return LOCUS_ENOMEM;
        r->series_network_bytes = a;
        double *b = realloc(r->series_utilisation, cap * sizeof *b);
        if (!b)
            return LOCUS_ENOMEM;
        r->series_utilisation = b;
        for (size_t i = w->series_cap; i < cap; i++)
            a[i] = b[i] = 0.0;
        w->series_cap = cap;
    }
    if (idx >= r->n_series)
        r->n_series = idx + 1;
    (*arr)[idx] += value;
    return 0;
}

int sim_series_add_span(sim_world *w, double **arr, double t0, double t1, double value)
{
    if (t1 <= t0)
        return sim_series_add(w, arr, t0, value);
    double per_s = value / (t1 - t0);
    for (double t = t0; t < t1;) {
        double idx = floor((t - w->first_submit) / w->series_bucket_s);
        double end = w->first_submit + (idx + 1) * w->series_bucket_s;
        double te = end < t1 ? end : t1;
        if (te <= t)
            te = t1; /* rounding at a bucket edge: book the rest here */
        if (sim_series_add(w, arr, t, per_s * (te - t)))
            return LOCUS_ENOMEM;
        t = te;
    }
    return 0;
}

void sim_metrics_cycle(sim_world *w)
{
    if (w->n_active < 2)
        return;
    double tc = w->cl.cpus * w->cl.n_agents, tm = w->cl.mem_mb * w->cl.n_agents;
    double sum = 0, sq = 0;
    for (size_t i = 0; i < w->n_active; i++) {
        const sim_job_rt *j = &w->jobs[w->active[i]];
        double x = fmax(j->cpus / tc, j->mem / tm);
        sum += x;
        sq += x * x;
    }
    if (sq <= 0)
        return;
    w->jain_sum += sum * sum / ((double)w->n_active * sq);
    w->jain_cycles++;
}

static int dcmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double rank(const double *v, size_t n, double q)
{
    if (!n)
        return 0;
    size_t k = (size_t)ceil(q * (double)n);
    if (k < 1)
        k = 1;
    return v[k - 1];
}

static void stats(const double *sorted, size_t n, sim_jct_stats *out)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += sorted[i];
    out->jobs = n;
    out->mean_s = n ? sum / (double)n : 0;
    out->p50_s = rank(sorted, n, 0.50);
    out->p95_s = rank(sorted, n, 0.95);
    out->p99_s = rank(sorted, n, 0.99);
}

int sim_metrics_finish(sim_world *w)
{
    sim_policy_result *r = w->res;
    size_t n = w->jobs_done;
    double *all = malloc((n ? n : 1) * sizeof *all);
    double *small = malloc((n ? n : 1) * sizeof *small);
    double *large = malloc((n ? n : 1) * sizeof *large);
    if (!all || !small || !large) {
        free(all);
        free(small);
        free(large);
        return LOCUS_ENOMEM;
    }
    size_t na = 0, ns = 0, nl = 0;
    for (size_t i = 0; i < w->n_jobs; i++) {
        const sim_job_rt *j = &w->jobs[i];
        if (j->state != 2)
            continue;
        double jct = j->finish - j->submit;
        all[na++] = jct;
        if (j->input_bytes < 64ULL * 1048576ULL)
            small[ns++] = jct;
        else
            large[nl++] = jct;
    }
    qsort(all, na, sizeof *all, dcmp);
    qsort(small, ns, sizeof *small, dcmp);
    qsort(large, nl, sizeof *large, dcmp);
    stats(all, na, &r->jct_all);
    stats(small, ns, &r->jct_small);
    stats(large, nl, &r->jct_large);
    free(small);
    free(large);
    r->jct_sorted = all;
    r->n_jct = na;
    /* Time to first launch (all jobs, and reduce phases), slowdown against
     * running alone. */
    size_t nf = 0, nr = 0, nd = 0;
    double *fl = malloc((n ? n : 1) * sizeof *fl), *fr = malloc((n ? n : 1) * sizeof *fr);
    double *sd = malloc((n ? n : 1) * sizeof *sd);
    if (!fl || !fr || !sd) {
        free(fl);
        free(fr);
        free(sd);
        free(all);
        return LOCUS_ENOMEM;
    }
    for (size_t i = 0; i < w->n_jobs; i++) {
        const sim_job_rt *j = &w->jobs[i];
        if (j->state != 2)
            continue;
        if (j->first_launch >= 0)
            fl[nf++] = j->first_launch - j->submit;
        if (j->reduce_ready >= 0 && j->first_reduce >= 0)
            fr[nr++] = j->first_reduce - j->reduce_ready;
        if (j->ideal_s > 0)
            sd[nd++] = (j->finish - j->submit) / j->ideal_s;
    }
    qsort(fl, nf, sizeof *fl, dcmp);
    qsort(fr, nr, sizeof *fr, dcmp);
    qsort(sd, nd, sizeof *sd, dcmp);
    stats(fl, nf, &r->first_launch);
    stats(fr, nr, &r->first_reduce);
    sim_jct_stats sds;
    stats(sd, nd, &sds);
    r->slowdown_mean = sds.mean_s;
    r->slowdown_p95 = sds.p95_s;
    free(fl);
    free(fr);
    free(sd);
    r->makespan_s = na ? w->last_finish - w->first_submit : 0;
    double cpus = w->cl.cpus * w->cl.n_agents;
    r->utilisation = r->makespan_s > 0 ? w->busy_cpu_s / (cpus * r->makespan_s) : 0;
    double window = w->last_submit - w->first_submit;
    r->load = window > 0 ? w->busy_in_window_cpu_s / (cpus * window) : r->utilisation;
    /* The work the arrivals bring per unit of arrival time against the
     * cluster's capacity (queueing theory's rho): it grows with the factor
     * and has neither the empty start nor the drain tail in it. */
    r->offered_load = window > 0 ? w->busy_cpu_s / (cpus * window) : r->utilisation;
    r->jain_fairness = w->jain_cycles ? w->jain_sum / (double)w->jain_cycles : 1.0;
    r->series_bucket_s = w->series_bucket_s;
    for (size_t i = 0; i < r->n_series; i++)
        r->series_utilisation[i] /= cpus * w->series_bucket_s;
    if (w->n_cycle_cpu) {
        double sum = 0;
        for (size_t i = 0; i < w->n_cycle_cpu; i++)
            sum += w->cycle_cpu[i];
        r->cost.alloc_cpu_mean_s = sum / (double)w->n_cycle_cpu;
        qsort(w->cycle_cpu, w->n_cycle_cpu, sizeof *w->cycle_cpu, dcmp);
        r->cost.alloc_cpu_p99_s = rank(w->cycle_cpu, w->n_cycle_cpu, 0.99);
    }
    return 0;
}
