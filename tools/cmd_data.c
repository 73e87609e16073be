/* cmd_data.c — `bmnn data spiral|vertical|sine ... -o FILE.csv` and
 * `bmnn data text FILE --context T ... -o FILE.csv` (data_text.c). */
#define _GNU_SOURCE
#include <getopt.h>
#include <string.h>

#include "cli.h"
#include "data_text.h"

enum { DEFAULT_SAMPLES = 100, DEFAULT_CLASSES = 3 };
/* Long options without a short form. */
enum { OPT_CONTEXT = 256, OPT_STRIDE, OPT_VAL_SPLIT, OPT_VAL_OUTPUT, OPT_UTF8, OPT_RANDOM,
       OPT_SEQUENCE, OPT_VOCAB };

static const char help[] =
    "usage: bmnn data spiral|vertical|sine [--samples N] [--classes K] [--seed S]\n"
    "                 -o FILE.csv\n"
    "       bmnn data text FILE --context T [--stride S | --random N [--seed S]]\n"
    "                 [--val-split F [--val-output VAL.csv]] [--utf8] [--sequence]\n"
    "                 [--vocab V.csv]\n"
    "                 -o FILE.csv\n\n"
    "Write one of the walk-through's data sets as CSV (features x0,x1,..., then label).\n"
    "  spiral    K arms of N points each (nnfs spiral_data)\n"
    "  vertical  K blobs of N points each (nnfs vertical_data)\n"
    "  sine      N points of y = sin(2 pi x), x in [0,1) (regression)\n"
    "  text      context windows of a text file: T columns of token ids, then the\n"
    "            id of the token that follows as the label (bytes, vocabulary 256;\n"
    "            --utf8: code points, vocabulary the distinct ones, sorted)\n\n"
    "  -n, --samples N   points per class (sine: in total) [100]\n"
    "  -k, --classes K   classes [3]\n"
    "  -s, --seed S      RNG seed [0]\n"
    "  -o, --output FILE where to write (required)\n"
    "  -h, --help        this text\n"
    "text:\n"
    "  --context T       tokens per window (required, >= 1)\n"
    "  --stride S        a window every S positions [1: every position]\n"
    "  --random N        N training windows at positions drawn with --seed instead\n"
    "  --val-split F     the last fraction F of the text (in [0, 1)) for validation;\n"
    "                    no window crosses the boundary; its windows are strided\n"
    "  --val-output FILE where they go [FILE.csv's name with -val.csv]\n"
    "  --utf8            tokens are UTF-8 code points (invalid UTF-8 is refused with\n"
    "                    its byte offset)\n"
    "  --sequence        targets for sequence models: T more columns y0..y(T-1), the\n"
    "                    next token at every position, instead of one label\n"
    "  --vocab FILE      write the vocabulary as CSV: id,symbol (byte or code point)\n";

/* Is the option one of `data text`'s? */
static int text_option(int c) { return c >= OPT_CONTEXT && c <= OPT_VOCAB; }

int cmd_data(int argc, char **argv)
{
    static const struct option opts[] = {
        {"samples", required_argument, NULL, 'n'},
        {"classes", required_argument, NULL, 'k'},
        {"seed", required_argument, NULL, 's'},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {"context", required_argument, NULL, OPT_CONTEXT},
        {"stride", required_argument, NULL, OPT_STRIDE},
        {"val-split", required_argument, NULL, OPT_VAL_SPLIT},
        {"val-output", required_argument, NULL, OPT_VAL_OUTPUT},
        {"utf8", no_argument, NULL, OPT_UTF8},
        {"random", required_argument, NULL, OPT_RANDOM},
        {"sequence", no_argument, NULL, OPT_SEQUENCE},
        {"vocab", required_argument, NULL, OPT_VOCAB},
        {NULL, 0, NULL, 0}};
    uint64_t samples = DEFAULT_SAMPLES, classes = DEFAULT_CLASSES, seed = 0;
    data_text_args ta = {.stride = 1};
    const char *out = NULL;
    int c, text_opts = 0, gen_opts = 0, stride_set = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "n:k:s:o:h", opts, NULL)) != -1) {
        text_opts |= text_option(c);
        gen_opts |= c == 'n' || c == 'k';
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
        case OPT_CONTEXT:
            if (cli_parse_uint("data", "--context", optarg, 1, BM_MAX_ELEMENTS, &ta.context))
                return CLI_USAGE;
            break;
        case OPT_STRIDE:
            stride_set = 1;
            if (cli_parse_uint("data", "--stride", optarg, 1, BM_MAX_ELEMENTS, &ta.stride))
                return CLI_USAGE;
            break;
        case OPT_RANDOM:
            if (cli_parse_uint("data", "--random", optarg, 1, BM_MAX_ELEMENTS, &ta.random))
                return CLI_USAGE;
            break;
        case OPT_VAL_SPLIT:
            if (cli_parse_double("data", "--val-split", optarg, &ta.val_split))
                return CLI_USAGE;
            if (!(ta.val_split >= 0.0 && ta.val_split < 1.0))
                return cli_usage_error("data", "--val-split: %s is not in [0, 1)", optarg);
            break;
        case OPT_VAL_OUTPUT:
            ta.val_out = optarg;
            break;
        case OPT_UTF8:
            ta.utf8 = 1;
            break;
        case OPT_SEQUENCE:
            ta.sequence = 1;
            break;
        case OPT_VOCAB:
            ta.vocab = optarg;
            break;
        default:
            return cli_usage_error("data", "bad option");
        }
    }
    if (optind >= argc)
        return cli_usage_error("data", "name one data set: spiral, vertical, sine or text");
    const char *kind = argv[optind];
    int text = !strcmp(kind, "text");
    if (optind != argc - 1 - text)
        return cli_usage_error("data", text ? "data text takes one FILE"
                                            : "name one data set: spiral, vertical, sine or text");
    if (!out)
        return cli_usage_error("data", "-o FILE.csv is required");
    if (text) {
        ta.path = argv[optind + 1];
        ta.out = out;
        ta.seed = seed;
        if (gen_opts)
            return cli_usage_error("data", "--samples and --classes are not for data text");
        if (!ta.context)
            return cli_usage_error("data", "data text needs --context T");
        if (stride_set && ta.random)
            return cli_usage_error("data", "--stride and --random exclude each other");
        if (ta.val_out && ta.val_split == 0.0)
            return cli_usage_error("data", "--val-output needs --val-split");
        return data_text_run(&ta);
    }
    if (text_opts)
        return cli_usage_error("data", "--context, --stride, --random, --val-split, --val-output, "
                                       "--utf8, --sequence and --vocab are for data text only");
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
        return cli_usage_error("data", "unknown data set '%s' (spiral, vertical, sine, text)",
                               kind);
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
