/* test_layers_seq_model.c — the sequence kinds inside graph models on a
 * character text (nn/bm_text.h windows: x [N,T] token ids, y [N,T] the next
 * tokens): a char LSTM (embedding → lstm → dense), a tiny GPT (embedding →
 * position → two transformer blocks → layer_norm → dense) and a stack of
 * gru, rnn and causal attention, each gradchecked (and gradgradchecked)
 * through the whole model in F64 with respect to every trained parameter;
 * the LSTM and GPT trained in F32 until the loss falls, saved and loaded
 * back bit for bit; version 2 spec files naming the
 * kinds and their keys. */
#include "test_model_grad.h"

#define ck_ok(s, e) ck_assert_msg((s) == BM_OK, "%s", (e).msg)

/* Context of the windows. */
#define CONTEXT 6
/* The text: short and repetitive, so a small model learns it quickly. */
static const char TEXT[] = "the cat sat on the mat. the cat ate the rat. "
                           "the rat sat on the cat. the mat ate the hat. ";

/* Windows of TEXT at UTF-8 level (a vocabulary of its distinct characters):
 * `count` random ones when count > 0, else every position. */
static bm_dataset windows(bm_dtype dt, size_t count, size_t *vocab)
{
    bm_error e = {0};
    bm_text_opts to = bm_text_defaults();
    to.level = BM_TEXT_UTF8;
    bm_text *txt = NULL;
    ck_ok(bm_text_from_bytes(TEXT, sizeof TEXT - 1, &to, &txt, &e), e);
    *vocab = bm_text_vocab_size(txt);
    bm_text_window_opts wo = bm_text_window_defaults(CONTEXT);
    wo.dtype = dt;
    bm_rng r;
    bm_rng_seed(&r, 11);
    if (count) {
        wo.rng = &r;
        wo.count = count;
    }
    bm_dataset ds = {0};
    ck_ok(bm_text_windows(txt, &wo, 0, bm_text_length(txt), &ds, &e), e);
    bm_text_free(txt);
    return ds;
}

static void add_node(bm_model *m, const char *name, bm_layer_spec s, const char *in)
{
    bm_error e = {0};
    ck_ok(bm_model_add_node(m, name, &s, 1, &in, &e), e);
}

/* Input [T] of token ids, then embedding of `width`. */
static bm_model *token_model(bm_dtype dt, size_t vocab, size_t width)
{
    bm_error e = {0};
    bm_model *m = bm_model_new(dt, CONTEXT, &e);
    ck_assert_ptr_nonnull(m);
    bm_layer_spec emb = bm_layer_default(BM_LAYER_EMBEDDING);
    emb.in = vocab;
    emb.out = width;
    add_node(m, "emb", emb, "input");
    return m;
}

/* The logits [T, vocab] after `from`, the loss, initialised. */
static void finish(bm_model *m, const char *from, size_t vocab)
{
    bm_error e = {0};
    bm_layer_spec d = bm_dense_spec(0, vocab);
    d.init = BM_INIT_GLOROT;
    add_node(m, "logits", d, from);
    ck_ok(bm_model_set_loss(m, BM_LOSS_SOFTMAX_CCE, &e), e);
    ck_ok(bm_model_init(m, 3, &e), e);
}

/* embedding(vocab, 5) → lstm(hidden) → dense(vocab). */
static bm_model *char_lstm(bm_dtype dt, size_t vocab, size_t hidden)
{
    bm_model *m = token_model(dt, vocab, 5);
    bm_layer_spec l = bm_layer_default(BM_LAYER_LSTM);
    l.out = hidden;
    add_node(m, "lstm", l, "emb");
    finish(m, "lstm", vocab);
    return m;
}

/* embedding(vocab, width) → position → transformer × 2 → layer_norm → dense. */
static bm_model *tiny_gpt(bm_dtype dt, size_t vocab, size_t width, size_t hidden)
{
    bm_model *m = token_model(dt, vocab, width);
    bm_layer_spec pos = bm_layer_default(BM_LAYER_POSITION);
    bm_layer_spec blk = bm_layer_default(BM_LAYER_TRANSFORMER);
    pos.in = CONTEXT;
    blk.heads = 2;
    blk.hidden = hidden;
    add_node(m, "pos", pos, "emb");
    add_node(m, "h0", blk, "pos");
    add_node(m, "h1", blk, "h0");
    add_node(m, "ln_f", bm_layer_default(BM_LAYER_LAYER_NORM), "h1");
    finish(m, "ln_f", vocab);
    return m;
}

