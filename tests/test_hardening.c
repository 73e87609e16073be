#define _POSIX_C_SOURCE 200809L
/* test_hardening.c — issue 13's C API cases: special files as inputs
 * (FIFOs without a writer, devices, endless lines), the one atomic writer
 * (non-regular targets untouched, 255-byte names, a failing write leaves the
 * old file and no temporary), and graph export linear in the graph's size.
 * The API cases (NULL getters, value domains, stopping fit) are in
 * test_hardening_api.c. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "test_data_files.h"

/* Seconds a special-file case may take: a FIFO that blocks fails it. */
#define SPECIAL_TIMEOUT 20
/* A file name of exactly this many bytes is valid on Linux file systems. */
#define LONG_NAME 255
/* File size limit (bytes) under which a write must fail. */
#define FSIZE_LIMIT 4096

/* Entries of the temp dir other than `.` and `..`. */
static int count_entries(void)
{
    DIR *d = opendir(tmp_dir);
    int n = 0;
    ck_assert_ptr_nonnull(d);
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

/* Remove every entry of the temp dir (each test starts with it empty). */
static void empty_dir(void)
{
    DIR *d = opendir(tmp_dir);
    char p[1024];
    if (!d)
        return;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof p, "%s/%s", tmp_dir, e->d_name);
        unlink(p);
    }
    closedir(d);
}

/* Contents of a small file into buf (NUL-ended); its length. */
static size_t slurp(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(buf, 1, len - 1, f);
    fclose(f);
    buf[n] = '\0';
    return n;
}

static const char SPEC[] = "{\"inputs\": 2, \"layers\": [{\"type\": \"dense\", \"in\": 2, "
                           "\"out\": 3}], \"loss\": \"softmax_cce\"}";

/* ---------------------------------------------------------------- inputs */

START_TEST(fifo_and_devices_are_refused)
{
    bm_error e = {0};
    bm_dataset ds = {0};
    const char *fifo = tmp_path("fifo.csv", 0);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    /* no writer: opening it must not block (the test's timeout would fire) */
    ck_err(bm_data_load_csv(&ds, fifo, NULL, BM_F64, &e), e, BM_ERR_IO,
           "fifo.csv: is a FIFO, not a regular file");
    ck_assert_ptr_null(bm_model_load(fifo, NULL, &e));
    ck_err(e.code, e, BM_ERR_IO, "fifo.csv: is a FIFO, not a regular file");
    static const unsigned char px[6] = {1, 2, 3, 4, 5, 6}, lb[3] = {1, 2, 0};
    const char *img = write_idx_images("i-images", 0x803, 3, 1, 2, px, 6);
    const char *lbl = write_idx_labels("l-labels", 0x801, 3, lb, 3);
    ck_err(bm_data_load_idx(&ds, fifo, lbl, BM_IDX_UNIT, BM_F64, &e), e, BM_ERR_IO,
           "fifo.csv: is a FIFO, not a regular file");
    ck_err(bm_data_load_idx(&ds, img, fifo, BM_IDX_UNIT, BM_F64, &e), e, BM_ERR_IO,
           "fifo.csv: is a FIFO, not a regular file");
    ck_assert_int_eq(bm_data_load_idx(&ds, img, lbl, BM_IDX_UNIT, BM_F64, &e), BM_OK);
    bm_dataset_free(&ds);
    /* endless input: refused from its type, nothing read */
    ck_err(bm_data_load_csv(&ds, "/dev/zero", NULL, BM_F64, &e), e, BM_ERR_IO,
           "/dev/zero: is a character device, not a regular file");
    ck_assert_ptr_null(bm_model_load("/dev/zero", NULL, &e));
    ck_err(e.code, e, BM_ERR_IO, "/dev/zero: is a character device");
    ck_err(bm_data_load_idx(&ds, "/dev/zero", "/dev/zero", BM_IDX_UNIT, BM_F64, &e), e,
           BM_ERR_IO, "/dev/zero: is a character device");
    ck_assert_ptr_null(ds.x);
}
END_TEST

