[cpu]
vendor = AuthenticAMD
family = 26
[gemm]
mc = 56
