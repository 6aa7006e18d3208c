/*
 * A plain C program against include/intent.h, run under AddressSanitizer (leaks included)
 * by scripts/test-c.sh. It uses the real default model and the real gguf-cpu plugin.
 *
 * Usage: api_test <taxonomy-dir-for-temp-files>
 * The model is found as the library finds it ($INTENT_MODEL or the default model).
 */
#include "intent.h"
#include "intent.h" /* included twice on purpose: the include guard must hold */

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int passed = 0, failed = 0;

#define CHECK(cond, ...)                                              \
    do {                                                              \
        if (cond) {                                                   \
            passed++;                                                 \
        } else {                                                      \
            failed++;                                                 \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                             \
            fprintf(stderr, "\n");                                    \
        }                                                             \
    } while (0)

static intent_str S(const char *s) {
    intent_str out = {s, strlen(s)};
    return out;
}

static int is_label(const intent_engine *e, const char *label) {
    for (size_t i = 0; i < intent_engine_label_count(e); i++)
        if (strcmp(intent_engine_label(e, i), label) == 0) return 1;
    return 0;
}

static int classify_status(const intent_engine *e, const char *text, size_t len, const intent_classify_params *p) {
    intent_result *r = NULL;
    int32_t st = intent_classify(e, text, len, p, &r);
    CHECK((st == INTENT_STATUS_OK) == (r != NULL), "result pointer must be set exactly on success (status %d)", st);
    if (st != INTENT_STATUS_OK) CHECK(strlen(intent_last_error()) > 0, "a failure leaves a message (status %d)", st);
    intent_result_free(r);
    return st;
}

static const char *QUERIES[] = {
    "where is my parcel",
    "wo ist mein Paket??",
    "I want to cancel my order",
    "do you have nike air max in size 42",
    "hello, who are you?",
    "je veux un remboursement",
};
#define NQ (sizeof(QUERIES) / sizeof(QUERIES[0]))

typedef struct {
    const intent_engine *engine;
    char intents[NQ][64];
    float confidence[NQ];
    int errors;
} run_t;

static void *run_all(void *arg) {
    run_t *run = (run_t *)arg;
    for (int rep = 0; rep < 3; rep++) {
        for (size_t i = 0; i < NQ; i++) {
            intent_result *r = NULL;
            if (intent_classify(run->engine, QUERIES[i], strlen(QUERIES[i]), NULL, &r) != INTENT_STATUS_OK) {
                run->errors++;
                continue;
            }
            snprintf(run->intents[i], sizeof run->intents[i], "%s", intent_result_intent(r));
            run->confidence[i] = intent_result_confidence(r);
            intent_result_free(r);
        }
    }
    return NULL;
}

