/* test_graph_util.h — graph export into a string, for the graph suites
 * (include after defining _POSIX_C_SOURCE 200809L: open_memstream). */
#ifndef BM_TEST_GRAPH_UTIL_H
#define BM_TEST_GRAPH_UTIL_H

#include "test_util.h"

/* Export out's graph as DOT (json 0) or JSON to a string (malloc'd,
 * NUL-terminated); the status into *st, the message into *err. */
static char *bm_test_export_str(const bm_tape *tape, const bm_tensor *out,
                                const bm_graph_opts *o, int json, bm_status *st,
                                bm_error *err)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(f);
    *st = json ? bm_graph_write_json(tape, out, f, o, err)
               : bm_graph_write_dot(tape, out, f, o, err);
    ck_assert_int_eq(fclose(f), 0);
    return buf;
}

/* The same export, which must succeed. */
static char *bm_test_export_ok(const bm_tape *tape, const bm_tensor *out,
                               const bm_graph_opts *o, int json)
{
    bm_error err = {0};
    bm_status st;
    char *s = bm_test_export_str(tape, out, o, json, &st, &err);
    ck_assert_msg(st == BM_OK, "export failed: %s", err.msg);
    return s;
}

#endif
