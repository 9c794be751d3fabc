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

[baseline]
margin = 0.25
sgemm_vs_openblas_512_avx512 = 1.022
sgemm_vs_openblas_conv_avx512 = 1.03
sgemm_vs_peak_512_avx512 = 0.847
conv_fwd_vs_ref_64x28_avx512 = 145.6
sgemm_vs_openblas_512_avx2 = 0.9536
sgemm_vs_openblas_conv_avx2 = 0.958
sgemm_vs_peak_512_avx2 = 0.8475
conv_fwd_vs_ref_64x28_avx2 = 69.89
