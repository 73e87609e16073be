/* cmd_model.c — `bmnn layers` (every layer kind: its summary, inputs and
 * model-file keys, from the vtables) and `bmnn convert IN -o OUT` (any
 * model file to format version 2). */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Room for "min..max" input counts. */
#define INPUTS_LEN 48

static const char layers_help[] =
    "usage: bmnn layers [--markdown]\n\n"
    "List every built-in layer kind: its name in model files, what it computes, how many\n"
    "inputs a node of it reads and the keys it takes (nn/MODEL_FORMAT.md explains them).\n\n"
    "      --markdown   the key table and the kind table of nn/MODEL_FORMAT.md, in Markdown\n"
    "  -h, --help       this text\n";

static const char convert_help[] =
    "usage: bmnn convert IN.json [-o OUT.json]\n\n"
    "Read a model file of any version (a spec or a checkpoint) and write it as format\n"
    "version 2 (graph nodes): the same model, parameters and state bit for bit.\n\n"
    "  -o, --output F   where to write (atomically; default: standard output)\n"
    "  -h, --help       this text\n";

/* The doc line of key `name` from the key table. */
static const char *key_doc(const char *name)
{
    size_t n;
    const bm_layer_key *k = bm_layer_keys(&n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(k[i].name, name) == 0)
            return k[i].doc;
    return "";
}

/* The key table as Markdown: name, type, meaning. */
static void print_key_table(void)
{
    static const char *const types[] = {
        [BM_KEY_SIZE] = "integer >= 0", [BM_KEY_SIZE2] = "n or [h, w]",
        [BM_KEY_DOUBLE] = "number", [BM_KEY_BOOL] = "true or false",
        [BM_KEY_INT] = "integer", [BM_KEY_INIT] = "\"small\", \"glorot\" or \"he\"",
        [BM_KEY_SHAPE] = "[d0, d1, ...]",
    };
    size_t n;
    const bm_layer_key *k = bm_layer_keys(&n);
    printf("| key | type | meaning |\n|---|---|---|\n");
    for (size_t i = 0; i < n; i++)
        printf("| `%s` | %s | %s |\n", k[i].name,
               (size_t)k[i].type < sizeof types / sizeof *types ? types[k[i].type] : "?",
               k[i].doc);
}

int cmd_layers(int argc, char **argv)
{
    static const struct option opts[] = {{"markdown", no_argument, NULL, 'm'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int md = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': md = 1; break;
        case 'h': fputs(layers_help, stdout); return CLI_OK;
        default: return cli_usage_error("layers", "bad option");
        }
    }
    if (optind != argc)
        return cli_usage_error("layers", "no arguments are taken");
    if (md)
        print_key_table();
    if (md)
        printf("\n| kind | inputs | keys | what it computes |\n|---|---|---|---|\n");
    for (int k = 0; k < BM_LAYER_KIND_COUNT; k++) {
        const bm_layer_vt *vt = bm_layer_vtable(k);
        char ins[INPUTS_LEN];
        if (vt->min_inputs == vt->max_inputs)
            snprintf(ins, sizeof ins, "%zu", vt->min_inputs);
        else
            snprintf(ins, sizeof ins, "%zu..%zu", vt->min_inputs, vt->max_inputs);
        if (md) {
            printf("| `%s` | %s | ", vt->name, ins);
            for (size_t i = 0; vt->keys && vt->keys[i]; i++)
                printf("%s`%s`", i ? ", " : "", vt->keys[i]);
            printf(" | %s |\n", vt->summary);
            continue;
        }
        printf("%s (%s input%s): %s\n", vt->name, ins, strcmp(ins, "1") ? "s" : "", vt->summary);
        for (size_t i = 0; vt->keys && vt->keys[i]; i++)
            printf("    %-12s %s\n", vt->keys[i], key_doc(vt->keys[i]));
    }
    return CLI_OK;
}

int cmd_convert(int argc, char **argv)
{
    static const struct option opts[] = {{"output", required_argument, NULL, 'o'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *out = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'h': fputs(convert_help, stdout); return CLI_OK;
        default: return cli_usage_error("convert", "bad option");
        }
    }
    if (optind != argc - 1)
        return cli_usage_error("convert", "give exactly one IN.json");
    bm_error err = {0};
    bm_train_settings set;
    bm_model *m = bm_model_load(argv[optind], &set, &err);
    if (!m)
        return cli_fail("convert", "%s", err.msg);
    char *json = bm_model_to_json_version(m, &set, BM_MODEL_FORMAT_VERSION, &err);
    int rc = json ? cli_write_file("convert", out, json, strlen(json))
                  : cli_fail("convert", "%s", err.msg);
    free(json);
    bm_model_free(m);
    return rc;
}
