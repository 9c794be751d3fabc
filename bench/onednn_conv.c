// onednn_conv.c: see onednn_conv.h.
#include "bench/onednn_conv.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static dnnl_memory_t new_mem(sf_onednn_conv *d, dnnl_engine_t eng, const_dnnl_primitive_desc_t pd, dnnl_query_t q,
                             int index) {
    const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, q, index);
    dnnl_memory_t m;
    SF_DNNL_CHECK(dnnl_memory_create(&m, md, eng, DNNL_MEMORY_ALLOCATE));
    void *h;
    SF_DNNL_CHECK(dnnl_memory_get_data_handle(m, &h));
    size_t bytes = dnnl_memory_desc_get_size(md);
    if (md->data_type == dnnl_bf16) {  // the upper half of each float: bf16 by truncation
        for (size_t i = 0; i < bytes / 2; i++) {
            float f = 0.01f * (float)(i % 97) - 0.4f;
            uint32_t u;
            memcpy(&u, &f, sizeof u);
            ((uint16_t *)h)[i] = (uint16_t)(u >> 16);
        }
    } else {
        for (size_t i = 0; i < bytes / sizeof(float); i++) ((float *)h)[i] = 0.01f * (float)(i % 97) - 0.4f;
    }
    d->mem[d->n_mem++] = m;
    return m;
}

void sf_onednn_conv_create(sf_onednn_conv *d, dnnl_engine_t eng, dnnl_stream_t stream, const sf_conv2d_shape *s,
                           dnnl_data_type_t dt) {
    memset(d, 0, sizeof *d);
    d->stream = stream;
    dnnl_dims_t src = {s->n, s->ci, s->ih, s->iw}, wei = {s->co, s->ci, s->kh, s->kw}, bia = {s->co};
    dnnl_dims_t dst = {s->n, s->co, s->oh, s->ow}, strides = {s->sh, s->sw}, pl = {s->ph, s->pw};
    dnnl_dims_t pr = {(s->oh - 1) * s->sh + s->kh - s->ih - s->ph, (s->ow - 1) * s->sw + s->kw - s->iw - s->pw};
    dnnl_memory_desc_t src_md, wei_md, dwei_md, bia_md, dst_md;
    SF_DNNL_CHECK(dnnl_memory_desc_init_by_tag(&src_md, 4, src, dt, dnnl_format_tag_any));
    SF_DNNL_CHECK(dnnl_memory_desc_init_by_tag(&wei_md, 4, wei, dt, dnnl_format_tag_any));
    SF_DNNL_CHECK(dnnl_memory_desc_init_by_tag(&dwei_md, 4, wei, dnnl_f32, dnnl_format_tag_any));
    SF_DNNL_CHECK(dnnl_memory_desc_init_by_tag(&bia_md, 1, bia, dnnl_f32, dnnl_x));
    SF_DNNL_CHECK(dnnl_memory_desc_init_by_tag(&dst_md, 4, dst, dt, dnnl_format_tag_any));
    dnnl_convolution_desc_t fd, bd, wd;
    SF_DNNL_CHECK(dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training, dnnl_convolution_direct, &src_md,
                                                     &wei_md, &bia_md, &dst_md, strides, pl, pr));
    SF_DNNL_CHECK(dnnl_convolution_backward_data_desc_init(&bd, dnnl_convolution_direct, &src_md, &wei_md, &dst_md,
                                                           strides, pl, pr));
    SF_DNNL_CHECK(dnnl_convolution_backward_weights_desc_init(&wd, dnnl_convolution_direct, &src_md, &dwei_md, &bia_md,
                                                              &dst_md, strides, pl, pr));
    dnnl_primitive_desc_t fpd = NULL, bpd = NULL, wpd = NULL;
    if (dnnl_primitive_desc_create(&fpd, &fd, NULL, eng, NULL) != dnnl_success ||
        dnnl_primitive_desc_create(&bpd, &bd, NULL, eng, fpd) != dnnl_success ||
        dnnl_primitive_desc_create(&wpd, &wd, NULL, eng, fpd) != dnnl_success) {
        if (fpd) dnnl_primitive_desc_destroy(fpd);
        if (bpd) dnnl_primitive_desc_destroy(bpd);
        return;
    }
    const_dnnl_primitive_desc_t pds[3] = {fpd, bpd, wpd};
    for (int i = 0; i < 3; i++)
        if (dnnl_primitive_desc_query(pds[i], dnnl_query_impl_info_str, 0, &d->impl[i]) != dnnl_success)
            d->impl[i] = "?";
    // Index 1 of the weights descriptors is the bias.
    dnnl_memory_t x = new_mem(d, eng, fpd, dnnl_query_src_md, 0), w = new_mem(d, eng, fpd, dnnl_query_weights_md, 0);
    dnnl_memory_t bias = new_mem(d, eng, fpd, dnnl_query_weights_md, 1);
    dnnl_memory_t y = new_mem(d, eng, fpd, dnnl_query_dst_md, 0);
    dnnl_memory_t dy = new_mem(d, eng, bpd, dnnl_query_diff_dst_md, 0);
    dnnl_memory_t dx = new_mem(d, eng, bpd, dnnl_query_diff_src_md, 0);
    // Backward-data may want the weights in another layout than forward (it does for ResNet's padded 3-channel
    // conv1, where passing forward's weights crashed); a reorder would not be timed anyway.
    dnnl_memory_t wb = w;
    if (!dnnl_memory_desc_equal(dnnl_primitive_desc_query_md(bpd, dnnl_query_weights_md, 0),
                                dnnl_primitive_desc_query_md(fpd, dnnl_query_weights_md, 0)))
        wb = new_mem(d, eng, bpd, dnnl_query_weights_md, 0);
    dnnl_memory_t xw = new_mem(d, eng, wpd, dnnl_query_src_md, 0);
    dnnl_memory_t dyw = new_mem(d, eng, wpd, dnnl_query_diff_dst_md, 0);
    dnnl_memory_t dw = new_mem(d, eng, wpd, dnnl_query_diff_weights_md, 0);
    dnnl_memory_t db = new_mem(d, eng, wpd, dnnl_query_diff_weights_md, 1);
    SF_DNNL_CHECK(dnnl_primitive_create(&d->prim[0], fpd));
    SF_DNNL_CHECK(dnnl_primitive_create(&d->prim[1], bpd));
    SF_DNNL_CHECK(dnnl_primitive_create(&d->prim[2], wpd));
    dnnl_exec_arg_t fa[] = {{DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_BIAS, bias}, {DNNL_ARG_DST, y}};
    dnnl_exec_arg_t ba[] = {{DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_WEIGHTS, wb}, {DNNL_ARG_DIFF_SRC, dx}};
    dnnl_exec_arg_t wa[] = {{DNNL_ARG_SRC, xw}, {DNNL_ARG_DIFF_DST, dyw}, {DNNL_ARG_DIFF_WEIGHTS, dw},
                            {DNNL_ARG_DIFF_BIAS, db}};
    memcpy(d->args[0], fa, sizeof fa);
    memcpy(d->args[1], ba, sizeof ba);
    memcpy(d->args[2], wa, sizeof wa);
    d->n_args[0] = 4;
    d->n_args[1] = 3;
    d->n_args[2] = 4;
    dnnl_primitive_desc_destroy(fpd);
    dnnl_primitive_desc_destroy(bpd);
    dnnl_primitive_desc_destroy(wpd);
    d->ok = true;
}

