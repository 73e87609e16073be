/* graph_export.c — a recorded tape written out as Graphviz DOT or as JSON.
 *
 * Both writers share one model of the graph, built in one pass over the tape
 * in creation order: the kept op nodes (all of them, or only those `output`
 * depends on), and the leaves they read, each numbered by its first
 * appearance. Names come from tape positions and input order only, never from
 * pointer values, so the same graph always gives the same bytes. Pointers are
 * used for identity alone (a small hash set of leaves). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "graph_internal.h"

bm_graph_opts bm_graph_defaults(void)
{
    bm_graph_opts o;
    o.backward = 0;
    o.collapse = 0;
    o.title = NULL;
    o.group = NULL;
    o.group_ud = NULL;
    return o;
}

static void gx_free(gx *g)
{
    for (size_t k = 0; k < g->n_groups; k++)
        free(g->groups[k]);
    free(g->groups);
    free(g->gslot);
    free(g->group_first);
    free(g->member_next);
    free(g->nodes);
    free(g->keep);
    free(g->op_group);
    free(g->leaves);
    free(g->slot);
    free(g->items);
}

/* Is t the output of a node of this tape? Its position goes to *pos. */
static int on_tape(const gx *g, const bm_tensor *t, size_t *pos)
{
    if (!t->node)
        return 0;
    size_t i = bm_node_index(t->node);
    if (i >= g->n_nodes || g->nodes[i] != t->node)
        return 0;
    *pos = i;
    return 1;
}

/* Hash-set slot of t: where it is, or the empty slot where it would go. */
static size_t leaf_slot(const gx *g, const bm_tensor *t)
{
    uint64_t h = (uint64_t)(uintptr_t)t;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    size_t s = (size_t)h & (g->cap - 1);
    while (g->slot[s] && g->leaves[g->slot[s] - 1].t != t)
        s = (s + 1) & (g->cap - 1);
    return s;
}

/* FNV-1a hash of a group name. */
static uint64_t name_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h;
}

/* Hash-set slot of group name s: where it is, or the empty slot for it. */
static size_t group_slot(const gx *g, const char *s)
{
    size_t k = (size_t)name_hash(s) & (g->gcap - 1);
    while (g->gslot[k] && strcmp(g->groups[g->gslot[k] - 1], s) != 0)
        k = (k + 1) & (g->gcap - 1);
    return k;
}

/* Double the name set (it stays at most half full); 0 or -1 out of memory. */
static int grow_groups(gx *g)
{
    size_t cap = g->gcap ? 2 * g->gcap : HASH_START;
    size_t *slot = calloc(cap, sizeof *slot);
    if (!slot)
        return -1;
    free(g->gslot);
    g->gslot = slot;
    g->gcap = cap;
    for (size_t k = 0; k < g->n_groups; k++)
        g->gslot[group_slot(g, g->groups[k])] = k + 1;
    return 0;
}

/* Cluster number of t's group (copying a new name), NO_GROUP when none:
 * one hash look-up, so numbering every item is linear in their count. */
static bm_status group_of(gx *g, const char *fn, const bm_tensor *t, long *out, bm_error *err)
{
    *out = NO_GROUP;
    if (!g->o->group)
        return BM_OK;
    const char *s = g->o->group(g->o->group_ud, t);
    if (!s)
        return BM_OK;
    if ((g->n_groups + 1) * HASH_LOAD > g->gcap && grow_groups(g) != 0)
        return bm_error_set(err, BM_ERR_NOMEM, "%s: out of memory", fn);
    size_t k = group_slot(g, s);
    if (g->gslot[k]) {
        *out = (long)(g->gslot[k] - 1);
        return BM_OK;
    }
    size_t len = strlen(s) + 1;
    char *copy = malloc(len);
    if (!copy)
        return bm_error_set(err, BM_ERR_NOMEM, "%s: out of memory", fn);
    memcpy(copy, s, len);
    g->groups[g->n_groups] = copy;
    g->gslot[k] = ++g->n_groups;
    *out = (long)g->n_groups - 1;
    return BM_OK;
}

/* Link each group's items in drawing order (group_first, member_next), so
 * the clusters are written in one pass over the items. */
