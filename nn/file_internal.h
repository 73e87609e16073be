/* file_internal.h — how the library opens the files it reads (not
 * installed): one helper for the CSV, IDX and model file readers. */
#ifndef BM_FILE_INTERNAL_H
#define BM_FILE_INTERNAL_H

#include <stdint.h>
#include <stdio.h>

#include "bm_file.h"

/* Room for an strerror message. */
#define BM_FILE_ERRNO_LEN 128

/* Thread-safe strerror(errnum) into buf; returns buf. */
const char *bm_file_strerror(int errnum, char *buf, size_t len);

/* Open path for reading. It is opened with O_NONBLOCK, so a FIFO without a
 * writer cannot block, and fstat must say it is a regular file: a directory,
 * FIFO, device or socket is BM_ERR_IO ("PATH: is a FIFO, not a regular
 * file"); a file over max_bytes is BM_ERR_SIZE unread ("PATH: the file has N
 * bytes, more than the limit of M"). *size (may be NULL) gets its size, which
 * a reader still enforces while reading (the file may grow meanwhile).
 * Returns a blocking stream the caller fcloses, or NULL with err set. */
FILE *bm_file_open_read(const char *path, uint64_t max_bytes, uint64_t *size, bm_error *err);

#endif
