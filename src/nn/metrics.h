// metrics.h: classification metrics from a confusion matrix: accuracy, per-class precision, recall,
// F1 and support, macro-F1 and support-weighted F1.
//
// Conventions (those of scikit-learn's classification_report with zero_division=0): a class with no
// predictions has precision 0, one with no true samples has recall 0; the macro average runs over the
// classes that occur in the labels or the predictions, so classes absent from a small validation
// split do not drag the mean down; the weighted average weights each class's F1 by its support.
#ifndef SF_NN_METRICS_H
#define SF_NN_METRICS_H

#include <stdint.h>

// cm is (k,k), row = true class, column = predicted class; adds n pairs. Labels outside [0, k) are
// ignored and counted in the return value.
int64_t sf_confusion_add(int64_t *cm, int k, const int *y_true, const int *y_pred, int64_t n);

typedef struct {
    double accuracy;     // trace / total
    double macro_f1;
    double weighted_f1;
    double macro_precision;
    double macro_recall;
    int64_t total;
    int present;         // classes in the macro average
} sf_metrics;

// Per-class outputs are each (k,) and may be NULL when not wanted.
void sf_metrics_compute(sf_metrics *out, double *precision, double *recall, double *f1, int64_t *support,
                        const int64_t *cm, int k);

// Index of the largest of n logits (the first one on ties); NaN logits never win.
int sf_argmax(const float *x, int n);

#endif