static bm_status link_members(gx *g, const char *fn, bm_error *err)
{
    size_t *last = calloc(g->n_groups ? g->n_groups : 1, sizeof *last);
    g->group_first = calloc(g->n_groups ? g->n_groups : 1, sizeof *g->group_first);
    g->member_next = calloc(g->n_items ? g->n_items : 1, sizeof *g->member_next);
    if (!last || !g->group_first || !g->member_next) {
        free(last);
        return bm_error_set(err, BM_ERR_NOMEM, "%s: out of memory", fn);
    }
    for (size_t k = 0; k < g->n_groups; k++)
        g->group_first[k] = NO_MEMBER;
    for (size_t i = 0; i < g->n_items; i++) {
        long k;
        gx_item_tensor(g, &g->items[i], &k);
        g->member_next[i] = NO_MEMBER;
        if (k == NO_GROUP)
            continue;
        if (g->group_first[k] == NO_MEMBER)
            g->group_first[k] = i;
        else
            g->member_next[last[k]] = i;
        last[k] = i;
    }
    free(last);
    return BM_OK;
}

/* Mark the nodes `output` (at position p) depends on, walking backward. */
static void keep_ancestors(gx *g, size_t p)
{
    g->keep[p] = 1;
    for (size_t j = p + 1; j-- > 0;) {
        if (!g->keep[j])
            continue;
        const bm_node *nd = g->nodes[j];
        for (int k = 0; k < bm_node_n_inputs(nd); k++) {
            size_t q;
            if (on_tape(g, bm_node_input(nd, k), &q))
                g->keep[q] = 1;
        }
    }
}

/* Record the leaves and items of the kept nodes, in creation order. */
static void collect(gx *g)
{
    for (size_t j = 0; j < g->n_nodes; j++) {
        if (!g->keep[j])
            continue;
        const bm_node *nd = g->nodes[j];
        for (int k = 0; k < bm_node_n_inputs(nd); k++) {
            const bm_tensor *t = bm_node_input(nd, k);
            size_t q;
            if (on_tape(g, t, &q))
                continue;
            size_t s = leaf_slot(g, t);
            if (!g->slot[s]) {
                gx_leaf *l = &g->leaves[g->n_leaves++];
                l->t = t;
                l->used_diff = 0;
                l->group = NO_GROUP;
                g->slot[s] = g->n_leaves;
                g->items[g->n_items++] = (gx_item){1, g->n_leaves - 1};
            }
            if (bm_node_input_differentiable(nd, k))
                g->leaves[g->slot[s] - 1].used_diff = 1;
        }
        g->items[g->n_items++] = (gx_item){0, j};
    }
}