/* gradcheck + gradgradcheck of the loss on a few windows w.r.t. every
 * trained parameter of m (F64); returns how many were checked. */
static size_t gradcheck_model(bm_model *m, const bm_dataset *ds, size_t rows)
{
    bm_tape *t = bm_tape_new();
    size_t xs[2] = {rows, CONTEXT};
    bm_tensor *x = bm_tape_leaf(t, BM_F64, 2, xs, 0), *y = bm_tape_leaf(t, BM_F64, 2, xs, 0);
    for (size_t i = 0; i < x->size; i++) {
        bm_tensor_set(x, i, bm_tensor_get(ds->x, i));
        bm_tensor_set(y, i, bm_tensor_get(ds->y, i));
    }
    bm_tensor *loss = bm_model_record(m, t, x, y, 1, NULL);
    ck_assert_msg(loss != NULL, "%s", bm_tape_error(t));
    size_t checked = bm_tm_check_params(m, t, loss);
    bm_tape_free(t);
    return checked;
}

/* Fit with Adam and assert the loss falls below `ratio` of the start. */
static void fit_and_fall(bm_model *m, const bm_dataset *ds, uint64_t epochs, double ratio)
{
    bm_error e = {0};
    bm_optim_config oc = bm_optim_defaults(BM_OPT_ADAM);
    oc.lr = 0.01;
    ck_ok(bm_model_set_optimizer(m, &oc, &e), e);
    double loss0, loss1;
    ck_ok(bm_model_evaluate(m, ds, &loss0, NULL, &e), e);
    bm_fit_opts fo = bm_fit_defaults();
    fo.epochs = epochs;
    fo.batch_size = 16;
    fo.shuffle = 1;
    ck_ok(bm_model_fit(m, ds, &fo, &e), e);
    ck_ok(bm_model_evaluate(m, ds, &loss1, NULL, &e), e);
    ck_assert_msg(loss1 < ratio * loss0, "loss %g -> %g (wanted below %g of it)", loss0, loss1,
                  ratio);
}

START_TEST(char_lstm_gradients_through_the_model)
{
    size_t vocab;
    bm_dataset ds = windows(BM_F64, 0, &vocab);
    bm_model *m = char_lstm(BM_F64, vocab, 3);
    const bm_shape *s = bm_model_node_shape(m, bm_model_node_find(m, "lstm"));
    ck_assert_int_eq(s->rank, 2);
    ck_assert_uint_eq(s->dim[0], CONTEXT);
    ck_assert_uint_eq(s->dim[1], 3);
    ck_assert_ptr_nonnull(bm_model_param(m, "lstm.weight_ih"));
    ck_assert_uint_eq(gradcheck_model(m, &ds, 2), 1 + 4 + 2); /* embedding, lstm, dense */
    bm_model_free(m);
    bm_dataset_free(&ds);
}
END_TEST

START_TEST(tiny_gpt_gradients_through_the_model)
{
    size_t vocab;
    bm_dataset ds = windows(BM_F64, 0, &vocab);
    bm_model *m = tiny_gpt(BM_F64, vocab, 4, 5);
    ck_assert_ptr_nonnull(bm_model_param(m, "h1.mlp_fc_weights"));
    /* embedding, position, two blocks, ln_f, dense */
    ck_assert_uint_eq(gradcheck_model(m, &ds, 1), 1 + 1 + 2 * 12 + 2 + 2);
    bm_model_free(m);
    bm_dataset_free(&ds);
}
END_TEST

/* The other kinds through a model: embedding → gru → rnn → attention
 * (causal) → dense. */
START_TEST(gru_rnn_attention_gradients_through_the_model)
{
    size_t vocab;
    bm_dataset ds = windows(BM_F64, 0, &vocab);
    bm_model *m = token_model(BM_F64, vocab, 3);
    bm_layer_spec g = bm_layer_default(BM_LAYER_GRU), r = bm_layer_default(BM_LAYER_RNN);
    bm_layer_spec a = bm_layer_default(BM_LAYER_ATTENTION);
    g.out = 3;
    r.out = 4;
    a.heads = 2;
    a.causal = 1;
    add_node(m, "gru", g, "emb");
    add_node(m, "rnn", r, "gru");
    add_node(m, "attn", a, "rnn");
    finish(m, "attn", vocab);
    /* embedding, gru, rnn, attention, dense */
    ck_assert_uint_eq(gradcheck_model(m, &ds, 2), 1 + 4 + 4 + 4 + 2);
    bm_model_free(m);
    bm_dataset_free(&ds);
}
END_TEST

