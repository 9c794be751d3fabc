// dataset.h: the list of images of a dataset folder and their labels.
//
// Labelled layout: ROOT/<class>/<file>. The label of an image is the exact name of its folder; classes
// are sorted bytewise (the order of sklearn's LabelEncoder on UTF-8 names) and files within a class too,
// so indices are stable across runs and machines. Files are kept or skipped by their magic bytes (JPEG
// or PNG), not their names; symlinks are followed; hidden entries (".name") are ignored. Every skipped
// entry is named in a warning with the reason, and a class left with no usable image is named and dropped.
// A class folder whose name is not valid UTF-8 is skipped with a warning: class names are stored in JSON.
// The unlabelled layout (for predict) is a flat folder of images, labels all -1.
#ifndef SF_DATA_DATASET_H
#define SF_DATA_DATASET_H

#include <stddef.h>

typedef struct {
    int n;              // images
    char **paths;       // (n) paths, ROOT/<class>/<file>
    int *labels;        // (n) class index, or -1 when unlabelled
    int n_classes;
    char **classes;     // (n_classes) names, sorted bytewise
    int *class_counts;  // (n_classes) images per class
    int n_skipped;      // entries skipped with a warning
} sf_dataset;

// Scans ROOT/<class>/<file>. Returns 0, or -1 with a message in err when ROOT cannot be read or holds no
// usable image at all. quiet = 1 suppresses the per-entry warnings (n_skipped still counts them).
int sf_dataset_scan(sf_dataset *ds, const char *root, int quiet, char *err, size_t errlen);
// Scans a flat folder of images (sorted bytewise by name), labels -1, n_classes 0.
int sf_dataset_scan_flat(sf_dataset *ds, const char *dir, int quiet, char *err, size_t errlen);
void sf_dataset_free(sf_dataset *ds);

// Index of a class name, or -1.
int sf_dataset_class_index(const sf_dataset *ds, const char *name);
// The file name part of image i's path (after the last '/').
const char *sf_dataset_basename(const sf_dataset *ds, int i);

#endif
