// commands.h: every springfield subcommand, one function each, in its own file src/cli/cmd_<name>.c
// (bench subcommands live in bench/). Each returns the process exit status.
#ifndef SF_COMMANDS_H
#define SF_COMMANDS_H

int sf_cmd_info(int argc, char **argv);      // cmd_info.c
int sf_cmd_train(int argc, char **argv);     // cmd_train.c
int sf_cmd_evaluate(int argc, char **argv);  // cmd_evaluate.c
int sf_cmd_predict(int argc, char **argv);   // cmd_predict.c
int sf_cmd_forward(int argc, char **argv);   // cmd_forward.c
int sf_cmd_step(int argc, char **argv);      // cmd_step.c
int sf_cmd_bench(int argc, char **argv);     // bench/bench_main.c
int sf_cmd_tune(int argc, char **argv);      // cmd_tune.c
int sf_cmd_perf_check(int argc, char **argv);// bench/perf_check.c

#endif
