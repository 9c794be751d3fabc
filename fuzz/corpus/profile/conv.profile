[cpu]
vendor = AuthenticAMD
[conv]
avx512.kxk.ocb = 3
avx2.first.across = 0
neon.strided.ocb = 4
scalar.1x1.across = 4096
[baseline]
x = 1
