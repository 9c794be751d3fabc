# springfield CPU profile (format: src/kernels/profile.h)

[cpu]
vendor = GenuineIntel
family = 6
model = 207
brand = Intel(R) Xeon(R) Processor

[gemm]
mc = 56
kc = 192
nc = 4096

[baseline]
margin = 0.25
sgemm_vs_openblas_512_avx512 = 0.9563
sgemm_vs_openblas_conv_avx512 = 0.9611
sgemm_vs_peak_512_avx512 = 0.8073
conv_fwd_vs_ref_64x28_avx512 = 101.1
