// image.h: decode JPEG and PNG files into 8-bit RGB, chosen by the file's magic bytes, never its name.
//
// JPEG goes through libjpeg-turbo: grayscale, CMYK and YCCK become RGB, progressive files work, the EXIF
// orientation tag is applied, and the DCT-domain scaler (scale_num / 8) decodes a large image directly
// near the size the caller needs. PNG goes through libspng (palette, gray, 16-bit and alpha become RGB8;
// alpha is dropped, as PIL's convert("RGB")). The declared width x height is checked against a pixel
// limit from the header, before any pixel buffer exists, so a decompression bomb costs nothing.
// Errors never exit: they come back as a message naming the file and the decoder's reason.
#ifndef SF_DATA_IMAGE_H
#define SF_DATA_IMAGE_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

// An RGB image, rows top to bottom: px is (H,W,3) uint8.
typedef struct {
    uint8_t *px;
    int w, h;
    // JPEG only: libjpeg warned of corrupt data and decoded through it (the pixels after the damage are
    // libjpeg's best guess; a region decode that meets damage is redone whole, so they are a full decode's).
    bool damaged;
} sf_image;

typedef enum { SF_IMG_UNKNOWN = 0, SF_IMG_JPEG, SF_IMG_PNG } sf_image_format;

// Default limit on declared pixels (about 8192 x 8192): far above any photo in the task, far below a bomb.
#define SF_IMAGE_MAX_PIXELS ((size_t)64 << 20)
// Error messages fit in this many bytes.
#define SF_IMAGE_ERR_LEN 512

// The format the first bytes announce (n may be short; 8 bytes suffice).
sf_image_format sf_image_sniff(const uint8_t *buf, size_t n);
// Reads the first bytes of a file and sniffs them; SF_IMG_UNKNOWN also when the file cannot be read.
sf_image_format sf_image_sniff_file(const char *path);

// A rectangle of pixels [x0,x1) x [y0,y1).
typedef struct {
    int x0, y0, x1, y1;
} sf_rect;

// Asks which pixels of a w x h decoded image (after DCT scaling and EXIF orientation) the caller will
// read: r arrives as the whole image and is narrowed (or left). Called once per JPEG decode, after the
// header and before any pixel is decoded.
typedef void (*sf_region_fn)(sf_rect *r, int w, int h, void *ctx);

// Decode options. min_side > 0 lets a JPEG decode at the smallest DCT scale (1/8 .. 8/8) whose shorter
// side is still >= min_side (0: full size). max_pixels bounds the declared size (0: SF_IMAGE_MAX_PIXELS).
// region, when set, lets a JPEG decode only the rectangle it returns: the image keeps its full size, the
// pixels inside the rectangle are exactly those of a full decode, the others are unspecified. The columns
// and rows outside it skip the IDCT, upsampling and colour conversion, but the whole entropy-coded stream
// is still read, so a truncated or corrupt file fails exactly as in a full decode (one with corrupt data,
// where skipping and reading can part ways, is decoded again whole). PNG ignores it.
// region_stop (with region) also stops reading the stream after the region's last row: faster, but damage
// below the region goes unnoticed, so it is for files that have already decoded whole once.
typedef struct {
    int min_side;
    size_t max_pixels;
    sf_region_fn region;
    void *region_ctx;
    int region_stop;
} sf_decode_opts;

// Decodes buf (n bytes) into *out (px from sf_malloc; release with sf_image_free). Returns 0, or -1 with a
// message in err (errlen bytes) that starts with name (the file name, for the message only).
int sf_image_decode(sf_image *out, const uint8_t *buf, size_t n, const sf_decode_opts *opt, const char *name,
                    char *err, size_t errlen);
// Reads path and decodes it as above; read errors (missing, unreadable, a directory) come back the same way.
int sf_image_load(sf_image *out, const char *path, const sf_decode_opts *opt, char *err, size_t errlen);
void sf_image_free(sf_image *img);

// Writes img as a baseline JPEG of the given quality (1..100). Returns 0, or -1 with a message in err.
int sf_image_write_jpeg(const char *path, const sf_image *img, int quality, char *err, size_t errlen);
// Replaces img by its JPEG of the given quality (1..100, libjpeg's defaults: 4:2:0, baseline), decoded
// again as a file would be: the compression artefacts the task's training images carry, for test images
// made to look like them (evaluate/predict --reencode). Returns 0, or -1 with a message naming `name`.
int sf_image_jpeg_roundtrip(sf_image *img, int quality, const char *name, char *err, size_t errlen);

#endif
