/*
 * Soak test of the C API: many threads classify on one engine for a long time, and every
 * answer must equal the sequential answer for the same query; resident memory must not
 * grow after warm-up. Run by scripts/soak.sh (full scale by hand, a small scale under
 * AddressSanitizer/LeakSanitizer in CI).
 *
 * Usage: soak <queries.txt> <threads> <queries-per-thread>
 *   queries.txt: one query per line (UTF-8). The model is found as the library finds it
 *   ($INTENT_MODEL or the default model).
 *
 * Each thread walks the query list in chunks of 8 from its own offset. Three chunks in
 * four go through intent_classify_batch, the fourth as 8 single intent_classify calls, so
 * both paths are exercised. llama.cpp is not batch-invariant (a query's probabilities
 * move by up to a few hundredths with the batch it is evaluated in), so the sequential
 * reference makes the same calls: every chunk once as a batch and its queries once
 * singly, and each concurrent answer is compared with the reference of its own path. A thread's first WARMUP queries are the warm-up; resident memory
 * (VmRSS) is read when every thread has finished its warm-up and again at the end.
 * Prints one JSON line with the figures and exits 1 on any mismatch, error or growth of
 * more than MAX_GROWTH.
 */
#include "intent.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHUNK 8
#define WARMUP 400
#define MAX_GROWTH 0.05
#define MAX_QUERIES 100000
#define MAX_CONF_DIFF 0.0f /* identical, not merely close */

typedef struct {
    char intent[64];
    float confidence;
} answer_t;

typedef struct {
    char *text;
    size_t len;
    answer_t single; /* reference answer of a single call */
    answer_t batched; /* reference answer within its chunk's batch */
} query_t;

static query_t *queries;
static size_t n_queries;
static const intent_engine *engine;
static atomic_long mismatches, errors, answered, warmed_threads;
static atomic_int worst_conf_diff_e6; /* largest |confidence difference| seen, x 1e6 */
static pthread_mutex_t warm_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t warm_cond = PTHREAD_COND_INITIALIZER;
static long rss_after_warmup_kb;
static int n_threads;

static long rss_kb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1) break;
    fclose(f);
    return kb;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void compare(const query_t *q, const answer_t *want, const intent_result *r) {
    const char *intent = intent_result_intent(r);
    float d = fabsf(intent_result_confidence(r) - want->confidence);
    int d6 = (int)(d * 1e6f);
    int seen = atomic_load(&worst_conf_diff_e6);
    while (d6 > seen && !atomic_compare_exchange_weak(&worst_conf_diff_e6, &seen, d6)) {
    }
    if (strcmp(intent, want->intent) != 0 || d > MAX_CONF_DIFF) {
        if (atomic_fetch_add(&mismatches, 1) < 5)
            fprintf(stderr, "mismatch on '%s': %s (%.6f), sequential %s (%.6f)\n", q->text, intent,
                    intent_result_confidence(r), want->intent, want->confidence);
    }
    atomic_fetch_add(&answered, 1);
}

static void report_error(const char *what, int32_t st, const char *msg) {
    if (atomic_fetch_add(&errors, 1) < 5) fprintf(stderr, "%s failed (%d): %s\n", what, st, msg);
}

/* Blocks until every thread has done its warm-up; the last one to arrive reads RSS. */
static void warmed_up(void) {
    pthread_mutex_lock(&warm_lock);
    if (atomic_fetch_add(&warmed_threads, 1) + 1 == n_threads) {
        rss_after_warmup_kb = rss_kb();
        pthread_cond_broadcast(&warm_cond);
    } else {
        while (atomic_load(&warmed_threads) < n_threads) pthread_cond_wait(&warm_cond, &warm_lock);
    }
    pthread_mutex_unlock(&warm_lock);
}

typedef struct {
    int id;
    long per_thread;
} job_t;

static void *worker(void *arg) {
    const job_t *job = arg;
    long per_thread = job->per_thread;
    size_t at = (size_t)job->id * (n_queries / CHUNK / (size_t)n_threads) * CHUNK; /* chunk-aligned */
    int warm = 0;
    for (long done = 0, chunk_no = 0; done < per_thread; chunk_no++) {
        if (!warm && done >= WARMUP) {
            warmed_up();
            warm = 1;
        }
        long n = per_thread - done < CHUNK ? per_thread - done : CHUNK;
        const query_t *qs[CHUNK];
        intent_str texts[CHUNK];
        for (long k = 0; k < n; k++, at++) {
            qs[k] = &queries[at % n_queries];
            texts[k].ptr = qs[k]->text;
            texts[k].len = qs[k]->len;
        }
        if (chunk_no % 4 != 3) {
            intent_batch *b = NULL;
            int32_t st = intent_classify_batch(engine, texts, (size_t)n, NULL, &b);
            if (st != INTENT_STATUS_OK) {
                report_error("batch", st, intent_last_error());
            } else {
                for (long k = 0; k < n; k++) {
                    if (intent_batch_status(b, (size_t)k) == INTENT_STATUS_OK)
                        compare(qs[k], &qs[k]->batched, intent_batch_result(b, (size_t)k));
                    else
                        report_error("batch item", intent_batch_status(b, (size_t)k), intent_batch_error(b, (size_t)k));
                }
                intent_batch_free(b);
            }
        } else {
            for (long k = 0; k < n; k++) {
                intent_result *r = NULL;
                int32_t st = intent_classify(engine, texts[k].ptr, texts[k].len, NULL, &r);
                if (st == INTENT_STATUS_OK)
                    compare(qs[k], &qs[k]->single, r);
                else
                    report_error("classify", st, intent_last_error());
                intent_result_free(r);
            }
        }
        done += n;
    }
    if (!warm) warmed_up();
    return NULL;
}

