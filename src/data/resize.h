// resize.h: antialiased resize of 8-bit RGB images, matching PIL's Image.resize with BILINEAR or BICUBIC.
//
// Separable, horizontal pass then vertical, each output pixel a weighted sum over the input pixels under
// the filter; when downscaling by s the filter is stretched by s (support-scaled), which is what makes it
// antialiased. Weights are PIL's 22-bit fixed point with the intermediate rounded to 8 bits, so results
// agree with PIL to the last bit (tests/test_data_resize.c checks within 1). Not to be confused with
// kernels/resize.h, the bilinear resize of feature maps inside the network.
#ifndef SF_DATA_RESIZE_H
#define SF_DATA_RESIZE_H

#include <stddef.h>
#include <stdint.h>

#include "data/image.h"

typedef enum { SF_FILTER_BILINEAR = 0, SF_FILTER_BICUBIC = 1 } sf_resize_filter;

// Bytes of scratch sf_resize_rgb8 needs for these sizes.
size_t sf_resize_scratch_bytes(int ow, int oh, int w, int h, sf_resize_filter f);
// dst (OH,OW,3) from src (H,W,3). scratch holds sf_resize_scratch_bytes(...) bytes, or is NULL to let the
// call allocate and free its own.
void sf_resize_rgb8(uint8_t *dst, int ow, int oh, const uint8_t *src, int w, int h, sf_resize_filter f,
                    void *scratch);

// Shrinks img in place (bicubic) so that its shorter side is `side` px, the longer one scaled to match
// and rounded half up; an image whose shorter side is already <= side, or side <= 0, is left as it is.
// This is how the task's training images were made from the originals (shorter side at most 128 px,
// bicubic), so evaluate/predict --shrink 128 gives the model full-size test images in the form it was
// trained and validated on.
void sf_image_shrink(sf_image *img, int side);

#endif
