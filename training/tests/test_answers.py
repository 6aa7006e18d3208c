"""The training side of the prompt format: query normalizations must rewrite text exactly
as the engine does (core/src/manifest.rs, QueryNormalization), on the cases both sides
are tested on (core/testdata/query_normalization.json)."""

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "training"))

from answers import NORMALIZATIONS, fold_caps  # noqa: E402

CASES = json.loads((ROOT / "core" / "testdata" / "query_normalization.json").read_text(encoding="utf-8"))


def test_fold_caps_matches_the_engine_s_cases():
    assert len(CASES) >= 10
    for text, folded in CASES:
        assert fold_caps(text) == folded, text
        assert NORMALIZATIONS["none"](text) == text
    assert any(a != b for a, b in CASES) and any(a == b for a, b in CASES)


def test_fold_caps_needs_four_cased_letters_and_four_fifths_in_capitals():
    assert fold_caps("ABC") == "ABC"
    assert fold_caps("ABCD") == "abcd"
    assert fold_caps("ABCDe") == "abcde"  # 4 of 5: exactly four fifths
    assert fold_caps("ABCde") == "ABCde"
    assert fold_caps("") == ""
