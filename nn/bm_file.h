/* bm_file.h — the one atomic file writer every file of the library and of
 * `bmnn` goes through (models, checkpoints, CSV, predictions, graphs, plots).
 *
 * A write goes to a temporary file in the target's directory (NAME.tmp.XXXXXX,
 * NAME shortened so the temporary name fits the file system's NAME_MAX, so any
 * valid output name works), is fsync'ed and renamed over the target, then the
 * directory is fsync'ed: a reader sees the old file or the whole new one, and
 * a failure (a full disk, a write error, out of memory) leaves the old file
 * as it was and no temporary behind. An existing target that is not a regular
 * file (a device such as /dev/null, a FIFO, a socket) is refused untouched;
 * a directory is refused by the rename. The mode of a replaced file is kept;
 * a symbolic link as target is replaced by the file. Messages name the path,
 * the step that failed and the system's reason:
 * "out.csv: cannot write: No space left on device".
 *
 * Ownership: bm_writer_open() returns a writer that bm_writer_commit() or
 * bm_writer_abort() frees (exactly one of them, once). Nothing here aborts or
 * exits; every function accepts NULL. */
#ifndef BM_FILE_H
#define BM_FILE_H

#include <stdarg.h>
#include <stddef.h>

#include "bm_autograd.h"

#ifdef __cplusplus
extern "C" {
#endif
BM_API_BEGIN

/* An output file being written atomically. */
typedef struct bm_writer bm_writer;

/* Start writing path: refuses a non-regular existing target (BM_ERR_IO),
 * creates the temporary file. NULL with err set on failure. */
bm_writer *bm_writer_open(const char *path, bm_error *err);
/* Append len bytes. A failure (BM_ERR_IO, BM_ERR_NULL) is sticky: later
 * writes do nothing and bm_writer_commit reports the first one. */
bm_status bm_writer_write(bm_writer *w, const void *data, size_t len);
/* Append printf-formatted text (same sticky failures). */
bm_status bm_writer_printf(bm_writer *w, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* bm_writer_printf with a va_list. */
bm_status bm_writer_vprintf(bm_writer *w, const char *fmt, va_list ap);
/* Finish: flush, fsync, rename over the target, fsync the directory; frees
 * w. On any failure (also an earlier write's) the temporary is removed, the
 * target is left as it was and err says why. */
bm_status bm_writer_commit(bm_writer *w, bm_error *err);
/* Give up: remove the temporary and free w; the target is untouched. */
void bm_writer_abort(bm_writer *w);

/* Write len bytes of data to path atomically (open, write, commit). */
bm_status bm_file_write(const char *path, const void *data, size_t len, bm_error *err);

BM_API_END
#ifdef __cplusplus
}
#endif
#endif