START_TEST(csv_line_limit_while_reading)
{
    /* a regular file whose one line is longer than the limit (sparse: NUL
     * bytes): refused as soon as the line passes the limit, not at its end */
    bm_error e = {0};
    bm_dataset ds = {0};
    const char *p = tmp_path("long-line.csv", 0);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "1,", 2), 2);
    ck_assert_int_eq(ftruncate(fd, (off_t)BM_CSV_MAX_LINE_BYTES + 2), 0);
    close(fd);
    ck_err(bm_data_load_csv(&ds, p, NULL, BM_F64, &e), e, BM_ERR_SIZE,
           "long-line.csv:1: line longer than 67108864 bytes (the limit)");
    /* the limit itself passes the reader (and fails later, on the NULs) */
    fd = open(p, O_WRONLY | O_TRUNC);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "1,", 2), 2);
    ck_assert_int_eq(ftruncate(fd, (off_t)BM_CSV_MAX_LINE_BYTES), 0);
    close(fd);
    ck_err(bm_data_load_csv(&ds, p, NULL, BM_F64, &e), e, BM_ERR_PARSE,
           "long-line.csv:1: line holds a NUL byte");
}
END_TEST

/* --------------------------------------------------------------- outputs */

START_TEST(writer_refuses_special_targets)
{
    bm_error e = {0};
    struct stat st;
    bm_model *m = bm_model_from_json(SPEC, sizeof SPEC - 1, "spec", NULL, &e);
    ck_assert_ptr_nonnull(m);
    const char *fifo = tmp_path("out.fifo", 0);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    ck_err(bm_model_save(m, fifo, NULL, &e), e, BM_ERR_IO,
           "out.fifo: is a FIFO, not a regular file: not replaced");
    ck_err(bm_file_write(fifo, "x", 1, &e), e, BM_ERR_IO, "is a FIFO");
    ck_assert_ptr_null(bm_writer_open(fifo, &e));
    ck_assert_int_eq(stat(fifo, &st), 0);
    ck_assert(S_ISFIFO(st.st_mode)); /* still the FIFO, not a regular file */
    /* a device (as root, a rename would have replaced /dev/null) */
    ck_err(bm_model_save(m, "/dev/null", NULL, &e), e, BM_ERR_IO,
           "/dev/null: is a character device, not a regular file: not replaced");
    ck_assert_int_eq(stat("/dev/null", &st), 0);
    ck_assert(S_ISCHR(st.st_mode));
    bm_dataset ds = {0};
    bm_rng r;
    bm_rng_seed(&r, 1);
    ck_assert_int_eq(bm_data_spiral(&ds, 5, 2, BM_F64, &r, &e), BM_OK);
    ck_err(bm_data_save_csv(&ds, "/dev/null", &e), e, BM_ERR_IO, "is a character device");
    ck_assert_int_eq(count_entries(), 1); /* only the FIFO: no temporary left */
    bm_dataset_free(&ds);
    bm_model_free(m);
}
END_TEST

START_TEST(writer_long_names)
{
    /* a valid 255-byte name: the temporary's name is shortened to fit */
    char name[LONG_NAME + 1], buf[64];
    memset(name, 'n', LONG_NAME);
    name[LONG_NAME] = '\0';
    const char *p = tmp_path(name, 0);
    bm_error e = {0};
    ck_assert_msg(bm_file_write(p, "hello\n", 6, &e) == BM_OK, "%s", e.msg);
    ck_assert_uint_eq(slurp(p, buf, sizeof buf), 6);
    ck_assert_str_eq(buf, "hello\n");
    bm_model *m = bm_model_from_json(SPEC, sizeof SPEC - 1, "spec", NULL, &e);
    ck_assert_ptr_nonnull(m);
    ck_assert_msg(bm_model_save(m, p, NULL, &e) == BM_OK, "%s", e.msg);
    bm_model_free(m);
    ck_assert_ptr_nonnull(m = bm_model_load(p, NULL, &e));
    bm_model_free(m);
    ck_assert_int_eq(count_entries(), 1);
    /* one byte longer is the system's ENAMETOOLONG, named */
    char longer[LONG_NAME + 2];
    memset(longer, 'n', LONG_NAME + 1);
    longer[LONG_NAME + 1] = '\0';
    ck_err(bm_file_write(tmp_path(longer, 1), "x", 1, &e), e, BM_ERR_IO, strerror(ENAMETOOLONG));
    ck_assert_int_eq(count_entries(), 1);
}
END_TEST