/* Build the model of tape (up to output's ancestors when output is set). */
static bm_status gx_build(gx *g, const char *fn, const bm_tape *tape, const bm_tensor *output,
                          bm_error *err)
{
    size_t n = bm_tape_size(tape);
    if (n == 0)
        return bm_error_set(err, BM_ERR_STATE, "%s: the tape is empty (nothing recorded)", fn);
    /* Every input read can be a distinct leaf (variadic ops read any number). */
    size_t reads = 0;
    for (const bm_node *nd = bm_tape_first(tape); nd; nd = bm_node_next(nd))
        reads += (size_t)bm_node_n_inputs(nd);
    size_t max_leaves = reads ? reads : 1, max_items = n + reads;
    if (max_items > SIZE_MAX / (HASH_LOAD * 2 * sizeof(gx_leaf)))
        return bm_error_set(err, BM_ERR_SIZE, "%s: %zu nodes are too many", fn, n);
    g->cap = 1;
    while (g->cap < max_leaves * HASH_LOAD)
        g->cap <<= 1;
    g->nodes = calloc(n, sizeof *g->nodes);
    g->keep = calloc(n, 1);
    g->op_group = calloc(n, sizeof *g->op_group);
    g->leaves = calloc(max_leaves, sizeof *g->leaves);
    g->slot = calloc(g->cap, sizeof *g->slot);
    g->items = calloc(max_items, sizeof *g->items);
    g->groups = calloc(max_items, sizeof *g->groups);
    if (!g->nodes || !g->keep || !g->op_group || !g->leaves || !g->slot || !g->items ||
        !g->groups)
        return bm_error_set(err, BM_ERR_NOMEM, "%s: out of memory", fn);
    for (const bm_node *nd = bm_tape_first(tape); nd && g->n_nodes < n; nd = bm_node_next(nd))
        g->nodes[g->n_nodes++] = nd;

    g->out = -1;
    if (output) {
        size_t p;
        char s[SHAPE_LEN];
        if (!on_tape(g, output, &p))
            return bm_error_set(err, BM_ERR_ARG,
                                "%s: the output %s %s is not recorded on this tape", fn,
                                bm_shape_str(output, s, sizeof s), bm_dtype_name(output->dtype));
        g->out = (long)p;
        keep_ancestors(g, p);
    } else {
        memset(g->keep, 1, n);
    }
    collect(g);

    size_t count[N_LEAF_KINDS] = {0};
    for (size_t i = 0; i < g->n_leaves; i++) {
        gx_leaf *l = &g->leaves[i];
        l->kind = (l->t->flags & BM_PARAM)   ? LEAF_PARAM
                  : (l->t->flags & BM_CONST) ? LEAF_CONST
                  : l->used_diff             ? LEAF_INPUT
                                             : LEAF_TARGET;
        l->num = count[l->kind]++;
    }
    /* Groups are numbered in drawing order: cluster_0 is the first seen. */
    for (size_t i = 0; i < g->n_items; i++) {
        const gx_item *it = &g->items[i];
        bm_status st = BM_OK;
        if (!it->is_leaf)
            st = group_of(g, fn, bm_node_output(g->nodes[it->i]), &g->op_group[it->i], err);
        else if (g->leaves[it->i].kind == LEAF_PARAM)
            st = group_of(g, fn, g->leaves[it->i].t, &g->leaves[it->i].group, err);
        else
            g->leaves[it->i].group = NO_GROUP;
        if (st != BM_OK)
            return st;
    }
    return link_members(g, fn, err);
}

/* Id of leaf i ("p0", "in2", "t0"). */
static const char *leaf_id(const gx *g, size_t i, char *buf)
{
    const gx_leaf *l = &g->leaves[i];
    snprintf(buf, ID_LEN, "%s%zu", KIND_PREFIX[l->kind], l->num);
    return buf;
}

/* Id of an item ("n3" for ops). */
const char *gx_item_id(const gx *g, const gx_item *it, char *buf)
{
    if (it->is_leaf)
        return leaf_id(g, it->i, buf);
    snprintf(buf, ID_LEN, "n%zu", it->i);
    return buf;
}

/* Id of the drawn node that stands for tensor t (an input of a kept node). */
const char *gx_tensor_id(const gx *g, const bm_tensor *t, char *buf)
{
    size_t q;
    if (on_tape(g, t, &q)) {
        snprintf(buf, ID_LEN, "n%zu", q);
        return buf;
    }
    return leaf_id(g, g->slot[leaf_slot(g, t)] - 1, buf);
}

/* The item that stands for tensor t (an input of a kept node). */
gx_item gx_tensor_item(const gx *g, const bm_tensor *t)
{
    size_t q;
    if (on_tape(g, t, &q))
        return (gx_item){0, q};
    return (gx_item){1, g->slot[leaf_slot(g, t)] - 1};
}

/* Tensor and cluster of an item. */
const bm_tensor *gx_item_tensor(const gx *g, const gx_item *it, long *group)
{
    if (it->is_leaf) {
        *group = g->leaves[it->i].group;
        return g->leaves[it->i].t;
    }
    *group = g->op_group[it->i];
    return bm_node_output(g->nodes[it->i]);
}

/* Does a gradient reach item it during backward? */
int gx_item_gets_grad(const gx *g, const gx_item *it)
{
    long unused;
    const bm_tensor *t = gx_item_tensor(g, it, &unused);
    if (it->is_leaf && !g->leaves[it->i].used_diff)
        return 0;
    return (t->flags & BM_REQUIRES_GRAD) != 0;
}

/* ------------------------------------------------------------------ DOT */

/* s inside a DOT double-quoted string: quotes and backslashes escaped,
 * line breaks as \n, other control characters as spaces. */
void gx_dot_esc(FILE *f, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", f);
        else if (c < 0x20 || c == 0x7f)
            fputc(' ', f);
        else
            fputc(c, f);
    }
}

