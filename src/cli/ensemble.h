// ensemble.h: the models behind evaluate and predict. --weights names one checkpoint, or several
// separated by commas; the class probabilities of several are averaged (an ensemble), each model
// seeing the images at its own input size (the checkpoint's, --size, or SIZE in "path@SIZE").
#ifndef SF_CLI_ENSEMBLE_H
#define SF_CLI_ENSEMBLE_H

#include "cli/run_dir.h"
#include "data/image.h"
#include "nn/model.h"

typedef struct {
    int n;                // models
    char **path;          // (n) checkpoint files
    sf_model **m;         // (n)
    int *size;            // (n) input size of each model
    float **x;            // (n) batch at each model's size, (batch,3,size,size)
    sf_ckpt_info info;    // the first checkpoint's metadata; every one names the same classes
    int k, batch;
} sf_ensemble;

// The options of evaluate and predict that prepare each image as the task's training images were made,
// for full-size images and a model trained on shrunk JPEGs (see sf_prepare_image).
#define SF_PREPARE_OPTS                                                                                   \
    {"shrink", SF_OPT_INT, "0", NULL, 0, 4096,                                                            \
     "first shrink each image (bicubic) so its shorter side is at most this many px, as the training "    \
     "images were made (128 for the Simpsons train folder, whose originals were shrunk so); 0: off"},     \
    {"reencode", SF_OPT_INT, "0", NULL, 0, 100,                                                           \
     "then re-encode each image as a JPEG of this quality and decode it again, as the training images "   \
     "were made (90 for the Simpsons train folder); 0: off"}

// The options of evaluate and predict that say how a model classifies: architecture and size (else the
// checkpoint's), batch, test-time augmentation, image preparation (SF_PREPARE_OPTS), threads and placement.
#define SF_INFER_OPTS                                                                                     \
    {"model", SF_OPT_CHOICE, NULL, "simple|best|resnet18|resnet50", 0, 0,                                 \
     "architecture (default: from the checkpoint)"},                                                      \
    {"size", SF_OPT_INT, NULL, NULL, 16, 1024, "input size (default: from the checkpoint)"},              \
    {"batch", SF_OPT_INT, "32", NULL, 1, 1024, "images per forward pass"},                                \
    {"precision", SF_OPT_CHOICE, "auto", "auto|fp32|bf16", 0, 0,                                          \
     "convolution arithmetic: auto, what each checkpoint was validated with (its metadata); bf16 only "   \
     "where the CPU has AVX512_BF16 (as train --precision)"},                                             \
    {"tta", SF_OPT_CHOICE, "none", "none|flip", 0, 0,                                                     \
     "test-time augmentation: flip averages the class probabilities of each image and its mirror image"}, \
    SF_PREPARE_OPTS,                                                                                      \
    {"threads", SF_OPT_INT, "0", NULL, 0, 1024, "threads (0: one per core, or OMP_NUM_THREADS)"},         \
    {"numa", SF_OPT_CHOICE, "auto", "auto|off|interleave", 0, 0,                                          \
     "threads bound to cores, model memory on their node (interleaved over several) (auto); model memory " \
     "interleaved (interleave); no binding (off)"}

// img shrunk so its shorter side is at most `shrink` px (sf_image_shrink; 0: as it is), then, when
// reencode > 0, replaced by its JPEG of that quality decoded again (sf_image_jpeg_roundtrip). Returns 0, or
// -1 with img freed and the cause in err (naming `name`).
int sf_prepare_image(sf_image *img, int shrink, int reencode, const char *name, char *err, size_t errlen);

// out = what sf_prepare_image does with these options, for the summary line: "" when nothing, else
// "shrunk to 128 px", "JPEG quality 90" or both, joined by ", ".
void sf_prepare_describe(char *out, size_t n, int shrink, int reencode);

// Opens the comma-separated checkpoints in `weights`. arch / size (NULL / 0: each checkpoint's own)
// override every model; "path@SIZE" runs that model at input size SIZE whatever the others do (a model
// trained on random crops often scores better a little above its training size). k_default is the class
// count when a checkpoint does not say. Model memory goes to NUMA node `node` (SF_NODE_ANY: first touch).
// Returns 0; -1 with err naming the file and the cause (unreadable, or classes that differ from the first
// checkpoint's); -2 when a checkpoint lacks the architecture, size or class count and no option gives it,
// or a size after @ is out of range (usage errors: exit 2). precision: "auto" (each checkpoint's recorded
// one), "fp32" or "bf16" (sf_model_config.bf16).
int sf_ensemble_open(sf_ensemble *e, const char *weights, const char *arch, int size, int k_default, int batch,
                     const char *precision, int node, char *err, size_t errlen);

// probs (nb,K): the mean over the models of their class probabilities (sf_classify, with flip TTA when
// flip) for the decoded images img; an image with ok[i] == 0 goes in as zeros.
void sf_ensemble_classify(sf_ensemble *e, float *probs, const sf_image *img, const int *ok, int nb, int flip);

// "a.safetensors" or "a.safetensors + 1 more" for log lines.
const char *sf_ensemble_name(const sf_ensemble *e, char *buf, size_t n);

void sf_ensemble_free(sf_ensemble *e);

#endif