START_TEST(writer_failure_keeps_old_file)
{
    /* a write that fails (here: over RLIMIT_FSIZE, as on a full disk) leaves
     * the old file whole and no temporary, and says the system's reason */
    bm_error e = {0};
    char buf[64];
    const char *p = write_text("keep.csv", "old\n");
    struct rlimit old, lim = {FSIZE_LIMIT, FSIZE_LIMIT};
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim.rlim_max = old.rlim_max;
    signal(SIGXFSZ, SIG_IGN);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    bm_writer *w = bm_writer_open(p, &e);
    ck_assert_ptr_nonnull(w);
    bm_status s = BM_OK;
    for (int i = 0; i < FSIZE_LIMIT && s == BM_OK; i++)
        s = bm_writer_printf(w, "%d,%.17g\n", i, 1.0 / (i + 1));
    bm_status c = bm_writer_commit(w, &e);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, SIG_DFL);
    ck_assert_int_eq(s, BM_ERR_IO); /* sticky from the first failure */
    ck_err(c, e, BM_ERR_IO, "keep.csv: cannot write: ");
    ck_assert_ptr_nonnull(strstr(e.msg, strerror(EFBIG)));
    ck_assert_uint_eq(slurp(p, buf, sizeof buf), 4);
    ck_assert_str_eq(buf, "old\n");
    ck_assert_int_eq(count_entries(), 1);
    /* abort leaves the old file too */
    ck_assert_ptr_nonnull(w = bm_writer_open(p, &e));
    ck_assert_int_eq(bm_writer_write(w, "new", 3), BM_OK);
    bm_writer_abort(w);
    slurp(p, buf, sizeof buf);
    ck_assert_str_eq(buf, "old\n");
    ck_assert_int_eq(count_entries(), 1);
}
END_TEST

