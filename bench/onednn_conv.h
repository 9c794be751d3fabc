// onednn_conv.h: one convolution layer run by oneDNN, the convolution yardstick of `bench conv` and
// `perf-check`: its forward, backward-data and backward-weights primitives, created with format `any`
// (oneDNN's preferred blocked layouts; no reorder is ever timed), on memories of its own filled with
// fixed values; and the ISA limit that keeps oneDNN on the ISA path springfield is being compared on.
// oneDNN runs on the OpenMP runtime it shares with springfield: sf_set_threads sizes both.
#ifndef SF_ONEDNN_CONV_H
#define SF_ONEDNN_CONV_H

#include <oneapi/dnnl/dnnl.h>
#include <stdbool.h>
#include <stddef.h>

#include "kernels/conv2d.h"
#include "kernels/cpu.h"
#include "util/util.h"

// Ends the program (sf_die) when a oneDNN call fails.
#define SF_DNNL_CHECK(call)                                                                                \
    do {                                                                                                   \
        dnnl_status_t st_ = (call);                                                                        \
        if (st_ != dnnl_success) sf_die("oneDNN: %s failed with status %d", #call, (int)st_);              \
    } while (0)

typedef struct {
    dnnl_stream_t stream;
    dnnl_primitive_t prim[3];    // forward (training), backward-data, backward-weights
    dnnl_memory_t mem[11];  // at most: x, w, bias, y, dy, dx, backward-data w, and 4 for backward-weights
    int n_mem;
    dnnl_exec_arg_t args[3][5];
    int n_args[3];
    bool ok;                     // false: oneDNN has no implementation of this shape (nothing to run)
    const char *impl[3];         // oneDNN's implementation of each direction ("jit:avx512_core", ...)
} sf_onednn_conv;

// The three primitives of shape s (with bias), the backward ones hinted by the forward one. dt is the
// data type of x, w, y and their gradients: dnnl_f32, or dnnl_bf16 (the bias and the weight and bias
// gradients stay f32, as in mixed-precision training), the yardstick for what bf16 arithmetic buys.
void sf_onednn_conv_create(sf_onednn_conv *d, dnnl_engine_t eng, dnnl_stream_t stream, const sf_conv2d_shape *s,
                           dnnl_data_type_t dt);
void sf_onednn_conv_destroy(sf_onednn_conv *d);
// Runs direction dir (0 forward, 1 backward-data, 2 backward-weights) once and waits for it; d->ok only.
void sf_onednn_conv_run(sf_onednn_conv *d, int dir);

// Limits oneDNN to the ISA of springfield's path `isa` (dnnl_set_max_cpu_isa): avx512 -> AVX512_CORE
// (AVX-512 F/BW/DQ/VL, what our kernels use), avx2 -> AVX2, scalar -> SSE41 (the lowest oneDNN
// dispatches to); no limit on other architectures. With bf16, avx512 -> AVX512_CORE_BF16, so that
// bf16 primitives may use the AVX512_BF16 dot-product instructions where the CPU has them. oneDNN takes
// it only before its first primitive, so call this first. Writes "<limit> (effective <isa>)" or why no
// limit was applied into desc; returns 0 when the limit was applied (or none was wanted), -1 otherwise.
int sf_onednn_limit_isa(sf_isa isa, bool bf16, char *desc, size_t n);

#endif
