// synth.h: a synthetic 42-class image dataset for the demo that needs no download.
//
// Class c is a shape (circle, square, triangle, ring, cross, diamond: c mod 6) in a colour palette
// (c / 6 mod 7) with a surface texture (solid, stripes, dots: (5c) mod 3), drawn at a random position,
// scale and rotation on a noisy gradient background next to a small distractor shape of a random kind,
// so it is learnable but not trivial. Class sizes are imbalanced like the real data: geometric from
// `largest` down to `smallest` images, assigned to classes in a scrambled order. Images are w x h with
// each side uniform in [min_size, max_size], written as JPEG files DIR/<class>/pic_NNNN.jpg.
#ifndef SF_DATA_SYNTH_H
#define SF_DATA_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#define SF_SYNTH_MAX_CLASSES 42

typedef struct {
    int n_classes;           // <= SF_SYNTH_MAX_CLASSES
    int largest, smallest;   // images in the largest and the smallest class
    int min_size, max_size;  // side lengths in pixels
    int quality;             // JPEG quality
    uint64_t seed;
} sf_synth_cfg;

// 42 classes, 300 down to 5 images (about 3100 in all), 64..96 px, quality 90, seed 1.
sf_synth_cfg sf_synth_defaults(void);
// Images of class c.
int sf_synth_class_count(const sf_synth_cfg *cfg, int c);
// The folder name of class c, e.g. "c07_green_square" (buf of n bytes).
void sf_synth_class_name(char *buf, size_t n, int c);
// Draws image i of class c into img (H,W,3) of the given size: deterministic in (seed, c, i).
void sf_synth_draw(uint8_t *img, int w, int h, int c, int i, uint64_t seed);
// Writes the whole dataset under dir (created with its parents). Returns the number of images, or -1
// with a message in err.
int sf_synth_write(const char *dir, const sf_synth_cfg *cfg, char *err, size_t errlen);

#endif