static int read_queries(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    queries = calloc(MAX_QUERIES, sizeof *queries);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while (n_queries < MAX_QUERIES && (len = getline(&line, &cap, f)) > 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        if (len == 0) continue;
        queries[n_queries].text = strdup(line);
        queries[n_queries].len = (size_t)len;
        n_queries++;
    }
    free(line);
    fclose(f);
    n_queries -= n_queries % CHUNK; /* whole chunks only: each has one reference batch */
    return n_queries > 0 ? 0 : -1;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: soak <queries.txt> <threads> <queries-per-thread>\n");
        return 2;
    }
    n_threads = atoi(argv[2]);
    long per_thread = atol(argv[3]);
    if (n_threads < 1 || n_threads > 64 || per_thread < 1 || per_thread % CHUNK != 0 || read_queries(argv[1]) != 0) {
        fprintf(stderr, "bad arguments (queries per thread: a multiple of %d) or fewer than %d queries in %s\n", CHUNK, CHUNK, argv[1]);
        return 2;
    }

    intent_engine_params p;
    intent_engine_params_init(&p, sizeof p);
    p.n_threads = 1;
    p.max_parallel = (uint32_t)n_threads;
    intent_engine *e = NULL;
    if (intent_engine_new(&p, &e) != INTENT_STATUS_OK) {
        fprintf(stderr, "engine: %s\n", intent_last_error());
        return 1;
    }
    engine = e;

    /* The sequential reference: every chunk once as a batch, then its queries singly. */
    double t0 = now_s();
    for (size_t c = 0; c < n_queries; c += CHUNK) {
        intent_str texts[CHUNK];
        for (size_t k = 0; k < CHUNK; k++) {
            texts[k].ptr = queries[c + k].text;
            texts[k].len = queries[c + k].len;
        }
        intent_batch *b = NULL;
        if (intent_classify_batch(engine, texts, CHUNK, NULL, &b) != INTENT_STATUS_OK) {
            fprintf(stderr, "sequential run: batch failed: %s\n", intent_last_error());
            return 1;
        }
        for (size_t k = 0; k < CHUNK; k++) {
            query_t *q = &queries[c + k];
            const intent_result *r = intent_batch_result(b, k);
            intent_result *single = NULL;
            if (!r || intent_classify(engine, q->text, q->len, NULL, &single) != INTENT_STATUS_OK) {
                fprintf(stderr, "sequential run: '%s' failed: %s\n", q->text, r ? intent_last_error() : intent_batch_error(b, k));
                return 1;
            }
            snprintf(q->batched.intent, sizeof q->batched.intent, "%s", intent_result_intent(r));
            q->batched.confidence = intent_result_confidence(r);
            snprintf(q->single.intent, sizeof q->single.intent, "%s", intent_result_intent(single));
            q->single.confidence = intent_result_confidence(single);
            intent_result_free(single);
        }
        intent_batch_free(b);
    }
    double t_seq = now_s() - t0;

    pthread_t threads[64];
    job_t jobs[64];
    t0 = now_s();
    for (int i = 0; i < n_threads; i++) {
        jobs[i].id = i;
        jobs[i].per_thread = per_thread;
        pthread_create(&threads[i], NULL, worker, &jobs[i]);
    }
    for (int i = 0; i < n_threads; i++) pthread_join(threads[i], NULL);
    double t_run = now_s() - t0;
    long rss_end = rss_kb();

    intent_engine_free(e);
    for (size_t i = 0; i < n_queries; i++) free(queries[i].text);
    free(queries);

    double growth = rss_after_warmup_kb > 0 ? (double)(rss_end - rss_after_warmup_kb) / (double)rss_after_warmup_kb : 0;
    long total = (long)n_threads * per_thread;
    printf("{\"threads\": %d, \"queries_per_thread\": %ld, \"distinct_queries\": %zu, \"answered\": %ld, "
           "\"mismatches\": %ld, \"errors\": %ld, \"max_confidence_diff\": %.6f, \"rss_after_warmup_kb\": %ld, "
           "\"rss_end_kb\": %ld, \"rss_growth\": %.4f, \"sequential_s\": %.1f, \"run_s\": %.1f, \"queries_per_s\": %.1f}\n",
           n_threads, per_thread, n_queries, atomic_load(&answered), atomic_load(&mismatches), atomic_load(&errors),
           atomic_load(&worst_conf_diff_e6) / 1e6, rss_after_warmup_kb, rss_end, growth, t_seq, t_run,
           (double)total / t_run);
    int ok = atomic_load(&mismatches) == 0 && atomic_load(&errors) == 0 && atomic_load(&answered) == total;
    if (per_thread > WARMUP && growth > MAX_GROWTH) {
        fprintf(stderr, "resident memory grew by %.1f%% after warm-up (limit %.0f%%)\n", growth * 100, MAX_GROWTH * 100);
        ok = 0;
    }
    return ok ? 0 : 1;
}