/* One node statement. */
void gx_dot_item(FILE *f, const gx *g, const gx_item *it)
{
    char id[ID_LEN], shp[SHAPE_LEN];
    long group;
    const bm_tensor *t = gx_item_tensor(g, it, &group);
    bm_shape_str(t, shp, sizeof shp);
    fprintf(f, "  %s [label=\"", gx_item_id(g, it, id));
    if (it->is_leaf) {
        const gx_leaf *l = &g->leaves[it->i];
        gx_dot_esc(f, t->name ? t->name : KIND_NAME[l->kind]);
        fprintf(f, "\\n%s %s%s\", ", shp, bm_dtype_name(t->dtype),
                l->kind == LEAF_CONST ? "\\n" DOT_CONST_NOTE : "");
        fputs(l->kind == LEAF_PARAM   ? DOT_PARAM_STYLE
              : l->kind == LEAF_INPUT ? DOT_INPUT_STYLE
              : l->kind == LEAF_CONST ? DOT_CONST_STYLE
                                      : DOT_TARGET_STYLE,
              f);
        fputs("];\n", f);
        return;
    }
    char desc[DESC_LEN];
    bm_node_describe(g->nodes[it->i], desc, sizeof desc);
    fprintf(f, "%zu: ", it->i);
    gx_dot_esc(f, bm_node_op_name(g->nodes[it->i]));
    if (desc[0]) {
        fputc('(', f);
        gx_dot_esc(f, desc);
        fputc(')', f);
    }
    fputs("\\n", f);
    if (t->name) {
        gx_dot_esc(f, t->name);
        fputc(' ', f);
    }
    fprintf(f, "%s\"", shp);
    if ((long)it->i == g->out)
        fputs(", " DOT_OUTPUT_STYLE, f);
    fputs("];\n", f);
}

/* Label of a gradient node: ∂name, or ∂(3: relu) for unnamed ops, and the
 * gradient's shape (its tensor's) on a second line. */
void gx_dot_grad_label(FILE *f, const gx *g, const gx_item *it)
{
    char id[ID_LEN], shp[SHAPE_LEN];
    long group;
    const bm_tensor *t = gx_item_tensor(g, it, &group);
    fputs(PARTIAL, f);
    if (t->name) {
        gx_dot_esc(f, t->name);
    } else if (it->is_leaf) {
        fputs(gx_item_id(g, it, id), f);
    } else {
        fprintf(f, "(%zu: ", it->i);
        gx_dot_esc(f, bm_node_op_name(g->nodes[it->i]));
        fputc(')', f);
    }
    fprintf(f, "\\n%s", bm_shape_str(t, shp, sizeof shp));
}

/* Every gradient edge in backward (reverse tape) order: from each kept op
 * whose output needs a gradient to its differentiable inputs that need one. */
void gx_each_grad_edge(void *ud, const gx *g, gx_grad_edge_fn fn)
{
    for (size_t j = g->n_nodes; j-- > 0;) {
        const bm_node *nd = g->nodes[j];
        if (!g->keep[j] || !(bm_node_output(nd)->flags & BM_REQUIRES_GRAD))
            continue;
        for (int k = 0; k < bm_node_n_inputs(nd); k++) {
            const bm_tensor *in = bm_node_input(nd, k);
            if (bm_node_input_differentiable(nd, k) && (in->flags & BM_REQUIRES_GRAD))
                fn(ud, g, j, k, in);
        }
    }
}

static void dot_grad_edge(void *ud, const gx *g, size_t j, int k, const bm_tensor *in)
{
    char id[ID_LEN];
    FILE *f = ud;
    (void)k;
    fprintf(f, "  g_n%zu -> g_%s [" DOT_GRAD_EDGE_STYLE "];\n", j, gx_tensor_id(g, in, id));
}

/* Gradient nodes and the dashed edges of the backward pass, which walks
 * the tape in reverse. */
