/* torch_check_seq.c — for each case of the sequence kinds (rnn, lstm, gru,
 * attention, transformer, position), recorded through the kind's vtable on
 * fixed f64 values — the input x[i] = 1.5·sin(0.7·i + 0.1), parameter k
 * p_k[i] = 0.5·sin(0.7·i + 1.3·k + 0.1) (layer-norm scales 1 + that) —
 * prints the output, the gradients of the input and of every parameter
 * for the seed 1 + 0.01·i, and the second derivatives d/d(all) Σ_k v_k·grad_k
 * (v = 1 − 0.01·i); tests/torch_check_seq.py compares them with
 * torch.nn.RNN/LSTM/GRU holding the same weights and with attention and a
 * GPT block written in plain torch ops. */
#include <bmnn.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

extern const bm_layer_vt bm_layer_vt_rnn, bm_layer_vt_lstm, bm_layer_vt_gru,
    bm_layer_vt_attention, bm_layer_vt_transformer, bm_layer_vt_position;

enum { MAX_LEAVES = 1 + BM_LAYER_MAX_PARAMS };

/* One case: a kind, the spec fields it sets, batch and per-sample [T, F]. */
typedef struct tcase {
    const char *name;
    const bm_layer_vt *vt;
    size_t B, T, F;
    size_t out, heads, hidden, in;
    int bias, sequences, causal, approximate;
} tcase;

/* The python side knows each case by its name and these same numbers. */
static const tcase cases[] = {
    {"rnn", &bm_layer_vt_rnn, 2, 4, 3, 5, 0, 0, 0, 1, 1, 0, 0},
    {"lstm", &bm_layer_vt_lstm, 2, 5, 3, 4, 0, 0, 0, 1, 1, 0, 0},
    {"lstm_last_nobias", &bm_layer_vt_lstm, 3, 4, 2, 3, 0, 0, 0, 0, 0, 0, 0},
    {"gru", &bm_layer_vt_gru, 3, 4, 2, 3, 0, 0, 0, 1, 1, 0, 0},
    {"gru_last_nobias", &bm_layer_vt_gru, 2, 3, 3, 5, 0, 0, 0, 0, 0, 0, 0},
    {"attention", &bm_layer_vt_attention, 2, 4, 6, 0, 3, 0, 0, 1, 0, 0, 0},
    {"attention_causal_nobias", &bm_layer_vt_attention, 2, 5, 4, 0, 2, 0, 0, 0, 0, 1, 0},
    {"transformer", &bm_layer_vt_transformer, 2, 5, 4, 0, 2, 6, 0, 1, 0, 1, 0},
    {"transformer_nobias_tanh", &bm_layer_vt_transformer, 1, 4, 6, 0, 3, 0, 0, 0, 0, 0, 1},
    {"position", &bm_layer_vt_position, 2, 4, 3, 0, 0, 0, 6, 1, 0, 0, 0},
};

static void print_all(const bm_tensor *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        printf(" %.17g", t ? bm_tensor_get(t, i) : 0.0);
}

/* The case's spec: the kind's defaults, then the case's fields. */
static bm_layer_spec spec_of(const tcase *c)
{
    bm_layer_spec s;
    memset(&s, 0, sizeof s);
    if (c->vt->defaults)
        c->vt->defaults(&s);
    s.out = c->out;
    s.heads = c->heads ? c->heads : s.heads;
    s.hidden = c->hidden;
    s.in = c->in;
    s.bias = c->bias;
    s.sequences = c->sequences;
    s.causal = c->causal;
    s.approximate = c->approximate;
    return s;
}

static int run(const tcase *c)
{
    bm_layer_spec s = spec_of(c);
    bm_error e = {0};
    bm_shape in = {.rank = 2, .dim = {c->T, c->F}}, out;
    if ((c->vt->check && c->vt->check(&s, &e) != BM_OK) ||
        c->vt->infer(&s, &in, 1, &out, &e) != BM_OK) {
        fprintf(stderr, "%s: %s\n", c->name, e.msg);
        return 1;
    }
    bm_param_desc d[BM_LAYER_MAX_PARAMS];
    size_t np = c->vt->params(&s, &in, 1, d), n = np + 1;
    bm_tape *t = bm_tape_new();
    bm_tensor *leaf[MAX_LEAVES] = {NULL}, *g[MAX_LEAVES] = {NULL}, *h[MAX_LEAVES] = {NULL};
    leaf[0] = bm_tape_leaf(t, BM_F64, 3, (size_t[]){c->B, c->T, c->F}, BM_REQUIRES_GRAD);
    for (size_t i = 0; leaf[0] && i < leaf[0]->size; i++)
        bm_tensor_set(leaf[0], i, 1.5 * sin(0.7 * (double)i + 0.1));
    for (size_t k = 1; k < n; k++) {
        const bm_param_desc *p = &d[k - 1];
        leaf[k] = bm_tape_leaf(t, BM_F64, p->rank, p->shape, BM_REQUIRES_GRAD);
        double base = p->init == BM_PINIT_ONES ? 1.0 : 0.0;
        for (size_t i = 0; leaf[k] && i < leaf[k]->size; i++)
            bm_tensor_set(leaf[k], i, base + 0.5 * sin(0.7 * (double)i + 1.3 * (double)k + 0.1));
    }
    bm_layer_call call = {.spec = &s, .in = leaf, .n_in = 1, .in_shapes = &in,
                          .params = leaf + 1, .n_params = np};
    bm_tensor *y = c->vt->record(t, &call);
    if (!y) {
        fprintf(stderr, "%s: %s\n", c->name, bm_tape_error(t));
        bm_tape_free(t);
        return 1;
    }
    bm_tensor *seed = bm_tape_leaf(t, BM_F64, y->rank, y->shape, 0);
    for (size_t i = 0; i < seed->size; i++)
        bm_tensor_set(seed, i, 1 + 0.01 * (double)i);
    bm_tensor *gv = NULL;
    if (bm_grad(t, &y, 1, leaf, n, &seed, 1, g) == BM_OK) {
        for (size_t k = 0; k < n; k++) {
            bm_tensor *v = bm_tape_leaf(t, BM_F64, leaf[k]->rank, leaf[k]->shape, 0);
            for (size_t i = 0; i < v->size; i++)
                bm_tensor_set(v, i, 1 - 0.01 * (double)i);
            bm_tensor *term = bm_sum(t, bm_mul(t, g[k], v), BM_AXIS_ALL, 0);
            gv = gv ? bm_add(t, gv, term) : term;
        }
        bm_grad(t, &gv, 1, leaf, n, NULL, 0, h);
    }
    if (bm_tape_status(t) != BM_OK) {
        fprintf(stderr, "%s: %s\n", c->name, bm_tape_error(t));
        bm_tape_free(t);
        return 1;
    }
    printf("%s", c->name);
    print_all(y, y->size);
    printf(" |");
    for (size_t k = 0; k < n; k++)
        print_all(g[k], leaf[k]->size);
    printf(" |");
    for (size_t k = 0; k < n; k++)
        print_all(h[k], leaf[k]->size);
    printf("\n");
    bm_tape_free(t);
    return 0;
}

int main(void)
{
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++)
        if (run(&cases[ci]))
            return 1;
    return 0;
}
