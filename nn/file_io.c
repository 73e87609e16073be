/* file_io.c — the atomic writer (bm_file.h) and the one way the library
 * opens a file to read (file_internal.h).
 *
 * Writing: NAME.tmp.XXXXXX beside the target (O_EXCL, mode 0666 & ~umask,
 * the replaced file's mode kept), written through a buffer, fsync, rename,
 * fsync of the directory. The first failure is sticky and names its step
 * and errno; commit removes the temporary then. Reading: open with
 * O_NONBLOCK, fstat, regular files only. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "file_internal.h"

/* Bytes buffered before a write(2). */
#define WRITER_BUF ((size_t)1 << 16)
/* Temp file names tried before giving up, and the random part's length. */
#define TMP_TRIES 100
#define TMP_MARK ".tmp."
#define TMP_RANDOM 6
/* NAME_MAX when pathconf cannot tell (POSIX's usual 255). */
#define NAME_MAX_FALLBACK 255
/* Longest path quoted in a message (the reason after it matters more). */
#define NAME_SHOWN 160

struct bm_writer {
    char *path;           /* the target (a copy) */
    char *tmp;            /* the temporary beside it */
    int fd;               /* the temporary's descriptor, -1 once closed */
    int created;          /* the temporary exists (not yet renamed or removed) */
    const char *failed;   /* the first step that failed, NULL while none did */
    int errnum;           /* its errno */
    size_t len;           /* bytes in buf */
    char buf[WRITER_BUF];
};

const char *bm_file_strerror(int errnum, char *buf, size_t len)
{
    if (strerror_r(errnum, buf, len) != 0)
        snprintf(buf, len, "error %d", errnum);
    return buf;
}

/* "a FIFO", "a directory", ... for a file type in a message. */
static const char *kind_name(mode_t m)
{
    return S_ISDIR(m)    ? "a directory"
           : S_ISFIFO(m) ? "a FIFO"
           : S_ISCHR(m)  ? "a character device"
           : S_ISBLK(m)  ? "a block device"
           : S_ISSOCK(m) ? "a socket"
                         : "not a plain file";
}

/* ------------------------------------------------------------- reading */

FILE *bm_file_open_read(const char *path, uint64_t max_bytes, uint64_t *size, bm_error *err)
{
    char eb[BM_FILE_ERRNO_LEN];
    struct stat st;
    if (!path) {
        bm_error_set(err, BM_ERR_NULL, "bm_file_open_read: path is NULL");
        return NULL;
    }
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        bm_error_set(err, BM_ERR_IO, "%.*s: %s", NAME_SHOWN, path,
                     bm_file_strerror(errno, eb, sizeof eb));
        return NULL;
    }
    int flags = fcntl(fd, F_GETFL);
    if (fstat(fd, &st) != 0 || flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
        bm_error_set(err, BM_ERR_IO, "%.*s: %s", NAME_SHOWN, path,
                     bm_file_strerror(errno, eb, sizeof eb));
        close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        bm_error_set(err, BM_ERR_IO, "%.*s: is %s, not a regular file", NAME_SHOWN, path,
                     kind_name(st.st_mode));
        close(fd);
        return NULL;
    }
    if ((uintmax_t)st.st_size > max_bytes) {
        bm_error_set(err, BM_ERR_SIZE, "%.*s: the file has %jd bytes, more than the limit of %" PRIu64,
                     NAME_SHOWN, path, (intmax_t)st.st_size, max_bytes);
        close(fd);
        return NULL;
    }
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        bm_error_set(err, BM_ERR_NOMEM, "%.*s: %s", NAME_SHOWN, path,
                     bm_file_strerror(errno, eb, sizeof eb));
        close(fd);
        return NULL;
    }
    if (size)
        *size = (uint64_t)st.st_size;
    return f;
}

/* ------------------------------------------------------------- writing */

