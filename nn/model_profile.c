/* model_profile.c — the profile of a model's training steps: the rows of
 * its training tapes (full batches and the last, shorter batch of an
 * epoch) merged by op name and phase (bm_fit_opts.profile turns it on). */
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

/* Add row r into rows[0..*n): into the row of the same op name and phase,
 * or as a new row. */
static void merge_row(bm_profile_row *rows, size_t *n, const bm_profile_row *r)
{
    for (size_t i = 0; i < *n; i++) {
        bm_profile_row *q = &rows[i];
        if (q->phase == r->phase && strcmp(q->op, r->op) == 0) {
            q->calls += r->calls;
            q->seconds += r->seconds;
            q->flops += r->flops;
            return;
        }
    }
    rows[(*n)++] = *r;
}

bm_status bm_model_profile(const bm_model *m, bm_profile_row *rows, size_t max, size_t *n)
{
    if (!m || !n)
        return BM_ERR_NULL;
    size_t counts[BM_MODEL_GRAPHS], all = 0;
    for (int g = 0; g < BM_MODEL_GRAPHS; g++) {
        counts[g] = 0;
        if (m->graphs[g].tape)
            bm_tape_profile(m->graphs[g].tape, NULL, 0, &counts[g]);
        all += counts[g];
    }
    *n = 0;
    if (!all)
        return BM_OK;
    bm_profile_row *tape_rows = malloc(all * sizeof *tape_rows);
    bm_profile_row *merged = malloc(all * sizeof *merged);
    if (!tape_rows || !merged) {
        free(tape_rows);
        free(merged);
        return BM_ERR_NOMEM;
    }
    size_t k = 0;
    for (int g = 0; g < BM_MODEL_GRAPHS; g++) {
        size_t got = 0;
        if (!counts[g])
            continue;
        bm_tape_profile(m->graphs[g].tape, tape_rows, counts[g], &got);
        for (size_t i = 0; i < got; i++)
            merge_row(merged, &k, &tape_rows[i]);
    }
    bm_profile_sort(merged, k);
    if (rows)
        memcpy(rows, merged, (k < max ? k : max) * sizeof *rows);
    *n = k;
    free(tape_rows);
    free(merged);
    return BM_OK;
}

bm_status bm_model_profile_print(const bm_model *m, FILE *f)
{
    size_t n = 0;
    if (!m || !f)
        return BM_ERR_NULL;
    bm_status s = bm_model_profile(m, NULL, 0, &n);
    bm_profile_row *rows = s == BM_OK && n ? malloc(n * sizeof *rows) : NULL;
    if (s == BM_OK && n && !rows)
        s = BM_ERR_NOMEM;
    if (s == BM_OK)
        s = bm_model_profile(m, rows, n, &n);
    if (s == BM_OK)
        s = bm_profile_print(rows, n, f);
    free(rows);
    return s;
}

void bm_model_profile_reset(bm_model *m)
{
    if (!m)
        return;
    for (int g = 0; g < BM_MODEL_GRAPHS; g++)
        bm_tape_profile_reset(m->graphs[g].tape);
}
