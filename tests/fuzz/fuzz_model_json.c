#define _POSIX_C_SOURCE 200809L
/* fuzz_model_json.c — libFuzzer harness for the model file reader.
 *
 * The input bytes go to bm_model_from_json(). A failure must come with a
 * status and a message that starts with the name given. A model that loads
 * must serialise (bm_model_to_json), load again and serialise to the same
 * bytes: the reader accepts nothing the writer cannot reproduce.
 *
 * Specs that ask for between 2^18 and BM_MODEL_MAX_PARAMS parameters are
 * skipped: they are valid, so the library would allocate and initialise up
 * to 2^28 parameters (gigabytes), which says nothing about parsing and only
 * trips libFuzzer's memory limit. Specs over the limit still run: the
 * library must refuse them before allocating. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include <bmnn.h>
#include "fuzz_util.h"

/* Largest parameter count of a valid spec that is still loaded. */
#define FUZZ_MAX_PARAMS ((double)(1 << 18))
/* Name given to the reader; messages must start with it. */
#define NAME "fuzz.json"
#define NAME_RT "roundtrip.json"

/* Per kind, of the parameters a node asks for: the recurrent kinds'
 * gates·H·(F + H + 2) (gates; 0: not recurrent), width² terms (attention's
 * 4·E², a transformer block's 12·E² with room), and a table of `in` rows of
 * the width (position). */
static const struct {
    const char *kind;
    double gates, squared;
    int rows;
} KINDS[] = {{"rnn", 1, 0, 0},       {"lstm", 4, 0, 0},         {"gru", 3, 0, 0},
             {"attention", 0, 4, 0}, {"transformer", 0, 16, 0}, {"position", 0, 0, 1}};

/* Parameters the dense layers of a parsed document ask for (best effort:
 * the reader validates properly; this only keeps huge valid specs out). */
static double params_asked(const char *data, size_t size)
{
    cJSON *root = cJSON_ParseWithLength(data, size);
    double total = 0;
    const cJSON *layers = root ? cJSON_GetObjectItemCaseSensitive(root, "layers") : NULL;
    const cJSON *l;
    cJSON_ArrayForEach(l, layers)
    {
        const cJSON *in = cJSON_GetObjectItemCaseSensitive(l, "in");
        const cJSON *out = cJSON_GetObjectItemCaseSensitive(l, "out");
        if (cJSON_IsNumber(in) && cJSON_IsNumber(out))
            total += fabs(in->valuedouble) * fabs(out->valuedouble) + fabs(out->valuedouble);
    }
    /* version 2: a node's `in` may be inferred; take the widest input seen so far */
    const cJSON *nodes = root ? cJSON_GetObjectItemCaseSensitive(root, "nodes") : NULL;
    const cJSON *inputs = root ? cJSON_GetObjectItemCaseSensitive(root, "inputs") : NULL;
    double width = 1;
    cJSON_ArrayForEach(l, inputs)
    {
        const cJSON *d, *shape = cJSON_GetObjectItemCaseSensitive(l, "shape");
        double w = 1;
        cJSON_ArrayForEach(d, shape) w *= cJSON_IsNumber(d) ? fabs(d->valuedouble) : 1;
        width = w > width ? w : width;
    }
    cJSON_ArrayForEach(l, nodes)
    {
        const cJSON *out = cJSON_GetObjectItemCaseSensitive(l, "out");
        const cJSON *kind = cJSON_GetObjectItemCaseSensitive(l, "kind");
        const cJSON *hidden = cJSON_GetObjectItemCaseSensitive(l, "hidden");
        const cJSON *in = cJSON_GetObjectItemCaseSensitive(l, "in");
        double gates = 0, squared = 0;
        int rows = 0;
        for (size_t k = 0; cJSON_IsString(kind) && k < sizeof KINDS / sizeof KINDS[0]; k++)
            if (strcmp(kind->valuestring, KINDS[k].kind) == 0)
                gates = KINDS[k].gates, squared = KINDS[k].squared, rows = KINDS[k].rows;
        total += squared * width * width +
                 (squared && cJSON_IsNumber(hidden) ? 2 * fabs(hidden->valuedouble) * width : 0) +
                 (rows && cJSON_IsNumber(in) ? fabs(in->valuedouble) * width : 0);
        if (!cJSON_IsNumber(out))
            continue;
        double h = fabs(out->valuedouble);
        total += gates ? gates * (width + h + 2) * h : (width + 1) * h;
        width = fabs(out->valuedouble) > width ? fabs(out->valuedouble) : width;
    }
    cJSON_Delete(root);
    return total;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    double asked = params_asked((const char *)data, size);
    if (asked > FUZZ_MAX_PARAMS && asked <= (double)BM_MODEL_MAX_PARAMS)
        return 0;
    bm_error e = {0};
    bm_train_settings ts;
    bm_model *m = bm_model_from_json((const char *)data, size, NAME, &ts, &e);
    if (!m) {
        FUZZ_REQUIRE(e.code != BM_OK, "NULL model with status ok");
        FUZZ_REQUIRE(strncmp(e.msg, NAME ": ", strlen(NAME) + 2) == 0,
                     "message does not name the input: '%s'", e.msg);
        return 0;
    }
    char *j1 = bm_model_to_json(m, &ts, &e);
    FUZZ_REQUIRE(j1 != NULL, "a loaded model does not serialise: %s", e.msg);
    bm_train_settings ts2;
    bm_model *m2 = bm_model_from_json(j1, strlen(j1), NAME_RT, &ts2, &e);
    FUZZ_REQUIRE(m2 != NULL, "the serialised model does not load: %s", e.msg);
    FUZZ_REQUIRE(ts.has_epochs == ts2.has_epochs && ts.epochs == ts2.epochs &&
                     ts.has_batch_size == ts2.has_batch_size && ts.batch_size == ts2.batch_size &&
                     ts.has_seed == ts2.has_seed && ts.seed == ts2.seed,
                 "training settings differ");
    FUZZ_REQUIRE(bm_model_n_params(m) == bm_model_n_params(m2), "parameter counts differ");
    char *j2 = bm_model_to_json(m2, &ts2, &e);
    FUZZ_REQUIRE(j2 != NULL, "the reloaded model does not serialise: %s", e.msg);
    FUZZ_REQUIRE(strcmp(j1, j2) == 0, "save -> load -> save is not byte-identical");
    free(j2);
    free(j1);
    bm_model_free(m2);
    bm_model_free(m);
    return 0;
}