/* A well-mixed 64-bit value from x (splitmix64's finaliser). */
static uint64_t mix64(uint64_t x)
{
    x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

/* Longest file name in the directory of path (NAME_MAX there). */
static size_t name_max(const char *path, size_t dir_len)
{
    char *dir = dir_len ? strndup(path, dir_len) : strdup(".");
    long n = dir ? pathconf(dir, _PC_NAME_MAX) : -1;
    free(dir);
    return n > 0 ? (size_t)n : NAME_MAX_FALLBACK;
}

/* Create the temporary for w->path (O_EXCL) into w->tmp; 0 or an errno. */
static int create_temp(bm_writer *w)
{
    static const char alnum[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    const char *slash = strrchr(w->path, '/');
    size_t dir_len = slash ? (size_t)(slash - w->path) + 1 : 0; /* with the slash */
    const char *base = w->path + dir_len;
    size_t room = name_max(w->path, slash == w->path ? 1 : dir_len ? dir_len - 1 : 0);
    size_t extra = strlen(TMP_MARK) + TMP_RANDOM, keep = strlen(base);
    if (keep + extra > room)
        keep = room > extra ? room - extra : 0;
    size_t tlen = dir_len + keep + extra + 1;
    if (!(w->tmp = malloc(tlen)))
        return ENOMEM;
    struct timespec ts = {0, 0};
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_sec * UINT64_C(1000000000) + (uint64_t)ts.tv_nsec;
    x ^= (uint64_t)getpid() << 32 ^ (uint64_t)(uintptr_t)w;
    for (int t = 0; t < TMP_TRIES; t++) {
        char suffix[TMP_RANDOM + 1];
        x = mix64(x + UINT64_C(0x9e3779b97f4a7c15));
        for (int k = 0; k < TMP_RANDOM; k++)
            suffix[k] = alnum[(x >> (6 * k)) % (sizeof alnum - 1)];
        suffix[TMP_RANDOM] = '\0';
        snprintf(w->tmp, tlen, "%.*s%.*s%s%s", (int)dir_len, w->path, (int)keep, base, TMP_MARK,
                 suffix);
        w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0666);
        if (w->fd >= 0) {
            w->created = 1;
            return 0;
        }
        if (errno != EEXIST)
            break;
    }
    return errno;
}

/* fsync the directory holding path (a rename is durable after it); 0 or an errno. */
static int sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    if (!dir)
        return ENOMEM;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), e = 0;
    free(dir);
    if (fd < 0)
        return errno;
    if (fsync(fd) != 0 && errno != EINVAL) /* EINVAL: the fs cannot sync directories */
        e = errno;
    close(fd);
    return e;
}

static void writer_free(bm_writer *w)
{
    if (w->fd >= 0)
        close(w->fd);
    if (w->created)
        unlink(w->tmp);
    free(w->tmp);
    free(w->path);
    free(w);
}

bm_writer *bm_writer_open(const char *path, bm_error *err)
{
    char eb[BM_FILE_ERRNO_LEN];
    struct stat st;
    if (!path) {
        bm_error_set(err, BM_ERR_NULL, "bm_writer_open: path is NULL");
        return NULL;
    }
    if (!*path) {
        bm_error_set(err, BM_ERR_IO, ": cannot create a temp file: %s",
                     bm_file_strerror(ENOENT, eb, sizeof eb));
        return NULL;
    }
    int have = stat(path, &st) == 0;
    if (have && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) { /* rename refuses a directory */
        bm_error_set(err, BM_ERR_IO, "%.*s: is %s, not a regular file: not replaced", NAME_SHOWN,
                     path, kind_name(st.st_mode));
        return NULL;
    }
    bm_writer *w = malloc(sizeof *w);
    if (!w || !(w->path = strdup(path))) {
        free(w);
        bm_error_set(err, BM_ERR_NOMEM, "%.*s: out of memory", NAME_SHOWN, path);
        return NULL;
    }
    w->tmp = NULL;
    w->fd = -1;
    w->created = 0;
    w->failed = NULL;
    w->errnum = 0;
    w->len = 0;
    int e = create_temp(w);
    if (e != 0) {
        bm_error_set(err, e == ENOMEM ? BM_ERR_NOMEM : BM_ERR_IO,
                     "%.*s: cannot create a temp file: %s", NAME_SHOWN, path,
                     bm_file_strerror(e, eb, sizeof eb));
        writer_free(w);
        return NULL;
    }
    if (have && S_ISREG(st.st_mode)) /* keep the mode of the file replaced (best effort) */
        (void)fchmod(w->fd, st.st_mode & 07777);
    return w;
}

/* Note the first failure: step `what`, errno e; returns BM_ERR_IO. */
static bm_status writer_fail(bm_writer *w, const char *what, int e)
{
    if (!w->failed) {
        w->failed = what;
        w->errnum = e;
    }
    return BM_ERR_IO;
}