void sf_onednn_conv_destroy(sf_onednn_conv *d) {
    for (int i = 0; i < 3; i++)
        if (d->prim[i]) dnnl_primitive_destroy(d->prim[i]);
    for (int i = 0; i < d->n_mem; i++) dnnl_memory_destroy(d->mem[i]);
    memset(d, 0, sizeof *d);
}

void sf_onednn_conv_run(sf_onednn_conv *d, int dir) {
    SF_DNNL_CHECK(dnnl_primitive_execute(d->prim[dir], d->stream, d->n_args[dir], d->args[dir]));
    SF_DNNL_CHECK(dnnl_stream_wait(d->stream));
}

#if defined(__x86_64__) || defined(__i386__)
static const char *isa_name(dnnl_cpu_isa_t isa) {
    switch (isa) {
    case dnnl_cpu_isa_all: return "all";
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_mic: return "avx512_mic";
    case dnnl_cpu_isa_avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    }
    return "unknown";
}
#endif

int sf_onednn_limit_isa(sf_isa isa, bool bf16, char *desc, size_t n) {
#if defined(__x86_64__) || defined(__i386__)
    dnnl_cpu_isa_t want = isa == SF_ISA_AVX512 ? (bf16 ? dnnl_cpu_isa_avx512_core_bf16 : dnnl_cpu_isa_avx512_core)
                          : isa == SF_ISA_AVX2 ? dnnl_cpu_isa_avx2
                                               : dnnl_cpu_isa_sse41;
    dnnl_status_t st = dnnl_set_max_cpu_isa(want);
    if (st != dnnl_success) {
        snprintf(desc, n, "NOT limited to %s (dnnl_set_max_cpu_isa status %d; effective %s)", isa_name(want), (int)st,
                 isa_name(dnnl_get_effective_cpu_isa()));
        return -1;
    }
    snprintf(desc, n, "%s (effective %s)", isa_name(want), isa_name(dnnl_get_effective_cpu_isa()));
#else
    (void)isa;
    (void)bf16;
    snprintf(desc, n, "none on this architecture");
#endif
    return 0;
}