START_TEST(char_lstm_learns_the_text)
{
    size_t vocab;
    bm_dataset ds = windows(BM_F32, 64, &vocab);
    bm_model *m = char_lstm(BM_F32, vocab, 24);
    fit_and_fall(m, &ds, 40, 0.3);
    bm_model_free(m);
    bm_dataset_free(&ds);
}
END_TEST

START_TEST(tiny_gpt_learns_the_text)
{
    size_t vocab;
    bm_dataset ds = windows(BM_F32, 64, &vocab);
    bm_model *m = tiny_gpt(BM_F32, vocab, 16, 32);
    fit_and_fall(m, &ds, 40, 0.3);
    bm_model_free(m);
    bm_dataset_free(&ds);
}
END_TEST

/* Truncated BPTT inside a model: the same forward (loss) as without it,
 * and still trains. */
START_TEST(bptt_in_a_model)
{
    size_t vocab;
    bm_dataset ds = windows(BM_F32, 64, &vocab);
    bm_model *full = char_lstm(BM_F32, vocab, 8);
    bm_error e = {0};
    bm_model *cut = token_model(BM_F32, vocab, 5);
    bm_layer_spec l = bm_layer_default(BM_LAYER_LSTM);
    l.out = 8;
    l.bptt = 2;
    add_node(cut, "lstm", l, "emb");
    finish(cut, "lstm", vocab);
    double a, b;
    ck_ok(bm_model_evaluate(full, &ds, &a, NULL, &e), e);
    ck_ok(bm_model_evaluate(cut, &ds, &b, NULL, &e), e);
    ck_assert(a == b); /* same seed, same parameters, same forward */
    fit_and_fall(cut, &ds, 30, 0.5);
    bm_model_free(full);
    bm_model_free(cut);
    bm_dataset_free(&ds);
}
END_TEST

/* to_json → from_json → to_json gives the same text, and the loaded
 * model predicts the same bits. */
static void round_trip(bm_model *m, const bm_dataset *ds)
{
    bm_error e = {0};
    char *a = bm_model_to_json(m, NULL, &e);
    ck_assert_msg(a != NULL, "%s", e.msg);
    bm_model *back = bm_model_from_json(a, strlen(a), "saved", NULL, &e);
    ck_assert_msg(back != NULL, "%s", e.msg);
    char *b = bm_model_to_json(back, NULL, &e);
    ck_assert_msg(b != NULL, "%s", e.msg);
    ck_assert_msg(strcmp(a, b) == 0, "the loaded model saves differently");
    bm_tensor *p = NULL, *q = NULL;
    ck_ok(bm_model_predict(m, ds->x, &p, &e), e);
    ck_ok(bm_model_predict(back, ds->x, &q, &e), e);
    ck_assert_uint_eq(p->size, q->size);
    for (size_t i = 0; i < p->size; i++)
        ck_assert(bm_tensor_get(p, i) == bm_tensor_get(q, i));
    bm_tensor_free(p);
    bm_tensor_free(q);
    bm_model_free(back);
    free(a);
    free(b);
}

START_TEST(trained_models_save_and_load)
{
    size_t vocab;
    bm_dataset ds = windows(BM_F32, 32, &vocab);
    bm_model *lstm = char_lstm(BM_F32, vocab, 8), *gpt = tiny_gpt(BM_F32, vocab, 8, 12);
    fit_and_fall(lstm, &ds, 3, 1.0);
    fit_and_fall(gpt, &ds, 3, 1.0);
    round_trip(lstm, &ds);
    round_trip(gpt, &ds);
    bm_model_free(lstm);
    bm_model_free(gpt);
    bm_dataset_free(&ds);
}
END_TEST