/* write(2) all of data[0..len) to w's file. */
static bm_status put_all(bm_writer *w, const char *data, size_t len)
{
    for (size_t off = 0; off < len;) {
        ssize_t n = write(w->fd, data + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return writer_fail(w, "cannot write", errno);
        off += (size_t)n;
    }
    return BM_OK;
}

static bm_status flush(bm_writer *w)
{
    bm_status s = put_all(w, w->buf, w->len);
    w->len = 0;
    return s;
}

bm_status bm_writer_write(bm_writer *w, const void *data, size_t len)
{
    if (!w || (!data && len))
        return BM_ERR_NULL;
    if (w->failed)
        return BM_ERR_IO;
    if (len > WRITER_BUF - w->len && flush(w) != BM_OK)
        return BM_ERR_IO;
    if (len >= WRITER_BUF)
        return put_all(w, data, len);
    memcpy(w->buf + w->len, data, len);
    w->len += len;
    return BM_OK;
}

bm_status bm_writer_vprintf(bm_writer *w, const char *fmt, va_list ap)
{
    if (!w || !fmt)
        return BM_ERR_NULL;
    if (w->failed)
        return BM_ERR_IO;
    va_list again;
    va_copy(again, ap);
    size_t room = WRITER_BUF - w->len;
    int n = vsnprintf(w->buf + w->len, room, fmt, ap);
    if (n < 0 || (size_t)n < room) {
        va_end(again);
        if (n < 0)
            return writer_fail(w, "cannot format the output", errno);
        w->len += (size_t)n;
        return BM_OK;
    }
    /* too long for the room left: format it on its own, then write it */
    char *s = malloc((size_t)n + 1);
    if (!s) {
        va_end(again);
        return writer_fail(w, "cannot write", ENOMEM);
    }
    vsnprintf(s, (size_t)n + 1, fmt, again);
    va_end(again);
    bm_status st = bm_writer_write(w, s, (size_t)n);
    free(s);
    return st;
}

bm_status bm_writer_printf(bm_writer *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bm_status s = bm_writer_vprintf(w, fmt, ap);
    va_end(ap);
    return s;
}

bm_status bm_writer_commit(bm_writer *w, bm_error *err)
{
    char eb[BM_FILE_ERRNO_LEN];
    if (!w)
        return bm_error_set(err, BM_ERR_NULL, "bm_writer_commit: writer is NULL");
    if (!w->failed)
        flush(w);
    while (!w->failed && fsync(w->fd) != 0)
        if (errno != EINTR)
            writer_fail(w, "cannot write", errno);
    if (!w->failed) {
        int c = close(w->fd);
        w->fd = -1;
        if (c != 0)
            writer_fail(w, "cannot write", errno);
    }
    if (!w->failed && rename(w->tmp, w->path) != 0)
        writer_fail(w, "cannot rename the temp file over it", errno);
    if (w->failed) {
        bm_status s = bm_error_set(err, w->errnum == ENOMEM ? BM_ERR_NOMEM : BM_ERR_IO,
                                   "%.*s: %s: %s", NAME_SHOWN, w->path, w->failed,
                                   bm_file_strerror(w->errnum, eb, sizeof eb));
        writer_free(w);
        return s;
    }
    int e = sync_dir(w->path);
    bm_status s = e == 0 ? BM_OK
                         : bm_error_set(err, BM_ERR_IO,
                                        "%.*s: saved, but syncing its directory failed: %s",
                                        NAME_SHOWN, w->path, bm_file_strerror(e, eb, sizeof eb));
    w->created = 0; /* renamed: nothing to remove */
    writer_free(w);
    return s;
}

void bm_writer_abort(bm_writer *w)
{
    if (w)
        writer_free(w);
}

bm_status bm_file_write(const char *path, const void *data, size_t len, bm_error *err)
{
    if (!data && len)
        return bm_error_set(err, BM_ERR_NULL, "bm_file_write: data is NULL");
    bm_error e = {0};
    bm_writer *w = bm_writer_open(path, &e);
    if (!w)
        return bm_error_set(err, e.code, "%s", e.msg);
    bm_writer_write(w, data, len);
    return bm_writer_commit(w, err);
}
