#define _POSIX_C_SOURCE 200809L
/* bmnn_main.c — the `bmnn` program: dispatch to subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "plot.h"

/* Room for bm_build_features' string. */
#define BUILD_FEATURES_LEN 128

static const cli_command commands[] = {
    {"data", "write a generated data set (spiral, vertical, sine) or a text's windows as CSV", cmd_data},
    {"train", "train a model spec or checkpoint on CSV/IDX data", cmd_train},
    {"eval", "loss, accuracy and confusion matrix of a model on data", cmd_eval},
    {"predict", "one CSV line of predictions per sample", cmd_predict},
    {"gradcheck", "check every op's (or a model's) gradients numerically", cmd_gradcheck},
    {"generate", "continue a prompt with text drawn from a sequence model", cmd_generate},
    {"dot", "export a model's training-step graph as DOT, SVG, PNG or JSON", cmd_dot},
    {"layers", "list every layer kind with its inputs and model-file keys", cmd_layers},
    {"convert", "rewrite a model file (any version) as format version 2", cmd_convert},
};
enum { N_COMMANDS = sizeof commands / sizeof commands[0] };

static void usage(FILE *f)
{
    fprintf(f, "usage: bmnn COMMAND [ARGS]\n\nbmnn %s — define, train, check and draw neural "
               "networks.\n\ncommands:\n",
            bm_version());
    for (int i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\nRun 'bmnn COMMAND --help' for a command's options.\n");
}

/* "bmnn X.Y.Z (library X.Y.Z)" and the features of this build, key=value:
 * the library's (BLAS, the GEMM kernel chosen on this CPU), then the
 * program's (cairo plots, Graphviz rendering, MPI). */
static void print_version(void)
{
#ifdef BM_HAVE_GVC
    const char *graphviz = "yes";
#else
    const char *graphviz = "no";
#endif
    char lib[BUILD_FEATURES_LEN];
    bm_build_features(lib, sizeof lib);
    printf("bmnn %s (library %s)\nfeatures: %s cairo=%s graphviz=%s mpi=no\n",
           BMNN_VERSION_STRING, bm_version(), lib, plot_available() ? "yes" : "no", graphviz);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return CLI_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        print_version();
        return CLI_OK;
    }
    for (int i = 0; i < N_COMMANDS; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "bmnn: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return CLI_USAGE;
}
