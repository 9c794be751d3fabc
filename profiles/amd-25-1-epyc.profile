# springfield CPU profile (format: src/kernels/profile.h)

[cpu]
vendor = AuthenticAMD
family = 25
model = 1
brand = AMD EPYC

[gemm]
mc = 48
kc = 640
nc = 1536

[conv]
avx2.first.ocb = 2
avx2.first.across = 8
avx2.1x1.ocb = 2
avx2.1x1.across = 8
avx2.kxk.ocb = 2
avx2.kxk.across = 8
avx2.strided.ocb = 2
avx2.strided.across = 8

[baseline]
margin = 0.25
sgemm_vs_openblas_512_avx2 = 1.005
sgemm_vs_openblas_conv_avx2 = 0.9872
sgemm_vs_peak_512_avx2 = 0.918
conv_fwd_vs_ref_64x28_avx2 = 60.95
conv_fwd_vs_onednn_64x28_avx2 = 1.051
conv_bwd_data_vs_onednn_64x28_avx2 = 0.9614
conv_bwd_weights_vs_onednn_64x28_avx2 = 1.401
conv_fwd_vs_onednn_3x96_avx2 = 0.912
conv_bwd_weights_vs_onednn_3x96_avx2 = 1.199
train_step_vs_peak_simple_s96_b16_avx2 = 0.7561
