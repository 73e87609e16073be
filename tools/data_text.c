/* data_text.c — `bmnn data text FILE --context T ... -o OUT.csv`: the
 * context windows of a text as CSV, T feature columns of token ids and the
 * next token as the label, or (--sequence) T target columns y0..y(T-1) with
 * the next token of every position — the layouts `bmnn train` reads for a
 * classifier and for a sequence model — split by position into training
 * and validation files (bm_text.h). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "data_text.h"

/* What a default validation file name adds before ".csv". */
static const char val_suffix[] = "-val.csv";

/* Save ds to path through the atomic writer, signals held meanwhile. */
static bm_status save(const bm_dataset *ds, const char *path, bm_error *err)
{
    sigset_t held;
    cli_hold_signals(&held); /* no temporary left by a signal */
    /* sequence targets are written as target columns y0..y(T-1) */
    bm_dataset cols = *ds;
    if (ds->y && ds->y->rank == 2)
        cols.n_classes = 0;
    bm_status s = bm_data_save_csv(&cols, path, err);
    cli_release_signals(&held);
    return s;
}

/* The windows of [start, end) into ds; what names the part in messages. */
static int cut_part(const bm_text *t, const bm_text_window_opts *o, size_t start, size_t end,
                    bm_dataset *ds, const char *what, const char *src)
{
    bm_error err = {0};
    if (bm_text_windows(t, o, start, end, ds, &err) != BM_OK)
        return cli_fail("data", "%s: the %s part: %s", src, what, err.msg);
    return CLI_OK;
}

/* Save a part's windows to path. */
static int save_part(const bm_dataset *ds, const char *path, const char *what)
{
    bm_error err = {0};
    if (save(ds, path, &err) != BM_OK)
        return cli_fail("data", "%s", err.msg);
    printf("wrote %s: %zu %s windows of %zu tokens, vocabulary %zu\n", path, ds->x->shape[0],
           what, ds->x->shape[1], ds->n_classes);
    return CLI_OK;
}

/* The vocabulary as CSV: id,symbol (the byte value or code point). */
static int write_vocab(const bm_text *t, const char *path)
{
    cli_out o;
    if (cli_out_open(&o, "data", path) != CLI_OK)
        return CLI_FAIL;
    cli_out_printf(&o, "id,symbol\n");
    for (size_t i = 0; i < bm_text_vocab_size(t); i++)
        cli_out_printf(&o, "%zu,%u\n", i, (unsigned)bm_text_symbol(t, (uint32_t)i));
    return cli_out_close(&o, "data");
}

/* OUT.csv -> OUT-val.csv (OUT -> OUT-val.csv); the caller frees it. */
static char *default_val_name(const char *out)
{
    size_t n = strlen(out);
    if (cli_ends_with(out, ".csv"))
        n -= strlen(".csv");
    char *s = malloc(n + sizeof val_suffix);
    if (s) {
        memcpy(s, out, n);
        memcpy(s + n, val_suffix, sizeof val_suffix);
    }
    return s;
}

int data_text_run(const data_text_args *a)
{
    bm_text_opts to = bm_text_defaults();
    to.level = a->utf8 ? BM_TEXT_UTF8 : BM_TEXT_BYTES;
    bm_text *t = NULL;
    bm_error err = {0};
    if (bm_text_load(a->path, &to, &t, &err) != BM_OK)
        return cli_fail("data", "%s", err.msg);
    size_t n = bm_text_length(t), cut = n;
    if (bm_text_split(t, a->val_split, &cut, &err) != BM_OK) {
        bm_text_free(t);
        return cli_fail("data", "%s", err.msg);
    }
    bm_rng rng;
    bm_rng_seed(&rng, a->seed);
    bm_text_window_opts w = bm_text_window_defaults((size_t)a->context);
    w.stride = (size_t)a->stride;
    w.target = a->sequence ? BM_TEXT_TARGET_SEQUENCE : BM_TEXT_TARGET_NEXT;
    w.dtype = BM_F64;
    if (a->random) {
        w.rng = &rng;
        w.count = (size_t)a->random;
    }
    /* both parts are cut before either is written: a failure leaves no file */
    bm_dataset tr = {0}, va = {0};
    int has_val = cut < n;
    char *val_name = has_val && !a->val_out ? default_val_name(a->out) : NULL;
    const char *val_path = a->val_out ? a->val_out : val_name;
    int rc = has_val && !val_path ? cli_fail("data", "no memory")
                                  : cut_part(t, &w, 0, cut, &tr, "training", a->path);
    w.rng = NULL; /* validation: strided, the same for any seed */
    if (rc == CLI_OK && has_val)
        rc = cut_part(t, &w, cut, n, &va, "validation", a->path);
    if (rc == CLI_OK)
        rc = save_part(&tr, a->out, "training");
    if (rc == CLI_OK && has_val)
        rc = save_part(&va, val_path, "validation");
    bm_dataset_free(&tr);
    bm_dataset_free(&va);
    if (rc == CLI_OK && a->vocab)
        rc = write_vocab(t, a->vocab);
    free(val_name);
    bm_text_free(t);
    return rc;
}
