/* cmd_data.c — `bmnn data spiral|vertical|sine ... -o FILE.csv`. */
#define _GNU_SOURCE
#include <getopt.h>
#include <string.h>

#include "cli.h"

enum { DEFAULT_SAMPLES = 100, DEFAULT_CLASSES = 3 };

static const char help[] =
    "usage: bmnn data spiral|vertical|sine [--samples N] [--classes K] [--seed S]\n"
    "                 [--f64] -o FILE.csv\n\n"
    "Write one of the walk-through's data sets as CSV (features x0,x1,..., then label).\n"
    "  spiral    K arms of N points each (nnfs spiral_data)\n"
    "  vertical  K blobs of N points each (nnfs vertical_data)\n"
    "  sine      N points of y = sin(2 pi x), x in [0,1) (regression)\n\n"
    "  -n, --samples N   points per class (sine: in total) [100]\n"
    "  -k, --classes K   classes [3]\n"
    "  -s, --seed S      RNG seed [0]\n"
    "  -o, --output FILE where to write (required)\n"
    "  -h, --help        this text\n";

int cmd_data(int argc, char **argv)
{
    static const struct option opts[] = {
        {"samples", required_argument, NULL, 'n'}, {"classes", required_argument, NULL, 'k'},
        {"seed", required_argument, NULL, 's'},    {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0}};
    uint64_t samples = DEFAULT_SAMPLES, classes = DEFAULT_CLASSES, seed = 0;
    const char *out = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "n:k:s:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            if (cli_parse_uint("data", "--samples", optarg, 1, BM_MAX_ELEMENTS, &samples))
                return CLI_USAGE;
            break;
        case 'k':
            if (cli_parse_uint("data", "--classes", optarg, 1, BM_MAX_ELEMENTS, &classes))
                return CLI_USAGE;
            break;
        case 's':
            if (cli_parse_uint("data", "--seed", optarg, 0, UINT64_MAX, &seed))
                return CLI_USAGE;
            break;
        case 'o':
            out = optarg;
            break;
        case 'h':
            fputs(help, stdout);
            return CLI_OK;
        default:
            return cli_usage_error("data", "bad option");
        }
    }
    if (optind != argc - 1)
        return cli_usage_error("data", "name one data set: spiral, vertical or sine");
    if (!out)
        return cli_usage_error("data", "-o FILE.csv is required");
    const char *kind = argv[optind];
    bm_dataset ds = {0};
    bm_error err = {0};
    bm_rng rng;
    bm_rng_seed(&rng, seed);
    bm_status s;
    if (!strcmp(kind, "spiral"))
        s = bm_data_spiral(&ds, samples, classes, BM_F64, &rng, &err);
    else if (!strcmp(kind, "vertical"))
        s = bm_data_vertical(&ds, samples, classes, BM_F64, &rng, &err);
    else if (!strcmp(kind, "sine"))
        s = bm_data_sine(&ds, samples, BM_F64, &err);
    else
        return cli_usage_error("data", "unknown data set '%s' (spiral, vertical, sine)", kind);
    if (s == BM_OK) {
        sigset_t held;
        cli_hold_signals(&held); /* no temporary left by a signal */
        s = bm_data_save_csv(&ds, out, &err);
        cli_release_signals(&held);
    }
    if (s == BM_OK)
        printf("wrote %s: %zu rows, %zu features%s\n", out, ds.x->shape[0], ds.x->shape[1],
               ds.n_classes ? "" : " (regression)");
    bm_dataset_free(&ds);
    return s == BM_OK ? CLI_OK : cli_fail("data", "%s", err.msg);
}