START_TEST(writer_api)
{
    bm_error e = {0};
    char buf[64];
    /* NULL everywhere */
    ck_assert_ptr_null(bm_writer_open(NULL, &e));
    ck_assert_int_eq(e.code, BM_ERR_NULL);
    ck_assert_int_eq(bm_writer_write(NULL, "x", 1), BM_ERR_NULL);
    ck_assert_int_eq(bm_writer_printf(NULL, "x"), BM_ERR_NULL);
    ck_err(bm_writer_commit(NULL, &e), e, BM_ERR_NULL, "bm_writer_commit");
    bm_writer_abort(NULL);
    ck_err(bm_file_write(tmp_path("x", 0), NULL, 1, &e), e, BM_ERR_NULL, "data is NULL");
    ck_err(bm_file_write("", "x", 1, &e), e, BM_ERR_IO, ": cannot create a temp file: ");
    /* a long printf (past the buffer) and many small ones, in order */
    const char *p = tmp_path("big.txt", 0);
    bm_writer *w = bm_writer_open(p, &e);
    ck_assert_ptr_nonnull(w);
    size_t big = (size_t)1 << 17;
    char *s = malloc(big + 1);
    ck_assert_ptr_nonnull(s);
    memset(s, 'a', big);
    s[big] = '\0';
    ck_assert_int_eq(bm_writer_printf(w, "<%s>", s), BM_OK);
    for (int i = 0; i < 10000; i++)
        ck_assert_int_eq(bm_writer_printf(w, "%d\n", i), BM_OK);
    ck_assert_int_eq(bm_writer_write(w, "end", 3), BM_OK);
    ck_assert_msg(bm_writer_commit(w, &e) == BM_OK, "%s", e.msg);
    FILE *f = fopen(p, "rb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fgetc(f), '<');
    ck_assert_int_eq(fseek(f, (long)big + 1, SEEK_SET), 0);
    ck_assert_int_eq(fgetc(f), '>');
    ck_assert_int_eq(fseek(f, -8, SEEK_END), 0);
    ck_assert_uint_eq(fread(buf, 1, 8, f), 8);
    ck_assert_int_eq(memcmp(buf, "9999\nend", 8), 0);
    fclose(f);
    free(s);
    ck_assert_int_eq(count_entries(), 1);
}
END_TEST

/* ------------------------------------------------- graph export is linear */

/* Layers of the deep model: with a scan over every layer (or group) per
 * node, its export takes many minutes, past the test's timeout; linear, it
 * takes well under a second. */
#define DEEP_LAYERS ((size_t)1 << 18)
/* Seconds the deep export may take (a quadratic one needs far more). */
#define DEEP_TIMEOUT 120

START_TEST(graph_export_linear)
{
    bm_error e = {0};
    bm_model *m = bm_model_new(BM_F64, 1, &e);
    ck_assert_ptr_nonnull(m);
    bm_layer_spec dense = bm_dense_spec(1, 1), relu = bm_activation_spec(BM_LAYER_RELU);
    ck_assert_int_eq(bm_model_add(m, &dense, &e), BM_OK);
    for (size_t i = 0; i < DEEP_LAYERS; i++)
        ck_assert_int_eq(bm_model_add(m, &relu, &e), BM_OK);
    ck_assert_int_eq(bm_model_set_loss(m, BM_LOSS_MSE, &e), BM_OK);
    ck_assert_int_eq(bm_model_init(m, 0, &e), BM_OK);
    bm_tape *t = bm_tape_new();
    size_t shp[2] = {1, 1};
    bm_tensor *x = bm_tape_leaf(t, BM_F64, 2, shp, 0), *y = bm_tape_leaf(t, BM_F64, 2, shp, 0);
    bm_tensor *loss = bm_model_record(m, t, x, y, 1, NULL);
    ck_assert_msg(loss != NULL, "%s", bm_tape_error(t));
    bm_graph_opts go = bm_graph_defaults();
    go.group = bm_model_group;
    go.group_ud = m;
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    ck_assert_msg(bm_graph_write_dot(t, loss, f, &go, &e) == BM_OK, "%s", e.msg);
    /* one cluster per layer, each holding its own nodes, in layer order */
    rewind(f);
    char line[256];
    size_t clusters = 0, bad = 0;
    while (fgets(line, sizeof line, f)) {
        size_t k;
        if (sscanf(line, "  subgraph cluster_%zu {", &k) != 1)
            continue;
        bad += k != clusters++;
        char want[64];
        snprintf(want, sizeof want, "label=\"layers[%zu]: %s\"", k, k ? "relu" : "dense");
        bad += !fgets(line, sizeof line, f) || !strstr(line, want);
    }
    fclose(f);
    ck_assert_uint_eq(clusters, DEEP_LAYERS + 1);
    ck_assert_uint_eq(bad, 0);
    /* a layer's group by parameter and by node */
    ck_assert_str_eq(bm_model_group(m, bm_model_weights(m, 0)), "layers[0]: dense");
    ck_assert_str_eq(bm_model_group(m, bm_model_biases(m, 0)), "layers[0]: dense");
    ck_assert_ptr_null(bm_model_group(m, x));
    ck_assert_ptr_null(bm_model_group(m, loss)); /* the loss belongs to no layer */
    bm_tape_free(t);
    bm_model_free(m);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("hardening");
    TCase *tc = tcase_create("files");
    tcase_set_timeout(tc, SPECIAL_TIMEOUT);
    tcase_add_unchecked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_add_checked_fixture(tc, empty_dir, NULL);
    tcase_add_test(tc, fifo_and_devices_are_refused);
    tcase_add_test(tc, csv_line_limit_while_reading);
    tcase_add_test(tc, writer_refuses_special_targets);
    tcase_add_test(tc, writer_long_names);
    tcase_add_test(tc, writer_failure_keeps_old_file);
    tcase_add_test(tc, writer_api);
    suite_add_tcase(s, tc);
    tc = tcase_create("graph");
    tcase_set_timeout(tc, DEEP_TIMEOUT);
    tcase_add_test(tc, graph_export_linear);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return bm_test_run(make_suite()); }
