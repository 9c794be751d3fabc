// augment.h: the image-to-tensor transforms, training (random) and evaluation (plain resize).
//
// Training follows the seed's torchvision chain RandomRotation(15, expand=True) -> RandomHorizontalFlip ->
// RandomResizedCrop(S, scale=(0.08,1), ratio=(3/4,4/3)) -> ToTensor -> Normalize(ImageNet), but never
// builds the intermediate images: the three geometric steps compose into ONE inverse affine map from
// output pixel to source pixel, and a single bilinear pass reads the decoded image and writes normalised
// planar (3,S,S) floats. Source samples outside the rotated image are black (torchvision's fill 0). The
// rotation is therefore sampled bilinearly, where torchvision's RandomRotation defaults to nearest.
// Evaluation is the antialiased resize to (S,S) (PIL's BILINEAR, data/resize.h), then normalise.
#ifndef SF_DATA_AUGMENT_H
#define SF_DATA_AUGMENT_H

#include <stddef.h>
#include <stdint.h>
#include "util/rng.h"

// ImageNet statistics of torchvision's Normalize, per RGB channel.
extern const float sf_imagenet_mean[3];
extern const float sf_imagenet_std[3];

typedef struct {
    float rot_deg;              // angle uniform in [-rot_deg, rot_deg], canvas expanded; 0 disables
    float flip_p;               // horizontal flip probability
    float scale_min, scale_max; // crop area as a fraction of the (rotated) image
    float ratio_min, ratio_max; // crop aspect w/h, drawn log-uniformly
    float erase_p;              // random erasing probability (sf_erase_draw); 0 disables
} sf_augment_cfg;

// rot 15, flip 0.5, scale (0.08, 1), ratio (3/4, 4/3), no erasing.
sf_augment_cfg sf_augment_defaults(void);

// One draw of the random parameters for a w x h source image.
typedef struct {
    float angle;              // degrees, counter-clockwise as PIL's rotate
    int rot_w, rot_h;         // size of the expanded rotated canvas
    int flip;
    int crop_x, crop_y, crop_w, crop_h;  // in the rotated, flipped canvas
} sf_augment_params;

// Size of the canvas of PIL's rotate(angle_deg, expand=True) for a w x h image.
void sf_augment_canvas(int *cw, int *ch, float angle_deg, int w, int h);

// Draws in torchvision's order: angle, flip, then up to 10 crop attempts and the centre-crop fallback.
void sf_augment_draw(sf_augment_params *p, const sf_augment_cfg *cfg, int w, int h, sf_rng *rng);

// Inverse map from output pixel (ox, oy) to a source sampling position in pixel-index units (pixel k's
// centre at k): sx = m[0]*ox + m[1]*oy + m[2], sy = m[3]*ox + m[4]*oy + m[5].
typedef struct {
    double m[6];
} sf_affine;

// The composed crop/flip/rotation map for params p, source w x h, output S x S.
void sf_augment_affine(sf_affine *a, const sf_augment_params *p, int w, int h, int s);

// out (3,S,S) normalised, from src (H,W,3) through the inverse map a: one bilinear pass, edges clamped,
// positions beyond half a pixel outside the source are black.
void sf_warp_normalize(float *out, int s, const uint8_t *src, int w, int h, const sf_affine *a);

// A box [box[0], box[2]) x [box[1], box[3]) of source pixels that holds every pixel sf_warp_normalize
// reads for these arguments (with a pixel to spare against rounding), clamped to the image; possibly empty.
// The loader decodes only this part of a JPEG.
void sf_warp_source_box(int box[4], const sf_affine *a, int s, int w, int h);

// Random erasing, torchvision's RandomErasing(p, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0) after
// Normalize: with probability p, a box of 2-33% of the S x S area with aspect h/w log-uniform in
// [0.3, 3.3], up to 10 tries to fit strictly inside (else nothing). box = {x, y, w, h}; returns 1 when
// a box was drawn.
int sf_erase_draw(int box[4], float p, int s, sf_rng *rng);
// out (3,S,S): the box set to 0 in every channel (after normalisation: the ImageNet mean colour).
void sf_erase_apply(float *out, int s, const int box[4]);

// Evaluation: out (3,S,S) = normalise(resize(src to S x S)), mirrored when flip. scratch holds
// sf_eval_scratch_bytes(s, w, h) bytes or is NULL.
size_t sf_eval_scratch_bytes(int s, int w, int h);
void sf_eval_transform(float *out, int s, const uint8_t *src, int w, int h, int flip, void *scratch);

#endif
