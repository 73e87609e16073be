/* graph_json.c — the graph model of graph_export.c written as JSON:
 * {"title", "nodes": [...], "edges": [...], "grad_edges": [...], "output"}. */
#include <string.h>

#include "graph_internal.h"

/* Where the gradient edges go and what comes before the next one. */
typedef struct json_out {
    FILE *f;
    const char *sep;
} json_out;

static void json_grad_edge(void *ud, const gx *g, size_t j, int k, const bm_tensor *in)
{
    char id[ID_LEN];
    json_out *o = ud;
    fprintf(o->f, "%s    {\"from\": \"n%zu\", \"to\": \"%s\", \"input\": %d}", o->sep, j,
            gx_tensor_id(g, in, id), k);
    o->sep = ",\n";
}

/* s as a JSON string (or null): quotes, backslashes and control
 * characters escaped; other bytes (UTF-8) copied. */
void gx_json_str(FILE *f, const char *s)
{
    if (!s) {
        fputs("null", f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (c < 0x20)
                fprintf(f, "\\u%04x", c);
            else
                fputc(c, f);
        }
    }
    fputc('"', f);
}

void gx_json_node(FILE *f, const gx *g, const gx_item *it)
{
    char id[ID_LEN];
    long group;
    const bm_tensor *t = gx_item_tensor(g, it, &group);
    fputs("    {\"id\": ", f);
    gx_json_str(f, gx_item_id(g, it, id));
    if (it->is_leaf) {
        fputs(", \"kind\": ", f);
        gx_json_str(f, KIND_NAME[g->leaves[it->i].kind]);
    } else {
        fputs(", \"kind\": \"op\", \"op\": ", f);
        gx_json_str(f, bm_node_op_name(g->nodes[it->i]));
        fprintf(f, ", \"index\": %zu", it->i);
        char desc[DESC_LEN];
        bm_node_describe(g->nodes[it->i], desc, sizeof desc);
        if (desc[0]) {
            fputs(", \"params\": ", f);
            gx_json_str(f, desc);
        }
    }
    fputs(", \"name\": ", f);
    gx_json_str(f, t->name);
    fputs(", \"shape\": [", f);
    for (int d = 0; d < t->rank; d++)
        fprintf(f, d ? ", %zu" : "%zu", t->shape[d]);
    fprintf(f, "], \"dtype\": \"%s\", \"requires_grad\": %s, \"group\": ",
            bm_dtype_name(t->dtype), (t->flags & BM_REQUIRES_GRAD) ? "true" : "false");
    gx_json_str(f, group == NO_GROUP ? NULL : g->groups[group]);
    fputc('}', f);
}

void gx_json_write(FILE *f, const gx *g)
{
    char id[ID_LEN];
    const char *sep = "\n";
    fputs("{\n  \"title\": ", f);
    gx_json_str(f, g->o->title);
    fputs(",\n  \"nodes\": [", f);
    for (size_t i = 0; i < g->n_items; i++, sep = ",\n") {
        fputs(sep, f);
        gx_json_node(f, g, &g->items[i]);
    }
    fputs("\n  ],\n  \"edges\": [", f);
    sep = "\n";
    for (size_t j = 0; j < g->n_nodes; j++) {
        const bm_node *nd = g->nodes[j];
        if (!g->keep[j])
            continue;
        for (int k = 0; k < bm_node_n_inputs(nd); k++, sep = ",\n") {
            fprintf(f, "%s    {\"from\": \"%s\", \"to\": \"n%zu\", \"input\": %d, "
                       "\"differentiable\": %s}",
                    sep, gx_tensor_id(g, bm_node_input(nd, k), id), j, k,
                    bm_node_input_differentiable(nd, k) ? "true" : "false");
        }
    }
    fputs("\n  ],\n", f);
    if (g->o->backward) {
        fputs("  \"grad_edges\": [", f);
        json_out o = {.f = f, .sep = "\n"};
        gx_each_grad_edge(&o, g, json_grad_edge);
        fputs("\n  ],\n", f);
    }
    fputs("  \"output\": ", f);
    if (g->out >= 0)
        fprintf(f, "\"n%ld\"", g->out);
    else
        fputs("null", f);
    fputs("\n}\n", f);
}
