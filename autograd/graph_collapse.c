/* graph_collapse.c — the graph model of graph_export.c with each group (a
 * model's layer) drawn as one box: bm_graph_opts.collapse.
 *
 * Every drawn thing becomes a unit: a group's box, or an op or leaf outside
 * any group as itself. Units are numbered group k -> k, op at tape position q
 * -> G + q, leaf l -> G + N + l (G groups, N tape nodes), so numbering needs
 * no search. An edge of the full graph becomes an edge between the units of
 * its ends: those inside one unit disappear, the rest are merged by a hash
 * set of (from, to) pairs, kept in first-appearance order, so the output is
 * as deterministic as the full graph's. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "graph_internal.h"

/* One edge between units; diff: at least one merged edge is differentiable. */
typedef struct cx_edge {
    size_t from, to;
    size_t count; /* edges of the full graph merged into it */
    int diff;
} cx_edge;

/* The collapsed view of one gx. */
typedef struct cx {
    const gx *g;
    size_t n_units;
    size_t *last_op;        /* per group: its last op's item (its output), or its last item */
    size_t *n_ops, *n_params; /* per group: ops and parameters merged into the box */
    unsigned char *drawn;   /* per unit: written already */
    unsigned char *grad;    /* per unit: a gradient reaches it */
    cx_edge *edges;         /* forward edges, then (reused) gradient edges */
    size_t n_edges, max_edges;
    size_t *eslot;          /* hash set: edge index + 1, 0 when empty */
    size_t ecap;            /* its slots, a power of two, at least twice max_edges */
} cx;

/* Unit of an item. */
static size_t unit_of_item(const cx *c, const gx_item *it)
{
    long group;
    gx_item_tensor(c->g, it, &group);
    if (group != NO_GROUP)
        return (size_t)group;
    return c->g->n_groups + (it->is_leaf ? c->g->n_nodes : 0) + it->i;
}

/* Unit of tensor t (an input of a kept node). */
static size_t unit_of_tensor(const cx *c, const bm_tensor *t)
{
    gx_item it = gx_tensor_item(c->g, t);
    return unit_of_item(c, &it);
}

/* Is unit u a group's box? */
static int is_box(const cx *c, size_t u) { return u < c->g->n_groups; }

/* The item a unit stands for: its own, or the box's output item. */
static gx_item unit_item(const cx *c, size_t u)
{
    size_t G = c->g->n_groups, N = c->g->n_nodes;
    if (is_box(c, u))
        return c->g->items[c->last_op[u]];
    return u < G + N ? (gx_item){0, u - G} : (gx_item){1, u - G - N};
}

/* Id of unit u: "L3" for box 3, else the item's own ("n5", "in0"). */
static const char *unit_id(const cx *c, size_t u, char *buf)
{
    if (is_box(c, u)) {
        snprintf(buf, ID_LEN, "L%zu", u);
        return buf;
    }
    gx_item it = unit_item(c, u);
    return gx_item_id(c->g, &it, buf);
}

static void cx_free(cx *c)
{
    free(c->last_op);
    free(c->n_ops);
    free(c->n_params);
    free(c->drawn);
    free(c->grad);
    free(c->edges);
    free(c->eslot);
}

/* Forget the edges (to collect the gradient edges in the same room). */
static void clear_edges(cx *c)
{
    c->n_edges = 0;
    memset(c->eslot, 0, c->ecap * sizeof *c->eslot);
}

/* Add the edge from -> to (merged with an equal one); self-loops vanish. */
static void add_edge(cx *c, size_t from, size_t to, int diff)
{
    if (from == to)
        return;
    uint64_t h = ((uint64_t)from * 0x9e3779b97f4a7c15ULL) ^ ((uint64_t)to + 0x632be59bd9b4e019ULL);
    h ^= h >> 31;
    size_t s = (size_t)h & (c->ecap - 1);
    while (c->eslot[s]) {
        cx_edge *e = &c->edges[c->eslot[s] - 1];
        if (e->from == from && e->to == to) {
            e->count++;
            e->diff |= diff;
            return;
        }
        s = (s + 1) & (c->ecap - 1);
    }
    if (c->n_edges == c->max_edges) /* cannot happen: one per edge of the full graph */
        return;
    c->edges[c->n_edges] = (cx_edge){.from = from, .to = to, .count = 1, .diff = diff};
    c->eslot[s] = ++c->n_edges;
}

