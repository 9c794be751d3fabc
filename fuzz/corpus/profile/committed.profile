# springfield CPU profile (format and naming: src/kernels/profile.h)
#
# This machine: cpuid says GenuineIntel family 6 model 207 (0xCF, Emerald Rapids class, under KVM),
# brand string "Intel(R) Xeon(R) Processor", 2 cores, 1 NUMA node, L1d 48 KiB, L2 2 MiB per core.
# Named by what cpuid says, not by what documents call the machine.

[cpu]
vendor = GenuineIntel
family = 6
model = 207
brand = Intel(R) Xeon(R) Processor

# `springfield tune` (60 s budget, 1 thread), started from the built-in cache-size defaults
# (MC 1022, KC 192, NC 4096): MC 56 won by ~5% on the tuning shapes, the other blocks stayed.
[gemm]
mc = 56
kc = 192
nc = 4096

# `springfield perf-check` ratios on this machine (1 thread, CPU-time clock, OpenBLAS 0.3.21 with
# OPENBLAS_CORETYPE=SkylakeX for avx512 and Haswell for avx2), each the median over several runs on a
# host shared with ~8 builders. The ratio against the FMA peak wanders most (0.63-0.84 for avx512), and
# the reference convolution runs in double precision on whatever the host leaves it.
[baseline]
margin = 0.25
sgemm_vs_openblas_512_avx512 = 0.956
sgemm_vs_openblas_conv_avx512 = 0.93
sgemm_vs_peak_512_avx512 = 0.73
sgemm_vs_peak_512_avx512.margin = 0.35
conv_fwd_vs_ref_64x28_avx512 = 104
conv_fwd_vs_ref_64x28_avx512.margin = 0.35
sgemm_vs_openblas_512_avx2 = 0.955
sgemm_vs_openblas_conv_avx2 = 0.89
sgemm_vs_peak_512_avx2 = 0.84
sgemm_vs_peak_512_avx2.margin = 0.35
conv_fwd_vs_ref_64x28_avx2 = 50
conv_fwd_vs_ref_64x28_avx2.margin = 0.35
