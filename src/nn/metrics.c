// metrics.c: see metrics.h.
#include "nn/metrics.h"

int64_t sf_confusion_add(int64_t *cm, int k, const int *y_true, const int *y_pred, int64_t n) {
    int64_t skipped = 0;
    for (int64_t i = 0; i < n; i++) {
        int t = y_true[i], p = y_pred[i];
        if (t < 0 || t >= k || p < 0 || p >= k) {
            skipped++;
            continue;
        }
        cm[(int64_t)t * k + p]++;
    }
    return skipped;
}

void sf_metrics_compute(sf_metrics *out, double *precision, double *recall, double *f1, int64_t *support,
                        const int64_t *cm, int k) {
    int64_t total = 0, correct = 0;
    double sum_p = 0, sum_r = 0, sum_f = 0, sum_wf = 0;
    int present = 0;
    for (int c = 0; c < k; c++) {
        int64_t tp = cm[(int64_t)c * k + c], row = 0, col = 0;
        for (int j = 0; j < k; j++) {
            row += cm[(int64_t)c * k + j];
            col += cm[(int64_t)j * k + c];
        }
        double p = col ? (double)tp / (double)col : 0.0;
        double r = row ? (double)tp / (double)row : 0.0;
        double f = p + r > 0 ? 2.0 * p * r / (p + r) : 0.0;
        if (precision) precision[c] = p;
        if (recall) recall[c] = r;
        if (f1) f1[c] = f;
        if (support) support[c] = row;
        total += row;
        correct += tp;
        if (row || col) {
            present++;
            sum_p += p;
            sum_r += r;
            sum_f += f;
        }
        sum_wf += f * (double)row;
    }
    out->total = total;
    out->present = present;
    out->accuracy = total ? (double)correct / (double)total : 0.0;
    out->macro_precision = present ? sum_p / present : 0.0;
    out->macro_recall = present ? sum_r / present : 0.0;
    out->macro_f1 = present ? sum_f / present : 0.0;
    out->weighted_f1 = total ? sum_wf / (double)total : 0.0;
}

int sf_argmax(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best] || (x[best] != x[best] && x[i] == x[i])) best = i;
    return best;
}