/* A char GPT and a truncated-BPTT GRU as version 2 spec files. */
static const char GPT_SPEC[] =
    "{\"version\": 2, \"inputs\": [{\"name\": \"tokens\", \"shape\": [6]}],\n"
    " \"nodes\": [\n"
    "  {\"name\": \"wte\", \"kind\": \"embedding\", \"in\": 20, \"out\": 8},\n"
    "  {\"name\": \"wpe\", \"kind\": \"position\", \"in\": 16},\n"
    "  {\"name\": \"h0\", \"kind\": \"transformer\", \"heads\": 2, \"rate\": 0.1},\n"
    "  {\"name\": \"ln_f\", \"kind\": \"layer_norm\"},\n"
    "  {\"name\": \"head\", \"kind\": \"dense\", \"out\": 20}],\n"
    " \"loss\": \"softmax_cce\", \"optimizer\": {\"type\": \"adam\", \"lr\": 0.001}}";
static const char GRU_SPEC[] =
    "{\"version\": 2, \"inputs\": [{\"name\": \"x\", \"shape\": [7, 3]}],\n"
    " \"nodes\": [\n"
    "  {\"name\": \"rnn\", \"kind\": \"gru\", \"out\": 5, \"bptt\": 3, \"sequences\": false},\n"
    "  {\"name\": \"fc\", \"kind\": \"dense\", \"out\": 2}],\n"
    " \"loss\": \"softmax_cce\"}";

START_TEST(spec_files_name_the_kinds)
{
    bm_error e = {0};
    bm_model *m = bm_model_from_json(GPT_SPEC, sizeof GPT_SPEC - 1, "gpt.json", NULL, &e);
    ck_assert_msg(m != NULL, "%s", e.msg);
    size_t h0 = bm_model_node_find(m, "h0");
    ck_assert_uint_eq(bm_model_node_n_params(m, h0), 12);
    ck_assert_uint_eq(bm_model_node_param_desc(m, h0, 8)->shape[1], 32); /* hidden 4 x 8 */
    ck_assert_int_eq(bm_model_layer(m, h0)->causal, 1);                  /* the default */
    ck_assert(bm_model_layer(m, h0)->rate == 0.1);
    ck_assert_uint_eq(bm_model_node_param_desc(m, bm_model_node_find(m, "wpe"), 0)->shape[0], 16);
    bm_model_free(m);
    m = bm_model_from_json(GRU_SPEC, sizeof GRU_SPEC - 1, "gru.json", NULL, &e);
    ck_assert_msg(m != NULL, "%s", e.msg);
    ck_assert_uint_eq(bm_model_layer(m, 0)->bptt, 3);
    ck_assert_uint_eq(bm_model_layer(m, 0)->in, 3); /* inferred */
    ck_assert_int_eq(bm_model_node_shape(m, 0)->rank, 1);
    bm_model_free(m);
    /* a key the kind does not take, and a sequence longer than the table */
    char bad[sizeof GPT_SPEC + sizeof GRU_SPEC];
    snprintf(bad, sizeof bad, "%s", GRU_SPEC);
    char *at = strstr(bad, "\"bptt\"");
    memcpy(at, "\"head\"", 6);
    ck_assert_ptr_null(bm_model_from_json(bad, strlen(bad), "gru.json", NULL, &e));
    ck_assert_msg(strstr(e.msg, "nodes[0]") && strstr(e.msg, "head"), "%s", e.msg);
    snprintf(bad, sizeof bad, "%s", GPT_SPEC);
    memcpy(strstr(bad, "\"in\": 16"), "\"in\":  5", 8);
    ck_assert_ptr_null(bm_model_from_json(bad, strlen(bad), "gpt.json", NULL, &e));
    ck_assert_msg(strstr(e.msg, "position: input [6,8] has 6 steps, more than the table's in = 5"),
                  "%s", e.msg);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("layers_seq_model");
    TCase *tc = tcase_create("models");
    tcase_add_test(tc, char_lstm_gradients_through_the_model);
    tcase_add_test(tc, tiny_gpt_gradients_through_the_model);
    tcase_add_test(tc, gru_rnn_attention_gradients_through_the_model);
    tcase_add_test(tc, char_lstm_learns_the_text);
    tcase_add_test(tc, tiny_gpt_learns_the_text);
    tcase_add_test(tc, bptt_in_a_model);
    tcase_add_test(tc, trained_models_save_and_load);
    tcase_add_test(tc, spec_files_name_the_kinds);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return bm_test_run(make_suite()); }
