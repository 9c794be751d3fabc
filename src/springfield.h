// springfield.h: the public API. Everything public carries the prefix sf_.
//
// Each module has its own header (one concept per file); this one gathers them.
#ifndef SPRINGFIELD_H
#define SPRINGFIELD_H

#include "util/util.h"
#include "util/rng.h"
#include "kernels/cpu.h"
#include "kernels/sgemm.h"
#include "kernels/layout.h"
#include "kernels/conv2d.h"
#include "kernels/bf16.h"
#include "kernels/pool.h"
#include "kernels/batchnorm.h"
#include "kernels/activation.h"
#include "kernels/resize.h"
#include "kernels/linear.h"
#include "kernels/softmax_xent.h"
#include "kernels/profile.h"
#include "nn/safetensors.h"
#include "nn/param.h"
#include "nn/model.h"
#include "nn/adamw.h"
#include "nn/plateau.h"
#include "nn/reduce.h"
#include "nn/metrics.h"
#include "util/atomic_file.h"
#include "data/image.h"
#include "data/resize.h"
#include "data/augment.h"
#include "data/dataset.h"
#include "data/split.h"
#include "data/sampler.h"
#include "data/loader.h"
#include "data/synth.h"

#endif
