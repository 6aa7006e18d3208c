package dev.libintent;

/**
 * Where the time of one classification went, in microseconds.
 *
 * @param tokenizeMicros tokenizing the query
 * @param queueMicros    waiting for a free evaluation context
 * @param evalMicros     backend evaluation of the batch this query was part of
 * @param totalMicros    the whole call
 * @param batchSize      queries evaluated together with this one
 */
public record Timings(long tokenizeMicros, long queueMicros, long evalMicros, long totalMicros, int batchSize) {
}
