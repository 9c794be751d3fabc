// test_metrics.c: confusion matrix and the derived metrics, against values worked out by hand (and
// matching scikit-learn's classification_report conventions stated in metrics.h).
#include <criterion/criterion.h>
#include <math.h>

#include "nn/metrics.h"

#define TOL 1e-12

// 3 classes; true = [0,0,0,0,1,1,2,2,2,2], pred = [0,0,1,2,1,1,2,2,0,0].
//   class 0: tp 2, row 4, col 4 -> p 0.5, r 0.5, f 0.5
//   class 1: tp 2, row 2, col 3 -> p 2/3, r 1, f 0.8
//   class 2: tp 2, row 4, col 3 -> p 2/3, r 0.5, f 4/7
Test(metrics, hand_worked_three_classes) {
    const int yt[] = {0, 0, 0, 0, 1, 1, 2, 2, 2, 2};
    const int yp[] = {0, 0, 1, 2, 1, 1, 2, 2, 0, 0};
    int64_t cm[9] = {0};
    cr_assert_eq(sf_confusion_add(cm, 3, yt, yp, 10), 0);
    const int64_t want_cm[9] = {2, 1, 1, 0, 2, 0, 2, 0, 2};
    for (int i = 0; i < 9; i++) cr_assert_eq(cm[i], want_cm[i], "cm[%d]", i);
    sf_metrics m;
    double p[3], r[3], f[3];
    int64_t s[3];
    sf_metrics_compute(&m, p, r, f, s, cm, 3);
    double f2 = 2.0 * (2.0 / 3) * 0.5 / (2.0 / 3 + 0.5);
    cr_log_info("acc %.6f macro_f1 %.6f weighted_f1 %.6f", m.accuracy, m.macro_f1, m.weighted_f1);
    cr_assert_float_eq(m.accuracy, 0.6, TOL);
    cr_assert_float_eq(p[1], 2.0 / 3, TOL);
    cr_assert_float_eq(r[1], 1.0, TOL);
    cr_assert_float_eq(f[1], 0.8, TOL);
    cr_assert_float_eq(f[2], f2, TOL);
    cr_assert_float_eq(f2, 4.0 / 7, TOL);
    cr_assert_eq(s[0], 4);
    cr_assert_eq(s[1], 2);
    cr_assert_float_eq(m.macro_f1, (0.5 + 0.8 + 4.0 / 7) / 3, TOL);
    cr_assert_float_eq(m.weighted_f1, (0.5 * 4 + 0.8 * 2 + 4.0 / 7 * 4) / 10, TOL);
    cr_assert_float_eq(m.macro_precision, (0.5 + 2.0 / 3 + 2.0 / 3) / 3, TOL);
    cr_assert_float_eq(m.macro_recall, (0.5 + 1 + 0.5) / 3, TOL);
    cr_assert_eq(m.total, 10);
}

// A class that never occurs (neither true nor predicted) stays out of the macro mean; a class only
// predicted (never true) counts with F1 0.
Test(metrics, absent_and_predicted_only_classes) {
    const int yt[] = {0, 0, 1, 1};
    const int yp[] = {0, 3, 1, 1};
    int64_t cm[16] = {0};
    sf_confusion_add(cm, 4, yt, yp, 4);
    sf_metrics m;
    double f[4];
    sf_metrics_compute(&m, NULL, NULL, f, NULL, cm, 4);
    cr_assert_eq(m.present, 3);
    // class 0: p 1, r 0.5, f 2/3; class 1: f 1; class 3: f 0.
    cr_assert_float_eq(m.macro_f1, (2.0 / 3 + 1.0 + 0.0) / 3, TOL);
    cr_assert_float_eq(m.weighted_f1, (2.0 / 3 * 2 + 1.0 * 2) / 4, TOL);
    cr_assert_float_eq(f[2], 0.0, TOL);
}

Test(metrics, perfect_and_empty) {
    int64_t cm[4] = {5, 0, 0, 7};
    sf_metrics m;
    sf_metrics_compute(&m, NULL, NULL, NULL, NULL, cm, 2);
    cr_assert_float_eq(m.accuracy, 1.0, TOL);
    cr_assert_float_eq(m.macro_f1, 1.0, TOL);
    cr_assert_float_eq(m.weighted_f1, 1.0, TOL);
    int64_t z[4] = {0};
    sf_metrics_compute(&m, NULL, NULL, NULL, NULL, z, 2);
    cr_assert_eq(m.total, 0);
    cr_assert_float_eq(m.accuracy, 0.0, TOL);
    cr_assert_float_eq(m.macro_f1, 0.0, TOL);
}

Test(metrics, out_of_range_labels_are_skipped) {
    const int yt[] = {0, 5, -1, 1};
    const int yp[] = {0, 0, 1, 7};
    int64_t cm[4] = {0};
    cr_assert_eq(sf_confusion_add(cm, 2, yt, yp, 4), 3);
    cr_assert_eq(cm[0], 1);
}

Test(metrics, argmax) {
    const float a[] = {0.1f, 3.0f, 3.0f, -1.0f};
    cr_assert_eq(sf_argmax(a, 4), 1, "first of equal maxima");
    const float b[] = {NAN, -5.0f, -2.0f};
    cr_assert_eq(sf_argmax(b, 3), 2, "NaN never wins");
}
