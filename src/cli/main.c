// main.c: the springfield command line. Dispatches `springfield <command> ...` to src/cli/cmd_*.c.
#include "cli/commands.h"
#include "cli/plot.h"
#include "springfield.h"

#include <stdio.h>
#include <string.h>

// Commands are weak so that the binary links while a command's file is being written; a missing one
// says so instead of pretending to run.
#pragma weak sf_cmd_train
#pragma weak sf_cmd_evaluate
#pragma weak sf_cmd_predict
#pragma weak sf_cmd_forward
#pragma weak sf_cmd_step
#pragma weak sf_cmd_bench
#pragma weak sf_cmd_tune
#pragma weak sf_cmd_perf_check

typedef struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} command;

static const command commands[] = {
    {"train", sf_cmd_train, "train a model (default: the synthetic demo, no download needed)"},
    {"evaluate", sf_cmd_evaluate, "accuracy, F1 and confusion matrix of weights on a labelled folder"},
    {"predict", sf_cmd_predict, "classify a folder of images; --submission writes a Kaggle CSV"},
    {"forward", sf_cmd_forward, "tensor in, logits out (safetensors), for checking against PyTorch"},
    {"step", sf_cmd_step, "K training steps on one batch (safetensors), for checking against PyTorch"},
    {"bench", sf_cmd_bench, "benchmarks: gemm, conv, data, train (against OpenBLAS, oneDNN, PyTorch)"},
    {"tune", sf_cmd_tune, "search kernel parameters for this CPU and write a profile"},
    {"perf-check", sf_cmd_perf_check, "perf regression check against the CPU profile's baselines"},
    {"info", sf_cmd_info, "CPU, ISA path, caches, threads, topology and measured peak"},
};
#define N_COMMANDS (int)(sizeof commands / sizeof commands[0])

static void usage(FILE *f) {
    fprintf(f, "usage: springfield <command> [options]\n\ncommands:\n");
    for (int i = 0; i < N_COMMANDS; i++) fprintf(f, "  %-11s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\n`springfield <command> --help` lists a command's options.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    for (int i = 0; i < N_COMMANDS; i++) {
        if (strcmp(argv[1], commands[i].name) != 0) continue;
        if (!commands[i].fn) {
            fprintf(stderr, "springfield: '%s' is not available in this build\n", argv[1]);
            return 2;
        }
        int rc = commands[i].fn(argc - 1, argv + 1);
        sf_plot_release();
        return rc;
    }
    fprintf(stderr, "springfield: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
