"""The fine-tuned prompt format: the model's chat template with a short fixed system
prompt and the query as the user turn, rendered without the assistant's opening, so the
answer follows the end of the user turn directly (every token after the query is paid on
each query: this keeps it to one). One answer word per intent, chosen so that every
answer starts with its own token: the engine decides in one scoring step.
"""

from __future__ import annotations

from typing import Callable

# The system prompt of fine-tuned models. No taxonomy list: the model learned the labels.
SYSTEM_PROMPT = "Classify the intent of this message to an online shop."

# Name of the prompt format, stored in the model manifest.
PROMPT_FORMAT = "libintent-finetuned-v2"


def fold_caps(text: str) -> str:
    """The query as the model reads it under the `fold_caps` normalization: a message
    written in capitals (at least 4 cased letters, at least 80% of them upper case) is
    lower-cased, so that SHOUTED wording meets the tokens the model learned; any other
    message is unchanged."""
    upper = sum(c.isupper() for c in text)
    cased = upper + sum(c.islower() for c in text)
    # upper >= 0.8 * cased, in integers, as the engine computes it.
    return text.lower() if cased >= 4 and 5 * upper >= 4 * cased else text


# Query normalizations by the name the model manifest stores ("query_normalization").
NORMALIZATIONS = {"none": lambda text: text, "fold_caps": fold_caps}


def choose_answers(labels: list[str], first_token: Callable[[str], int], n_tokens: Callable[[str], int]) -> dict[str, str]:
    """One answer word per label, all with distinct first tokens.

    Candidates are the label's own words (then the same words capitalised), preferring
    words few other labels share, then single-token words, then earlier words. The
    assignment is a maximum matching by augmenting paths, so a label whose best word is
    taken can still get one of its others. Deterministic for a given tokenizer.
    """
    def shared(word: str) -> int:
        return sum(word.lower() in other.split("_") for other in labels)

    def candidates(label: str) -> list[str]:
        words = label.split("_")
        out: list[str] = []
        for variant in (words, [w.capitalize() for w in words]):
            ranked = sorted(enumerate(variant), key=lambda iw: (shared(iw[1]), n_tokens(iw[1]) > 1, iw[0]))
            out += [w for _, w in ranked if len(w) > 2 and w not in out]
        return out

    owner: dict[int, str] = {}
    choice: dict[str, str] = {}

    def assign(label: str, seen: set[int]) -> bool:
        for word in candidates(label):
            token = first_token(word)
            if token in seen:
                continue
            seen.add(token)
            if token not in owner or assign(owner[token], seen):
                owner[token] = label
                choice[label] = word
                return True
        return False

    for label in labels:
        if not assign(label, set()):
            raise ValueError(f"no answer word with a first token of its own for '{label}'")
    return {label: choice[label] for label in labels}