int main(int argc, char **argv) {
    const char *tmpdir = argc > 1 ? argv[1] : "/tmp";

    /* Versions. */
    CHECK(intent_abi_version() == INTENT_ABI_VERSION, "ABI %u vs header %d", intent_abi_version(), INTENT_ABI_VERSION);
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", INTENT_VERSION_MAJOR, INTENT_VERSION_MINOR, INTENT_VERSION_PATCH);
    CHECK(strcmp(intent_version(), want) == 0, "version %s vs %s", intent_version(), want);
    CHECK(strcmp(intent_status_str(INTENT_STATUS_OK), "ok") == 0, "status text");
    CHECK(intent_status_str(12345) != NULL, "unknown status text");

    /* Params and NULL handling before any engine exists. */
    intent_engine_params params;
    CHECK(intent_engine_params_init(NULL, sizeof params) == INTENT_STATUS_INVALID_ARGUMENT, "init NULL");
    CHECK(intent_engine_params_init(&params, sizeof params) == INTENT_STATUS_OK, "init");
    CHECK(params.struct_size == sizeof params && params.top_k == 3, "defaults");
    intent_engine *engine = NULL;
    CHECK(intent_engine_new(&params, NULL) == INTENT_STATUS_INVALID_ARGUMENT, "new with NULL out");
    intent_engine_params bad_size = params;
    bad_size.struct_size = 4;
    CHECK(intent_engine_new(&bad_size, &engine) == INTENT_STATUS_INVALID_ARGUMENT && engine == NULL, "bad struct_size");

    /* Missing model, malformed taxonomy, unknown backend. */
    intent_engine_params p2 = params;
    p2.model_path = "/nonexistent/model.gguf";
    CHECK(intent_engine_new(&p2, &engine) == INTENT_STATUS_MODEL_NOT_FOUND && engine == NULL, "missing model: %s", intent_last_error());
    CHECK(strstr(intent_last_error(), "/nonexistent/model.gguf") != NULL, "message names the path: %s", intent_last_error());
    char taxonomy_path[512];
    snprintf(taxonomy_path, sizeof taxonomy_path, "%s/bad-taxonomy.json", tmpdir);
    FILE *f = fopen(taxonomy_path, "w");
    if (f) {
        fputs("{\"name\": \"x\", \"intents\": [", f);
        fclose(f);
    }
    p2 = params;
    p2.taxonomy = taxonomy_path;
    CHECK(intent_engine_new(&p2, &engine) == INTENT_STATUS_INVALID_TAXONOMY, "malformed taxonomy: %s", intent_last_error());
    p2 = params;
    p2.backend = "no-such-backend";
    CHECK(intent_engine_new(&p2, &engine) == INTENT_STATUS_PLUGIN_NOT_FOUND, "unknown backend: %s", intent_last_error());
    CHECK(strstr(intent_last_error(), "no-such-backend") != NULL, "message names the backend");

    /* The real engine. */
    params.n_threads = 2;
    int32_t st = intent_engine_new(&params, &engine);
    CHECK(st == INTENT_STATUS_OK && engine != NULL, "engine: %s", intent_last_error());
    if (!engine) {
        printf("%d passed, %d failed\n", passed, failed + 1);
        return 1;
    }
    CHECK(intent_engine_label_count(engine) == 34, "labels: %zu", intent_engine_label_count(engine));
    CHECK(intent_engine_label(engine, 1000) == NULL, "label out of range");

    intent_result *r = NULL;
    const char *q = "where is my parcel";
    CHECK(intent_classify(engine, q, strlen(q), NULL, &r) == INTENT_STATUS_OK, "classify: %s", intent_last_error());
    if (r) {
        CHECK(is_label(engine, intent_result_intent(r)), "intent %s is a taxonomy label", intent_result_intent(r));
        float c = intent_result_confidence(r);
        CHECK(c > 0.0f && c <= 1.0f, "confidence %f", c);
        CHECK(intent_result_top_count(r) == 3, "top count %zu", intent_result_top_count(r));
        const char *label = NULL;
        float prob = 0, sum = 0, prev = 2;
        for (size_t i = 0; i < intent_result_top_count(r); i++) {
            CHECK(intent_result_top(r, i, &label, &prob) == INTENT_STATUS_OK, "top %zu", i);
            CHECK(is_label(engine, label) && prob <= prev, "top %zu sorted and valid", i);
            prev = prob;
            sum += prob;
        }
        CHECK(sum <= 1.0001f, "top probabilities sum %f", sum);
        CHECK(intent_result_top(r, 99, &label, &prob) == INTENT_STATUS_INVALID_ARGUMENT, "top out of range");
        intent_timings t = {0};
        t.struct_size = sizeof t;
        CHECK(intent_result_timings(r, &t) == INTENT_STATUS_OK && t.total_us > 0 && t.batch_size == 1, "timings");
        CHECK(intent_result_query_tokens(r) > 0 && intent_result_is_truncated(r) == 0, "query tokens %zu", intent_result_query_tokens(r));
        const char *json = intent_result_json(r);
        CHECK(json && strstr(json, "\"intent\"") && strstr(json, "\"top\""), "json %s", json ? json : "(null)");
        printf("'%s' -> %s (%.3f)\n", q, intent_result_intent(r), c);
        intent_result_free(r);
    }
    intent_result_free(NULL);
    intent_batch_free(NULL);
    intent_engine_free(NULL);

    /* Bad input: each a status and a message, never a crash. */
    CHECK(classify_status(NULL, "x", 1, NULL) == INTENT_STATUS_INVALID_ARGUMENT, "NULL engine");
    CHECK(classify_status(engine, NULL, 3, NULL) == INTENT_STATUS_INVALID_ARGUMENT, "NULL text with a length");
    CHECK(classify_status(engine, NULL, 0, NULL) == INTENT_STATUS_EMPTY_QUERY, "NULL text of length 0 is empty");
    CHECK(intent_classify(engine, "x", 1, NULL, NULL) == INTENT_STATUS_INVALID_ARGUMENT, "NULL out");
    CHECK(classify_status(engine, "\xff\xfe order", 8, NULL) == INTENT_STATUS_INVALID_UTF8, "invalid UTF-8");
    CHECK(classify_status(engine, "", 0, NULL) == INTENT_STATUS_EMPTY_QUERY, "empty");
    CHECK(classify_status(engine, " \t\n ", 4, NULL) == INTENT_STATUS_EMPTY_QUERY, "whitespace");
    size_t big = 1 << 20;
    char *huge = malloc(big);
    memset(huge, 'a', big);
    CHECK(classify_status(engine, huge, big, NULL) == INTENT_STATUS_QUERY_TOO_LONG, "huge query");
    free(huge);
    char longq[4096] = "";
    for (int i = 0; i < 200; i++) strcat(longq, "parcel ");
    CHECK(classify_status(engine, longq, strlen(longq), NULL) == INTENT_STATUS_QUERY_TOO_LONG, "over the token limit");
    char buf[256];
    size_t len = 0;
    CHECK(intent_engine_last_error(engine, buf, sizeof buf, &len) == INTENT_STATUS_OK && len > 0 && strstr(buf, "limit"), "engine last error: %s", buf);

    /* Label subsets. */
    intent_classify_params cp;
    CHECK(intent_classify_params_init(&cp, sizeof cp) == INTENT_STATUS_OK, "classify params init");
    cp.threshold = NAN;
    CHECK(classify_status(engine, q, strlen(q), &cp) == INTENT_STATUS_INVALID_ARGUMENT, "NaN threshold");
    cp.threshold = -1.0f;
    intent_str allowed[2] = {S("track_order"), S("cancel_order")};
    cp.labels = allowed;
    cp.n_labels = 2;
    r = NULL;
    CHECK(intent_classify(engine, q, strlen(q), &cp, &r) == INTENT_STATUS_OK, "subset: %s", intent_last_error());
    if (r) {
        const char *it = intent_result_intent(r);
        CHECK(strcmp(it, "track_order") == 0 || strcmp(it, "cancel_order") == 0, "subset answer %s", it);
        CHECK(intent_result_top_count(r) == 2, "subset top count");
        intent_result_free(r);
    }
    intent_str unknown[1] = {S("newsletter")};
    cp.labels = unknown;
    cp.n_labels = 1;
    CHECK(classify_status(engine, q, strlen(q), &cp) == INTENT_STATUS_UNKNOWN_LABEL, "unknown label");
    CHECK(strstr(intent_last_error(), "newsletter") != NULL, "message names the label: %s", intent_last_error());
    intent_batch *nb = NULL;
    intent_str one[1] = {S("where is my parcel")};
    CHECK(intent_classify_batch(engine, one, 1, &cp, &nb) == INTENT_STATUS_UNKNOWN_LABEL && nb == NULL, "batch with an unknown label fails whole");
    cp.n_labels = 0;
    CHECK(classify_status(engine, q, strlen(q), &cp) == INTENT_STATUS_EMPTY_LABEL_SET, "empty label set");
    CHECK(intent_classify_batch(engine, one, 1, &cp, &nb) == INTENT_STATUS_EMPTY_LABEL_SET && nb == NULL, "batch with an empty label set fails whole");
    /* Limits: more labels or queries than the documented maxima are refused before any is read. */
    cp.labels = allowed;
    cp.n_labels = INTENT_MAX_LABELS + 1;
    CHECK(classify_status(engine, q, strlen(q), &cp) == INTENT_STATUS_INVALID_ARGUMENT, "too many labels");
    CHECK(strstr(intent_last_error(), "limit") != NULL, "message names the limit: %s", intent_last_error());
    CHECK(intent_classify_batch(engine, one, INTENT_MAX_BATCH_QUERIES + 1, NULL, &nb) == INTENT_STATUS_INVALID_ARGUMENT && nb == NULL,
          "too many queries in a batch");
    CHECK(strstr(intent_last_error(), "limit") != NULL, "message names the limit: %s", intent_last_error());
    intent_str bad_label[1] = {{"\xc3", 1}};
    cp.labels = bad_label;
    cp.n_labels = 1;
    CHECK(classify_status(engine, q, strlen(q), &cp) == INTENT_STATUS_INVALID_UTF8, "label not UTF-8");

    /* A batch with bad queries among good ones. */
    intent_str texts[6] = {S("where is my parcel"), {"\xff", 1}, S("I want to cancel my order"), S("   "), {NULL, 0}, {NULL, 4}};
    intent_batch *b = NULL;
    CHECK(intent_classify_batch(engine, texts, 6, NULL, &b) == INTENT_STATUS_OK && b, "batch: %s", intent_last_error());
    if (b) {
        CHECK(intent_batch_count(b) == 6, "batch count");
        CHECK(intent_batch_status(b, 0) == INTENT_STATUS_OK && intent_batch_result(b, 0) != NULL, "item 0 ok");
        CHECK(intent_batch_status(b, 1) == INTENT_STATUS_INVALID_UTF8 && intent_batch_result(b, 1) == NULL, "item 1 invalid UTF-8");
        CHECK(intent_batch_error(b, 1) && strstr(intent_batch_error(b, 1), "UTF-8"), "item 1 message");
        CHECK(intent_batch_status(b, 2) == INTENT_STATUS_OK, "item 2 ok");
        CHECK(intent_batch_status(b, 3) == INTENT_STATUS_EMPTY_QUERY, "item 3 empty");
        CHECK(intent_batch_status(b, 4) == INTENT_STATUS_EMPTY_QUERY, "item 4 NULL of length 0");
        CHECK(intent_batch_status(b, 5) == INTENT_STATUS_INVALID_ARGUMENT, "item 5 NULL with a length");
        CHECK(intent_batch_status(b, 6) == INTENT_STATUS_INVALID_ARGUMENT, "index out of range");
        r = NULL;
        CHECK(intent_classify(engine, texts[0].ptr, texts[0].len, NULL, &r) == INTENT_STATUS_OK, "single");
        if (r) {
            CHECK(strcmp(intent_result_intent(r), intent_result_intent(intent_batch_result(b, 0))) == 0, "batch answer equals single");
            CHECK(fabsf(intent_result_confidence(r) - intent_result_confidence(intent_batch_result(b, 0))) < 1e-3f, "same confidence");
            intent_result_free(r);
        }
        intent_batch_free(b);
    }

    /* Eight threads at once give the answers of one. */
    run_t seq;
    memset(&seq, 0, sizeof seq);
    seq.engine = engine;
    run_all(&seq);
    CHECK(seq.errors == 0, "sequential errors %d", seq.errors);
    run_t runs[8];
    pthread_t threads[8];
    for (int i = 0; i < 8; i++) {
        memset(&runs[i], 0, sizeof runs[i]);
        runs[i].engine = engine;
        pthread_create(&threads[i], NULL, run_all, &runs[i]);
    }
    for (int i = 0; i < 8; i++) pthread_join(threads[i], NULL);
    for (int i = 0; i < 8; i++) {
        CHECK(runs[i].errors == 0, "thread %d errors", i);
        for (size_t k = 0; k < NQ; k++) {
            CHECK(strcmp(runs[i].intents[k], seq.intents[k]) == 0, "thread %d query %zu: %s vs %s", i, k, runs[i].intents[k], seq.intents[k]);
            CHECK(fabsf(runs[i].confidence[k] - seq.confidence[k]) < 1e-3f, "thread %d query %zu confidence", i, k);
        }
    }

    intent_engine_free(engine);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