/* Allocate and fill the per-group and per-unit tables. */
static bm_status cx_build(cx *c, const gx *g, const char *fn, bm_error *err)
{
    memset(c, 0, sizeof *c);
    c->g = g;
    c->n_units = g->n_groups + g->n_nodes + g->n_leaves;
    size_t reads = 0;
    for (size_t j = 0; j < g->n_nodes; j++)
        reads += g->keep[j] ? (size_t)bm_node_n_inputs(g->nodes[j]) : 0;
    c->max_edges = reads ? reads : 1;
    c->ecap = 1;
    while (c->ecap < c->max_edges * HASH_LOAD)
        c->ecap <<= 1;
    size_t ng = g->n_groups ? g->n_groups : 1;
    c->last_op = calloc(ng, sizeof *c->last_op);
    c->n_ops = calloc(ng, sizeof *c->n_ops);
    c->n_params = calloc(ng, sizeof *c->n_params);
    c->drawn = calloc(c->n_units, 1);
    c->grad = calloc(c->n_units, 1);
    c->edges = calloc(c->max_edges, sizeof *c->edges);
    c->eslot = calloc(c->ecap, sizeof *c->eslot);
    if (!c->last_op || !c->n_ops || !c->n_params || !c->drawn || !c->grad || !c->edges ||
        !c->eslot)
        return bm_error_set(err, BM_ERR_NOMEM, "%s: out of memory", fn);
    for (size_t k = 0; k < g->n_groups; k++) {
        int have_op = 0;
        for (size_t i = g->group_first[k]; i != NO_MEMBER; i = g->member_next[i]) {
            const gx_item *it = &g->items[i];
            if (!it->is_leaf) {
                c->n_ops[k]++;
                c->last_op[k] = i;
                have_op = 1;
            } else {
                c->n_params[k]++;
                if (!have_op)
                    c->last_op[k] = i;
            }
        }
    }
    for (size_t i = 0; i < g->n_items; i++)
        if (gx_item_gets_grad(g, &g->items[i]))
            c->grad[unit_of_item(c, &g->items[i])] = 1;
    return BM_OK;
}

/* The forward edges between units, in the full graph's order. */
static void collect_edges(cx *c)
{
    const gx *g = c->g;
    clear_edges(c);
    for (size_t j = 0; j < g->n_nodes; j++) {
        if (!g->keep[j])
            continue;
        const bm_node *nd = g->nodes[j];
        size_t to = unit_of_item(c, &(gx_item){0, j});
        for (int k = 0; k < bm_node_n_inputs(nd); k++)
            add_edge(c, unit_of_tensor(c, bm_node_input(nd, k)), to,
                     bm_node_input_differentiable(nd, k));
    }
}

static void grad_edge(void *ud, const gx *g, size_t j, int k, const bm_tensor *in)
{
    cx *c = ud;
    (void)g, (void)k;
    add_edge(c, unit_of_item(c, &(gx_item){0, j}), unit_of_tensor(c, in), 1);
}

/* The gradient edges between units, in backward order. */
static void collect_grad_edges(cx *c)
{
    clear_edges(c);
    gx_each_grad_edge(c, c->g, grad_edge);
}

/* Unit of the output, or SIZE_MAX when none. */
static size_t out_unit(const cx *c)
{
    return c->g->out >= 0 ? unit_of_item(c, &(gx_item){0, (size_t)c->g->out}) : SIZE_MAX;
}

/* ------------------------------------------------------------------ DOT */

/* A box: its group's name, its output shape. */
static void dot_box(FILE *f, const cx *c, size_t u)
{
    char id[ID_LEN], shp[SHAPE_LEN];
    gx_item it = unit_item(c, u);
    long group;
    const bm_tensor *t = gx_item_tensor(c->g, &it, &group);
    fprintf(f, "  %s [label=\"", unit_id(c, u, id));
    gx_dot_esc(f, c->g->groups[u]);
    fprintf(f, "\\n%s\", " DOT_LAYER_STYLE "%s];\n", bm_shape_str(t, shp, sizeof shp),
            u == out_unit(c) ? ", " DOT_OUTPUT_STYLE : "");
}

/* Gradient nodes of the units that get one, and the gradient flow between them. */
static void dot_collapsed_backward(FILE *f, cx *c)
{
    const gx *g = c->g;
    char a[ID_LEN], b[ID_LEN], shp[SHAPE_LEN];
    fputs("\n  // backward: gradient flow between layers\n", f);
    memset(c->drawn, 0, c->n_units);
    for (size_t i = 0; i < g->n_items; i++) {
        size_t u = unit_of_item(c, &g->items[i]);
        if (c->drawn[u] || !c->grad[u])
            continue;
        c->drawn[u] = 1;
        gx_item it = unit_item(c, u);
        fprintf(f, "  g_%s [label=\"", unit_id(c, u, a));
        if (is_box(c, u)) {
            long group;
            const bm_tensor *t = gx_item_tensor(g, &it, &group);
            fputs(PARTIAL, f);
            gx_dot_esc(f, g->groups[u]);
            fprintf(f, "\\n%s", bm_shape_str(t, shp, sizeof shp));
        } else {
            gx_dot_grad_label(f, g, &it);
        }
        fputs("\", " DOT_GRAD_STYLE "];\n", f);
    }
    size_t o = out_unit(c);
    if (o != SIZE_MAX && c->grad[o])
        fprintf(f, "  %s -> g_%s [" DOT_SEED_STYLE "];\n", unit_id(c, o, a), unit_id(c, o, b));
    collect_grad_edges(c);
    for (size_t e = 0; e < c->n_edges; e++)
        fprintf(f, "  g_%s -> g_%s [" DOT_GRAD_EDGE_STYLE "];\n", unit_id(c, c->edges[e].from, a),
                unit_id(c, c->edges[e].to, b));
}

