// bench.h: the `springfield bench <suite>` entry points, one file each in bench/.
// Every suite prints one line per case (shape string, threads, GFLOP/s or GB/s or img/s, % of the
// measured peak, the reference library's figure from the same run, and the ratio); --json prints JSON lines.
#ifndef SF_BENCH_H
#define SF_BENCH_H

int sf_bench_gemm(int argc, char **argv);    // bench_gemm.c   (OpenBLAS)
int sf_bench_conv(int argc, char **argv);    // bench_conv.c   (oneDNN)
int sf_bench_layers(int argc, char **argv);  // bench_layers.c (memory bandwidth)
int sf_bench_data(int argc, char **argv);    // bench_data.c   (PIL + torchvision)
int sf_bench_train(int argc, char **argv);   // bench_train.c  (PyTorch)

// Sets the thread count and binds the OpenMP threads one per core as `train` places them (cli/placement.h,
// --numa auto). Left unbound, the scheduler now and then ran both of a 2-thread GEMM's threads on one
// core for a whole timed batch, which halved some cases at random. Falls back to sf_set_threads.
void sf_bench_place_threads(int threads);

#endif
