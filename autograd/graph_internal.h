/* graph_internal.h — the graph model shared by the DOT writer
 * (graph_export.c) and the JSON writer (graph_json.c); not installed. */
#ifndef BM_GRAPH_INTERNAL_H
#define BM_GRAPH_INTERNAL_H

#include <stdint.h>
#include <stdio.h>

#include "bm_autograd.h"

/* What a leaf is: drawn and numbered separately. A constant is a value computed by an
 * op with recording off (BM_CONST): replay does not recompute it. */
enum leaf_kind { LEAF_PARAM, LEAF_INPUT, LEAF_TARGET, LEAF_CONST, N_LEAF_KINDS };

/* Words for the kinds (JSON "kind", DOT labels of unnamed leaves). */
static const char *const KIND_NAME[N_LEAF_KINDS] = {
    [LEAF_PARAM] = "param", [LEAF_INPUT] = "input", [LEAF_TARGET] = "target",
    [LEAF_CONST] = "constant"};
/* Id prefixes of leaves: p0, in0, t0, c0 (ops are n<index>). */
static const char *const KIND_PREFIX[N_LEAF_KINDS] = {
    [LEAF_PARAM] = "p", [LEAF_INPUT] = "in", [LEAF_TARGET] = "t", [LEAF_CONST] = "c"};

/* Room for one node id ("in18446744073709551615" and a gradient prefix). */
enum { ID_LEN = 32 };
/* Room for a shape string "[a,b,c,d]". */
enum { SHAPE_LEN = 96 };
/* Room for an op's parameters as text (bm_node_describe). */
enum { DESC_LEN = 128 };
/* The leaf and group-name hash sets are kept at most half full. */
enum { HASH_LOAD = 2 };
/* First size of the group-name hash set. */
enum { HASH_START = 64 };
/* No group. */
enum { NO_GROUP = -1 };

/* One leaf: a tensor read by a kept node but produced by none of them. */
typedef struct gx_leaf {
    const bm_tensor *t;
    int kind;        /* enum leaf_kind */
    size_t num;      /* number within its kind */
    int used_diff;   /* read at least once through a differentiable input */
    long group;      /* cluster number or NO_GROUP */
} gx_leaf;

/* One thing drawn, in first-appearance order: a leaf or an op node. */
typedef struct gx_item {
    int is_leaf;
    size_t i;        /* leaf number or tape position */
} gx_item;

/* The graph model both writers print. */
typedef struct gx {
    const bm_graph_opts *o;
    const bm_node **nodes;     /* by tape position */
    size_t n_nodes;
    unsigned char *keep;       /* per position: drawn? */
    long *op_group;            /* per position: cluster or NO_GROUP */
    gx_leaf *leaves;
    size_t n_leaves;
    size_t *slot;              /* hash set: leaf number + 1, 0 when empty */
    size_t cap;                /* slots, a power of two */
    gx_item *items;
    size_t n_items;
    char **groups;             /* copies of the distinct group names */
    size_t n_groups;
    size_t *gslot;             /* hash set of the names: group number + 1, 0 when empty */
    size_t gcap;               /* its slots, a power of two (grown at half full) */
    size_t *group_first;       /* per group: its first item (NO_MEMBER when none) */
    size_t *member_next;       /* per item: the next item of its group, or NO_MEMBER */
    long out;                  /* output position or -1 */
} gx;

/* End of a group's member list. */
#define NO_MEMBER SIZE_MAX

/* A gradient edge: node j's gradient flows into its input k, tensor `in`. */
typedef void (*gx_grad_edge_fn)(FILE *f, const gx *g, size_t j, int k, const bm_tensor *in,
                                const char **sep);

/* Id of an item ("n3" for ops, "p0"/"in2"/"t0" for leaves) into buf. */
const char *gx_item_id(const gx *g, const gx_item *it, char *buf);
/* Id of the drawn node that stands for tensor t (an input of a kept node). */
const char *gx_tensor_id(const gx *g, const bm_tensor *t, char *buf);
/* Tensor and cluster of an item. */
const bm_tensor *gx_item_tensor(const gx *g, const gx_item *it, long *group);
/* Call fn for every gradient edge, in backward (reverse tape) order. */
void gx_each_grad_edge(FILE *f, const gx *g, gx_grad_edge_fn fn, const char **sep);
/* The JSON writer. */
void gx_json_write(FILE *f, const gx *g);

#endif