static void dot_collapsed(FILE *f, cx *c)
{
    const gx *g = c->g;
    char a[ID_LEN], b[ID_LEN];
    gx_dot_head(f, g);
    for (size_t i = 0; i < g->n_items; i++) {
        size_t u = unit_of_item(c, &g->items[i]);
        if (c->drawn[u])
            continue;
        c->drawn[u] = 1;
        if (is_box(c, u))
            dot_box(f, c, u);
        else
            gx_dot_item(f, g, &g->items[i]);
    }
    fputc('\n', f);
    collect_edges(c);
    for (size_t e = 0; e < c->n_edges; e++)
        fprintf(f, "  %s -> %s%s", unit_id(c, c->edges[e].from, a), unit_id(c, c->edges[e].to, b),
                c->edges[e].diff ? ";\n" : " [style=dashed];\n");
    if (g->o->backward)
        dot_collapsed_backward(f, c);
    fputs("}\n", f);
}

/* ----------------------------------------------------------------- JSON */

/* A box: {"id", "kind": "layer", "name", "ops", "params", "shape", "dtype",
 * "requires_grad", "group"} (shape, dtype, requires_grad: its output's). */
static void json_box(FILE *f, const cx *c, size_t u)
{
    char id[ID_LEN];
    gx_item it = unit_item(c, u);
    long group;
    const bm_tensor *t = gx_item_tensor(c->g, &it, &group);
    fprintf(f, "    {\"id\": \"%s\", \"kind\": \"layer\", \"name\": ", unit_id(c, u, id));
    gx_json_str(f, c->g->groups[u]);
    fprintf(f, ", \"ops\": %zu, \"params\": %zu, \"shape\": [", c->n_ops[u], c->n_params[u]);
    for (int d = 0; d < t->rank; d++)
        fprintf(f, d ? ", %zu" : "%zu", t->shape[d]);
    fprintf(f, "], \"dtype\": \"%s\", \"requires_grad\": %s, \"group\": ", bm_dtype_name(t->dtype),
            (t->flags & BM_REQUIRES_GRAD) ? "true" : "false");
    gx_json_str(f, c->g->groups[u]);
    fputc('}', f);
}

static void json_collapsed(FILE *f, cx *c)
{
    const gx *g = c->g;
    char a[ID_LEN], b[ID_LEN];
    const char *sep = "\n";
    fputs("{\n  \"title\": ", f);
    gx_json_str(f, g->o->title);
    fputs(",\n  \"collapsed\": true,\n  \"nodes\": [", f);
    for (size_t i = 0; i < g->n_items; i++) {
        size_t u = unit_of_item(c, &g->items[i]);
        if (c->drawn[u])
            continue;
        c->drawn[u] = 1;
        fputs(sep, f);
        sep = ",\n";
        if (is_box(c, u))
            json_box(f, c, u);
        else
            gx_json_node(f, g, &g->items[i]);
    }
    fputs("\n  ],\n  \"edges\": [", f);
    collect_edges(c);
    for (size_t e = 0; e < c->n_edges; e++)
        fprintf(f, "%s    {\"from\": \"%s\", \"to\": \"%s\", \"differentiable\": %s, \"count\": %zu}",
                e ? ",\n" : "\n", unit_id(c, c->edges[e].from, a), unit_id(c, c->edges[e].to, b),
                c->edges[e].diff ? "true" : "false", c->edges[e].count);
    fputs("\n  ],\n", f);
    if (g->o->backward) {
        fputs("  \"grad_edges\": [", f);
        collect_grad_edges(c);
        for (size_t e = 0; e < c->n_edges; e++)
            fprintf(f, "%s    {\"from\": \"%s\", \"to\": \"%s\"}", e ? ",\n" : "\n",
                    unit_id(c, c->edges[e].from, a), unit_id(c, c->edges[e].to, b));
        fputs("\n  ],\n", f);
    }
    size_t o = out_unit(c);
    fputs("  \"output\": ", f);
    if (o != SIZE_MAX)
        fprintf(f, "\"%s\"", unit_id(c, o, a));
    else
        fputs("null", f);
    fputs("\n}\n", f);
}

bm_status gx_collapse_write(FILE *f, const gx *g, int json, const char *fn, bm_error *err)
{
    cx c;
    bm_status st = cx_build(&c, g, fn, err);
    if (st == BM_OK) {
        (json ? json_collapsed : dot_collapsed)(f, &c);
    }
    cx_free(&c);
    return st;
}
