/* model_io_groups.c — a model file's parameter groups ("groups", format
 * version 2) into bm_model_set_param_groups. */
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "model_io_internal.h"

/* groups[g].key (path at the group) as an array of strings into names (room
 * for all of them), *n set. */
static bm_status names_of(bm_io_reader *r, const cJSON *g, const char *key, const char **names,
                          size_t *n)
{
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(g, key);
    *n = 0;
    if (!a)
        return BM_OK;
    size_t top = bm_io_push_key(r, key);
    bm_status s = bm_io_want(r, a, cJSON_Array, "an array of names");
    for (const cJSON *c = s == BM_OK ? a->child : NULL; c; c = c->next) {
        size_t old = bm_io_push_index(r, *n);
        if ((s = bm_io_want(r, c, cJSON_String, "a name")) != BM_OK)
            return s;
        names[(*n)++] = c->valuestring;
        bm_io_pop(r, old);
    }
    if (s == BM_OK)
        bm_io_pop(r, top);
    return s;
}

/* Names in all groups' params and nodes arrays. */
static size_t count_names(const cJSON *a)
{
    size_t n = 0;
    for (const cJSON *g = a->child; g; g = g->next) {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(g, "params"),
                    *q = cJSON_GetObjectItemCaseSensitive(g, "nodes");
        n += (p ? bm_io_count(p) : 0) + (q ? bm_io_count(q) : 0);
    }
    return n;
}

bm_status bm_io_read_groups(bm_io_reader *r, const cJSON *root, bm_model *m)
{
    static const char *const keys[] = {"params", "nodes", "lr", "weight_decay", "frozen"};
    const cJSON *a;
    size_t top = 0, i = 0;
    bm_status s = bm_io_get_array(r, root, "groups", 0, "an array of parameter groups", &a, &top);
    if (s != BM_OK || !a)
        return s;
    size_t n = bm_io_count(a), used = 0;
    if (n == 0 || n > BM_OPTIM_MAX_GROUPS)
        return bm_io_fail(r, BM_ERR_PARSE, "expected 1..%d groups, got %zu", BM_OPTIM_MAX_GROUPS,
                          n);
    const bm_optim_config *cfg = bm_optim_get_config(bm_model_optim(m));
    bm_param_group *gs = calloc(n, sizeof *gs);
    const char **names = calloc(count_names(a) + 1, sizeof *names);
    if (!gs || !names) {
        free(gs);
        free(names);
        return bm_io_fail(r, BM_ERR_NOMEM, "out of memory for %zu groups", n);
    }
    for (const cJSON *g = a->child; g && s == BM_OK; g = g->next, i++) {
        size_t old = bm_io_push_index(r, i);
        bm_param_group *pg = &gs[i];
        pg->lr = cfg->lr;
        pg->weight_decay = cfg->weight_decay;
        const cJSON *fz;
        if ((s = bm_io_want(r, g, cJSON_Object, "an object")) != BM_OK ||
            (s = bm_io_check_keys(r, g, keys, sizeof keys / sizeof *keys)) != BM_OK ||
            (s = bm_io_get_real(r, g, "lr", BM_IO_POSITIVE, &pg->lr)) != BM_OK ||
            (s = bm_io_get_real(r, g, "weight_decay", BM_IO_NONNEGATIVE, &pg->weight_decay)) !=
                BM_OK)
            break;
        if ((fz = cJSON_GetObjectItemCaseSensitive(g, "frozen")) != NULL) {
            if (!cJSON_IsBool(fz)) {
                bm_io_push_key(r, "frozen");
                s = bm_io_fail(r, BM_ERR_PARSE, "expected true or false, got %s",
                               bm_io_type_name(fz));
                break;
            }
            pg->frozen = cJSON_IsTrue(fz);
        }
        pg->params = names + used;
        if ((s = names_of(r, g, "params", names + used, &pg->n_params)) != BM_OK)
            break;
        used += pg->n_params;
        pg->nodes = names + used;
        if ((s = names_of(r, g, "nodes", names + used, &pg->n_nodes)) != BM_OK)
            break;
        used += pg->n_nodes;
        bm_io_pop(r, old);
    }
    bm_error e = {0};
    if (s == BM_OK && bm_model_set_param_groups(m, n, gs, &e) != BM_OK)
        s = bm_io_fail(r, e.code, "%s", bm_io_unprefixed(e.msg));
    free(gs);
    free(names);
    if (s == BM_OK)
        bm_io_pop(r, top);
    return s;
}
