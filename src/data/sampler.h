// sampler.h: the order in which one epoch visits the training images, with class balancing.
//
//   none        every image once, shuffled (or in index order when shuffle is off)
//   oversample  every class drawn up to the largest class's count: each image of a class of c images
//               appears floor(M/c) times plus a random (M mod c) of them once more; length M * classes
//   weighted    draws with replacement with probability proportional to 1/count(class), i.e. a uniform
//               class then a uniform image of it; as long as the subset
// The order is a pure function of (seed, epoch): the same on every machine and thread count. A repeated
// image gets fresh augmentation because the loader seeds augmentation by position in the epoch.
#ifndef SF_DATA_SAMPLER_H
#define SF_DATA_SAMPLER_H

#include <stdint.h>

typedef enum { SF_BALANCE_NONE = 0, SF_BALANCE_OVERSAMPLE, SF_BALANCE_WEIGHTED } sf_balance;

// Parses "none", "oversample", "weighted"; -1 otherwise.
int sf_balance_parse(const char *s);
const char *sf_balance_name(sf_balance b);

typedef struct {
    sf_balance mode;
    int shuffle;
    uint64_t seed;
    int n_classes;
    int n;             // images in the subset
    int *idx;          // (n) dataset indices of the subset
    int *by_class;     // (n) subset positions grouped by class
    int *class_start;  // (n_classes + 1) offsets into by_class
    int max_count;     // images in the largest class
    int present;       // classes with at least one image
} sf_sampler;

// idx (n) are dataset indices, labels the dataset's labels (indexed by dataset index, in [0, n_classes);
// with SF_BALANCE_NONE they are not read, so an unlabelled dataset works).
void sf_sampler_init(sf_sampler *s, const int *idx, int n, const int *labels, int n_classes, sf_balance mode,
                     int shuffle, uint64_t seed);
void sf_sampler_free(sf_sampler *s);
// Images per epoch.
int sf_sampler_len(const sf_sampler *s);
// order (sf_sampler_len) receives the dataset indices of the epoch.
void sf_sampler_epoch(const sf_sampler *s, int epoch, int *order);

#endif
