/* model_io_controls.c — the training controls of a model file's optimizer:
 * optimizer.clip and optimizer.schedule (read here; model_io_write.c
 * writes them). */
#include <string.h>

#include <cJSON.h>

#include "model_io_internal.h"

bm_status bm_io_parse_clip(bm_io_reader *r, const cJSON *o, double *max_norm,
                           double *max_value)
{
    static const char *const keys[] = {"max_norm", "max_value"};
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(o, "clip");
    if (!c)
        return BM_OK;
    size_t top = bm_io_push_key(r, "clip");
    bm_status s = bm_io_want(r, c, cJSON_Object, "an object");
    if (s != BM_OK || (s = bm_io_check_keys(r, c, keys, sizeof keys / sizeof keys[0])) != BM_OK ||
        (s = bm_io_get_real(r, c, "max_norm", BM_IO_NONNEGATIVE, max_norm)) != BM_OK ||
        (s = bm_io_get_real(r, c, "max_value", BM_IO_NONNEGATIVE, max_value)) != BM_OK)
        return s;
    bm_io_pop(r, top);
    return BM_OK;
}

bm_status bm_io_parse_schedule(bm_io_reader *r, const cJSON *o, bm_schedule *out)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, "schedule");
    const char *type, *keys[1 + BM_IO_N_SCHED_FIELDS] = {"type"};
    size_t nk = 1;
    bm_schedule sc = {.kind = BM_SCHED_CONSTANT};
    bm_error e = {0};
    if (!j)
        return BM_OK;
    size_t top = bm_io_push_key(r, "schedule");
    bm_status s = bm_io_want(r, j, cJSON_Object, "an object");
    if (s != BM_OK || (s = bm_io_get_string(r, j, "type", 1, &type)) != BM_OK)
        return s;
    if (bm_schedule_kind_parse(type, &sc.kind, &e) != BM_OK)
        return bm_io_bad_name(r, "type", &e);
    for (size_t f = 0; f < BM_IO_N_SCHED_FIELDS; f++)
        if (bm_io_sched_fields[f].kinds >> sc.kind & 1u)
            keys[nk++] = bm_io_sched_fields[f].key;
    if ((s = bm_io_check_keys(r, j, keys, nk)) != BM_OK)
        return s;
    for (size_t f = 0; f < BM_IO_N_SCHED_FIELDS; f++) {
        const bm_io_sched_field *fd = &bm_io_sched_fields[f];
        void *at = (char *)&sc + fd->offset;
        if (!(fd->kinds >> sc.kind & 1u))
            continue;
        int required = fd->required >> sc.kind & 1u;
        const cJSON *v;
        if (fd->is_count)
            s = bm_io_get_uint(r, j, fd->key, required, required ? 1 : 0, BM_MODEL_MAX_INT,
                               BM_ERR_ARG, (uint64_t *)at, NULL);
        else if (required && (s = bm_io_member(r, j, fd->key, 1, &v)) != BM_OK)
            return s;
        else
            s = bm_io_get_real(r, j, fd->key, fd->range, (double *)at);
        if (s != BM_OK)
            return s;
    }
    if (bm_schedule_check(&sc, &e) != BM_OK) /* the fields are checked: not reached */
        return bm_io_fail(r, e.code, "%s", bm_io_unprefixed(e.msg));
    *out = sc;
    bm_io_pop(r, top);
    return BM_OK;
}
