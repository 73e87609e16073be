/* graph_internal.h — the graph model shared by the DOT writer
 * (graph_export.c) and the JSON writer (graph_json.c); not installed. */
#ifndef BM_GRAPH_INTERNAL_H
#define BM_GRAPH_INTERNAL_H

#include <stdint.h>
#include <stdio.h>

#include "bm_autograd.h"

/* Colours and shapes of the DOT drawing. */
#define DOT_FONT "Helvetica"
#define DOT_PARAM_STYLE "shape=box, style=filled, fillcolor=\"#fff2cc\", color=\"#b58900\""
#define DOT_INPUT_STYLE \
    "shape=box, style=\"rounded,filled\", fillcolor=\"#dae8fc\", color=\"#6c8ebf\""
#define DOT_TARGET_STYLE "shape=box, style=\"rounded,dashed\", color=\"#6c8ebf\""
/* A no-grad constant (BM_CONST): grey and dashed, a note that replay keeps it. */
#define DOT_CONST_STYLE \
    "shape=box, style=\"filled,dashed\", fillcolor=\"#eeeeee\", color=\"#888888\", " \
    "fontcolor=\"#555555\""
#define DOT_CONST_NOTE "no-grad constant: not replayed"
#define DOT_OUTPUT_STYLE \
    "style=\"filled,bold\", fillcolor=\"#f8cecc\", color=\"#b85450\", penwidth=2"
#define DOT_GRAD_STYLE "style=dashed, color=\"#b85450\", fontcolor=\"#b85450\""
#define DOT_CLUSTER_STYLE "style=rounded; color=\"#999999\"; fontcolor=\"#555555\";"
/* "∂" in UTF-8. */
#define PARTIAL "\xE2\x88\x82"

/* The dashed edge of a gradient and the dotted seed of the output's. */
#define DOT_GRAD_EDGE_STYLE "style=dashed, color=\"#b85450\""
#define DOT_SEED_STYLE "style=dotted, color=\"#b85450\", label=\"seed\""
/* A layer box of the collapsed graph. */
#define DOT_LAYER_STYLE \
    "shape=box, style=\"rounded,filled\", fillcolor=\"#d5e8d4\", color=\"#82b366\""

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

/* A gradient edge: node j's gradient flows into its input k, tensor `in`;
 * ud is gx_each_grad_edge's. */
typedef void (*gx_grad_edge_fn)(void *ud, const gx *g, size_t j, int k, const bm_tensor *in);

/* Id of an item ("n3" for ops, "p0"/"in2"/"t0" for leaves) into buf. */
const char *gx_item_id(const gx *g, const gx_item *it, char *buf);
/* Id of the drawn node that stands for tensor t (an input of a kept node). */
const char *gx_tensor_id(const gx *g, const bm_tensor *t, char *buf);
/* The item that stands for tensor t (an input of a kept node). */
gx_item gx_tensor_item(const gx *g, const bm_tensor *t);
/* Tensor and cluster of an item. */
const bm_tensor *gx_item_tensor(const gx *g, const gx_item *it, long *group);
/* Does a gradient reach item it during backward? */
int gx_item_gets_grad(const gx *g, const gx_item *it);
/* Call fn(ud, ...) for every gradient edge, in backward (reverse tape) order. */
void gx_each_grad_edge(void *ud, const gx *g, gx_grad_edge_fn fn);

/* DOT pieces (graph_export.c): s escaped inside a double-quoted string; the
 * opening lines (attributes, title); one node statement of an item; the
 * label text of an item's gradient node ("∂name\n[4,3]"). */
void gx_dot_esc(FILE *f, const char *s);
void gx_dot_head(FILE *f, const gx *g);
void gx_dot_item(FILE *f, const gx *g, const gx_item *it);
void gx_dot_grad_label(FILE *f, const gx *g, const gx_item *it);

/* The JSON writer, and its pieces: s as a JSON string (NULL: null); the
 * object of one item, without a line break. */
void gx_json_write(FILE *f, const gx *g);
void gx_json_str(FILE *f, const char *s);
void gx_json_node(FILE *f, const gx *g, const gx_item *it);

/* The collapsed graph (graph_collapse.c): one box per group, edges between
 * boxes deduplicated, as DOT or (json) JSON; errors: out of memory. */
bm_status gx_collapse_write(FILE *f, const gx *g, int json, const char *fn, bm_error *err);

#endif
