package dev.libintent;

/** One entry of a result's top list: a label and its probability. */
public record LabelScore(String label, float probability) {
}