static void dot_backward(FILE *f, const gx *g)
{
    char id[ID_LEN];
    fputs("\n  // backward: gradient flow\n", f);
    for (size_t i = 0; i < g->n_items; i++) {
        const gx_item *it = &g->items[i];
        if (!gx_item_gets_grad(g, it))
            continue;
        fprintf(f, "  g_%s [label=\"", gx_item_id(g, it, id));
        gx_dot_grad_label(f, g, it);
        fputs("\", " DOT_GRAD_STYLE "];\n", f);
    }
    if (g->out >= 0 && (bm_node_output(g->nodes[g->out])->flags & BM_REQUIRES_GRAD))
        fprintf(f, "  n%ld -> g_n%ld [" DOT_SEED_STYLE "];\n",
                g->out, g->out);
    gx_each_grad_edge(f, g, dot_grad_edge);
}

/* The opening lines: graph, node and edge attributes, the title. */
void gx_dot_head(FILE *f, const gx *g)
{
    fputs("digraph bmnn {\n", f);
    fputs("  graph [fontname=\"" DOT_FONT "\", rankdir=TB", f);
    if (g->o->title) {
        fputs(", labelloc=t, label=\"", f);
        gx_dot_esc(f, g->o->title);
        fputc('"', f);
    }
    fputs("];\n", f);
    fputs("  node [fontname=\"" DOT_FONT "\", fontsize=10, shape=ellipse];\n", f);
    fputs("  edge [fontname=\"" DOT_FONT "\", fontsize=9, color=\"#555555\"];\n\n", f);
}

static void dot_write(FILE *f, const gx *g)
{
    char id[ID_LEN];
    gx_dot_head(f, g);
    for (size_t i = 0; i < g->n_items; i++)
        gx_dot_item(f, g, &g->items[i]);
    for (size_t k = 0; k < g->n_groups; k++) {
        fprintf(f, "\n  subgraph cluster_%zu {\n    label=\"", k);
        gx_dot_esc(f, g->groups[k]);
        fputs("\"; " DOT_CLUSTER_STYLE "\n   ", f);
        for (size_t i = g->group_first[k]; i != NO_MEMBER; i = g->member_next[i])
            fprintf(f, " %s;", gx_item_id(g, &g->items[i], id));
        fputs("\n  }\n", f);
    }
    fputc('\n', f);
    for (size_t j = 0; j < g->n_nodes; j++) {
        const bm_node *nd = g->nodes[j];
        if (!g->keep[j])
            continue;
        for (int k = 0; k < bm_node_n_inputs(nd); k++) {
            fprintf(f, "  %s -> n%zu", gx_tensor_id(g, bm_node_input(nd, k), id), j);
            fputs(bm_node_input_differentiable(nd, k) ? ";\n" : " [style=dashed];\n", f);
        }
    }
    if (g->o->backward)
        dot_backward(f, g);
    fputs("}\n", f);
}

/* ----------------------------------------------------------- public API */

/* Check arguments, build the model, write it, report write errors. */
static bm_status export_graph(const char *fn, int json, const bm_tape *tape,
                              const bm_tensor *output, FILE *f, const bm_graph_opts *o,
                              bm_error *err)
{
    if (!tape)
        return bm_error_set(err, BM_ERR_NULL, "%s: tape is NULL", fn);
    if (!f)
        return bm_error_set(err, BM_ERR_NULL, "%s: file is NULL", fn);
    bm_graph_opts defaults = bm_graph_defaults();
    gx g;
    memset(&g, 0, sizeof g);
    g.o = o ? o : &defaults;
    bm_status st = gx_build(&g, fn, tape, output, err);
    if (st == BM_OK && g.o->collapse)
        st = gx_collapse_write(f, &g, json, fn, err);
    else if (st == BM_OK)
        (json ? gx_json_write : dot_write)(f, &g);
    if (st == BM_OK) {
        if (fflush(f) != 0 || ferror(f))
            st = bm_error_set(err, BM_ERR_IO, "%s: write failed", fn);
    }
    gx_free(&g);
    return st;
}

bm_status bm_graph_write_dot(const bm_tape *tape, const bm_tensor *output, FILE *f,
                             const bm_graph_opts *o, bm_error *err)
{
    return export_graph("bm_graph_write_dot", 0, tape, output, f, o, err);
}

bm_status bm_graph_write_json(const bm_tape *tape, const bm_tensor *output, FILE *f,
                              const bm_graph_opts *o, bm_error *err)
{
    return export_graph("bm_graph_write_json", 1, tape, output, f, o, err);
}
