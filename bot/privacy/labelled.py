"""The hand-labelled redaction set (``tests/data/redaction_labelled.jsonl``): loading and
checking. Each line: {"text", "language": "en"|"zh", "spans": [[start, end, KIND], ...]},
offsets in Python characters over ``text``.

    python -m bot.privacy.labelled [PATH]    # validate, print counts per language and kind
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.privacy.spans import KINDS, Kind

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "tests" / "data" / "redaction_labelled.jsonl"
LANGUAGES = ("en", "zh")
# A span that starts or ends on these was cut badly (a separator, not the value).
_EDGE = " \t\n,.;:!?，。；：！？、（）[]【】\"'“”‘’"


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    language: str
    spans: tuple[tuple[int, int, Kind], ...]


def problems(row: Any) -> list[str]:
    """What is wrong with one parsed line; empty when it is valid."""
    if not isinstance(row, dict) or set(row) != {"text", "language", "spans"}:
        return ["expected exactly the keys text, language, spans"]
    text, spans = row["text"], row["spans"]
    out: list[str] = []
    if not isinstance(text, str) or not text.strip():
        return ["text must be a non-empty string"]
    if row["language"] not in LANGUAGES:
        out.append(f"language must be one of {LANGUAGES}")
    if not isinstance(spans, list):
        return [*out, "spans must be a list"]
    previous_end = 0
    for span in spans:
        if (not isinstance(span, list) or len(span) != 3
                or not all(isinstance(x, int) and not isinstance(x, bool) for x in span[:2])):
            out.append(f"span {span!r} must be [start, end, KIND]")
            continue
        start, end, kind = span
        if kind not in KINDS:
            out.append(f"span {span!r}: unknown kind")
        if not 0 <= start < end <= len(text):
            out.append(f"span {span!r}: offsets outside the text")
            continue
        if start < previous_end:
            out.append(f"span {span!r}: overlaps or is out of order")
        value = text[start:end]
        if value[0] in _EDGE or value[-1] in _EDGE:
            out.append(f"span {span!r}: {value!r} starts or ends on a separator")
        previous_end = end
    return out


def load(path: Path = DEFAULT_PATH) -> list[Example]:
    """All examples; raises ``ValueError`` naming every bad line."""
    examples: list[Example] = []
    errors: list[str] = []
    seen: set[str] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(f"line {number}: not JSON ({exc})")
            continue
        found = problems(row)
        if not found and row["text"] in seen:
            found = ["duplicate text"]
        if found:
            errors += [f"line {number}: {p}" for p in found]
            continue
        seen.add(row["text"])
        examples.append(Example(row["text"], row["language"],
                                tuple((s, e, k) for s, e, k in row["spans"])))
    if errors:
        raise ValueError("\n".join(errors))
    return examples


def main(argv: list[str] | None = None) -> int:
    path = Path(argv[0]) if argv else DEFAULT_PATH
    try:
        examples = load(path)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 1
    for lang in LANGUAGES:
        rows = [ex for ex in examples if ex.language == lang]
        kinds = Counter(k for ex in rows for _, _, k in ex.spans)
        clean = sum(not ex.spans for ex in rows)
        print(f"{lang}: {len(rows)} messages, {clean} without PII; "
              + ", ".join(f"{k} {kinds[k]}" for k in KINDS if kinds[k]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
