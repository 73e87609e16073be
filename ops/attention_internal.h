/* attention_internal.h — shared by attention.c and causal_matmul.c (not
 * installed). */
#ifndef BM_ATTENTION_INTERNAL_H
#define BM_ATTENTION_INTERNAL_H

/* Causal products run in blocks of this many rows: a block needs the
 * columns up to its last row only, so most of the masked half is skipped. */
enum { BM_CAUSAL_ROWS = 32 };

#endif
