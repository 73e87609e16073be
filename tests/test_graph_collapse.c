#define _POSIX_C_SOURCE 200809L
/* test_graph_collapse.c — graphs people can read: bm_tensor_mark_param for
 * hand-built graphs, gradient nodes with shapes, and the collapsed graph
 * (one box per layer) of a model in DOT and JSON, against golden files. */
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "test_util.h"

/* Export to a string (malloc'd, NUL-terminated); must succeed. */
static char *export_ok(const bm_tape *tape, const bm_tensor *out, const bm_graph_opts *o, int json)
{
    char *buf = NULL;
    size_t len = 0;
    bm_error err = {0};
    FILE *f = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(f);
    bm_status st = json ? bm_graph_write_json(tape, out, f, o, &err)
                        : bm_graph_write_dot(tape, out, f, o, &err);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_msg(st == BM_OK, "export failed: %s", err.msg);
    return buf;
}

START_TEST(mark_param_marks_and_names)
{
    bm_error err = {0};
    ck_assert_int_eq(bm_tensor_mark_param(NULL, "w", &err), BM_ERR_NULL);
    ck_assert_ptr_nonnull(strstr(err.msg, "bm_tensor_mark_param"));
    ck_assert_int_eq(bm_tensor_mark_param(NULL, NULL, NULL), BM_ERR_NULL);

    size_t ws[2] = {2, 3}, xs[2] = {4, 2};
    bm_tensor *W = bm_tensor_new(BM_F32, 2, ws, NULL);
    ck_assert_ptr_nonnull(W);
    ck_assert_ptr_null(W->grad);
    ck_assert_int_eq(bm_tensor_mark_param(W, "W", &err), BM_OK);
    ck_assert(W->flags & BM_PARAM);
    ck_assert(W->flags & BM_REQUIRES_GRAD);
    ck_assert_ptr_nonnull(W->grad);
    ck_assert_str_eq(W->name, "W");
    /* NULL name keeps the one it has; marking twice is harmless */
    ck_assert_int_eq(bm_tensor_mark_param(W, NULL, &err), BM_OK);
    ck_assert_str_eq(W->name, "W");

    bm_tape *t = bm_tape_new();
    bm_tensor *x = bm_tape_leaf(t, BM_F32, 2, xs, 0);
    ck_assert_int_eq(bm_tensor_mark_param(x, "x", &err), BM_ERR_STATE);
    ck_assert(!(x->flags & BM_PARAM));
    bm_tensor *y = bm_matmul(t, x, W);
    ck_assert_ptr_nonnull(y);
    ck_assert_int_eq(bm_tensor_mark_param(y, "y", &err), BM_ERR_ARG);
    ck_assert_ptr_nonnull(strstr(err.msg, "[4,3]"));
    ck_assert(!(y->flags & BM_PARAM));

    /* drawn as a parameter, under its name */
    char *dot = export_ok(t, y, NULL, 0);
    ck_assert_ptr_nonnull(strstr(dot, "p0 [label=\"W\\n[2,3] f32\""));
    free(dot);
    bm_tape_free(t);
    bm_tensor_free(W);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("graph_collapse");
    TCase *tc = tcase_create("readable");
    tcase_add_test(tc, mark_param_marks_and_names);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return bm_test_run(make_suite()); }
