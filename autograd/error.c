/* error.c — status names, message formatting and the version. */
#include <stdarg.h>
#include <stdio.h>

#include "bm_autograd.h"

const char *bm_version(void) { return BMNN_VERSION_STRING; }

int bm_version_number(void) { return BMNN_VERSION_NUMBER; }

const char *bm_status_name(bm_status s)
{
    switch (s) {
    case BM_OK: return "ok";
    case BM_ERR_NULL: return "null";
    case BM_ERR_SHAPE: return "shape";
    case BM_ERR_DTYPE: return "dtype";
    case BM_ERR_RANK: return "rank";
    case BM_ERR_SIZE: return "size";
    case BM_ERR_NOMEM: return "nomem";
    case BM_ERR_ARG: return "arg";
    case BM_ERR_STATE: return "state";
    case BM_ERR_IO: return "io";
    case BM_ERR_PARSE: return "parse";
    case BM_ERR_NUMERIC: return "numeric";
    case BM_ERR_INTERRUPTED: return "interrupted";
    }
    return "unknown";
}

bm_status bm_error_set(bm_error *err, bm_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}
