/* data_text.h — `bmnn data text`: a text file's context windows as CSV
 * (tools/ only). */
#ifndef BM_DATA_TEXT_H
#define BM_DATA_TEXT_H

#include <stdint.h>

/* What `bmnn data text` was asked for (cmd_data.c parses it). */
typedef struct data_text_args {
    const char *path;     /* the text file */
    const char *out;      /* -o: training windows */
    const char *val_out;  /* --val-output, NULL: OUT's name with "-val" before ".csv" */
    const char *vocab;    /* --vocab: where to write the vocabulary, NULL: nowhere */
    uint64_t context;     /* --context T */
    uint64_t stride;      /* --stride S */
    uint64_t random;      /* --random N: N random training windows, 0: strided */
    uint64_t seed;        /* --seed */
    double val_split;     /* --val-split F in [0, 1) */
    int utf8;             /* --utf8: code points, not bytes */
    int sequence;         /* --sequence: T target columns (every position's next token) */
} data_text_args;

/* Run it; a CLI_* exit status, the message printed. */
int data_text_run(const data_text_args *a);

#endif
