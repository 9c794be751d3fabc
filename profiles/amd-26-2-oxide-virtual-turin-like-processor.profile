# springfield CPU profile (format: src/kernels/profile.h)

[cpu]
vendor = AuthenticAMD
family = 26
model = 2
brand = Oxide Virtual Turin-like Processor

[gemm]
mc = 56
kc = 320
nc = 4096

[conv]
avx2.first.ocb = 2
avx2.first.across = 8
avx2.1x1.ocb = 2
avx2.1x1.across = 8
avx2.kxk.ocb = 2
avx2.kxk.across = 8
avx2.strided.ocb = 2
avx2.strided.across = 8
avx512.first.ocb = 4
avx512.first.across = 16
avx512.1x1.ocb = 4
avx512.1x1.across = 16
avx512.kxk.ocb = 4
avx512.kxk.across = 16
avx512.strided.ocb = 4
avx512.strided.across = 16

[baseline]
margin = 0.25
sgemm_vs_openblas_512_avx512 = 1.026
sgemm_vs_openblas_conv_avx512 = 1.045
sgemm_vs_peak_512_avx512 = 0.853
conv_fwd_vs_ref_64x28_avx512 = 99.74
conv_fwd_vs_ref_64x28_avx512.margin = 0.4
sgemm_vs_openblas_512_avx2 = 0.957
sgemm_vs_openblas_conv_avx2 = 0.9588
sgemm_vs_peak_512_avx2 = 0.8658
conv_fwd_vs_ref_64x28_avx2 = 48.93
conv_fwd_vs_ref_64x28_avx2.margin = 0.4
conv_fwd_vs_onednn_64x28_avx512 = 1.09
conv_bwd_data_vs_onednn_64x28_avx512 = 1.074
conv_bwd_weights_vs_onednn_64x28_avx512 = 0.989
conv_fwd_vs_onednn_3x96_avx512 = 1.004
conv_bwd_weights_vs_onednn_3x96_avx512 = 0.9531
train_step_vs_peak_simple_s96_b16_avx512 = 0.5
conv_fwd_vs_onednn_64x28_avx2 = 1.01
conv_bwd_data_vs_onednn_64x28_avx2 = 0.9792
conv_bwd_weights_vs_onednn_64x28_avx2 = 0.9853
conv_fwd_vs_onednn_3x96_avx2 = 0.9392
conv_bwd_weights_vs_onednn_3x96_avx2 = 1.219
train_step_vs_peak_simple_s96_b16_avx2 = 0.6628
conv_fwd_bf16_vs_onednn_64x28_avx512 = 0.9457
conv_bwd_data_bf16_vs_onednn_64x28_avx512 = 0.8787
conv_bwd_weights_bf16_vs_onednn_64x28_avx512 = 1.113
