"""Checks of the committed dataset: reproducible byte for byte, train/test disjoint by
construction, and every intent and language above the floor of examples."""

import hashlib
import json
import re
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(DATA))
import generate  # noqa: E402

TAXONOMY_LABELS = set(generate.INTENTS)


def read(split):
    return [json.loads(l) for l in (DATA / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def splits():
    return {s: read(s) for s in ("train", "validation", "test")}


def norm(text):
    return re.sub(r"\W+", " ", text.lower()).strip()


def test_regenerating_gives_byte_identical_files(tmp_path):
    data = generate.generate(generate.load_sources(DATA / "sources"), generate.DEFAULT_SEED)
    generate.write(data, tmp_path)
    for name in ("train.jsonl", "validation.jsonl", "test.jsonl", "stats.json"):
        committed = hashlib.sha256((DATA / name).read_bytes()).hexdigest()
        fresh = hashlib.sha256((tmp_path / name).read_bytes()).hexdigest()
        assert committed == fresh, f"{name} differs from what data/generate.py writes: regenerate and commit"


def test_another_seed_gives_other_examples(tmp_path):
    a = generate.generate(generate.load_sources(DATA / "sources"), 1)
    b = generate.generate(generate.load_sources(DATA / "sources"), 2)
    assert [r["text"] for r in a["test"]] != [r["text"] for r in b["test"]]


def test_every_intent_and_language_meets_the_floor(splits):
    for split, floor in (("train", 150), ("test", 30)):
        counts = {}
        for r in splits[split]:
            counts[(r["lang"], r["intent"])] = counts.get((r["lang"], r["intent"]), 0) + 1
        for lang in generate.LANGS:
            for intent in generate.INTENTS:
                assert counts.get((lang, intent), 0) >= floor, f"{split} {lang}/{intent}: {counts.get((lang, intent), 0)}"
    assert {r["lang"] for r in splits["test"]} == set(generate.LANGS)
    assert all(r["intent"] in TAXONOMY_LABELS for s in splits.values() for r in s)


def test_test_templates_slot_values_and_fillers_never_appear_in_train():
    sources = generate.load_sources(DATA / "sources")
    for lang, src in sources.items():
        for intent, t in src["intents"].items():
            shared = {norm(x) for x in t["train"]} & {norm(x) for x in t["test"]}
            assert not shared, f"{lang}/{intent} test templates in train: {shared}"
        for kind in ("slots", "fillers"):
            for name, values in src[kind]["test"].items():
                shared = set(values) & set(src[kind]["train"].get(name, []))
                assert not shared, f"{lang} {kind}.{name} shared by train and test: {shared}"
    assert not set(generate.EMOJIS["test"]) & set(generate.EMOJIS["train"])
    assert not set(generate.EMAIL_DOMAINS["test"]) & set(generate.EMAIL_DOMAINS["train"])


def test_no_test_example_is_a_train_example_and_test_uses_test_templates(splits):
    train_texts = {norm(r["text"]) for r in splits["train"]} | {norm(r["text"]) for r in splits["validation"]}
    overlap = [r["text"] for r in splits["test"] if norm(r["text"]) in train_texts]
    assert not overlap, overlap[:5]
    assert all("/test/" in r["template"] for r in splits["test"])
    assert all("/train/" in r["template"] for r in splits["train"] + splits["validation"])


def test_the_styles_of_real_shoppers_are_present(splits):
    styles = {}
    for r in splits["train"]:
        for s in r["style"]:
            styles[s] = styles.get(s, 0) + 1
    for s in ("polite", "rude", "greeting", "rambling", "mixed_language", "typo", "no_accents", "no_punctuation", "lowercase", "all_caps", "emoji"):
        assert styles.get(s, 0) >= 100, f"style {s}: {styles.get(s, 0)}"


def test_validation_templates_are_held_out_of_train(splits):
    train_templates = {r["template"] for r in splits["train"]}
    validation_templates = {r["template"] for r in splits["validation"]}
    assert train_templates.isdisjoint(validation_templates)
    assert all(generate.held_out(int(r["template"].rsplit("/", 1)[1])) for r in splits["validation"])
