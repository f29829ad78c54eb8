"""The model card: what a `.tflite` file needs beside it to be served and trusted.

A card is JSON next to the model (`NAME.tflite` -> `NAME.card.json`). Only `labels` and
`input` matter to the runtime; the rest (metrics, training data, intended use) is for people.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from spotter.errors import ModelError
from spotter.model.calibration import Calibration, DomainCheck
from spotter.model.lookalike import label_skeletons
from spotter.model.metadata import read_metadata
from spotter.model.preprocess import InputContract
from spotter.model.scaling import Scaling
from spotter.records import STATUSES

UNCERTAIN = "uncertain"

# Labels go into DynamoDB as the by-label index's hash key (2,048 bytes at most) and the model id
# (`name@version`) as the table's sort key (1,024 bytes at most); a card past either would fail every
# image's write. These bounds stay well under both.
MAX_LABEL_BYTES = 256
MAX_MODEL_ID_BYTES = 512
# Words the page and `outcome_of` show for a record that is not a label: a label spelled so would read
# as that outcome (compared case-insensitively).
PLACEHOLDER_LABEL = "???"  # TFLite label maps: the background's first line, and ids nobody uses
RESERVED_OUTCOMES = frozenset({UNCERTAIN, *STATUSES, "out_of_domain", "pending", "failed"})
# The words the page shows for a file's state (frontend/app.js; tests/unit/test_classifier.py checks
# the page has no others): a label holding one of these, or an outcome word, as a word anywhere
# ("Upload failed", "ok (benign)", "uncertain?", "pending review") would read as that state.
SCREEN_WORDS = frozenset({"upload failed", "uploading", "waiting", "classifying", "classified", "out of domain"})
# Words that read as a file's state or an outcome though neither the page nor a record uses them (the
# sixth trial): a label holding one would read as that state.
STATE_WORDS = frozenset({
    "error", "errors", "err", "fail", "fails", "failing", "failure", "done", "deleted", "expired", "timeout",
    "timed out", "uploaded", "queued", "in queue", "processing", "in progress", "loading", "unsure",
    "not sure", "not certain", "uncertainty", "unclear", "inconclusive", "indeterminate", "maybe",
    "borderline", "equivocal", "doubtful", "needs review", "look again", "unclassified", "not assessed",
    "no preview", "no image to show", "problems", "not available", "cancelled", "canceled", "retry",
    "okay", "okey", "unknown", "none", "n/a", "null", "undefined", "nan", "success", "passed", "complete",
    "finished", "accepted", "skipped", "aborted", "objects", "images", "files",
    # the page's verdicts against a researcher's diagnoses, and words that read as one (the eighth trial)
    "right", "wrong", "correct", "incorrect", "true", "false", "match", "mismatch", "unassessed",
    "undetermined", "ambiguous", "tbd", "ood", "out of distribution", "reject", "refuse", "invalid", "missing",
    "empty", "running", "analysing", "analyzing", "progress", "ready", "flagged", "cleared", "verified",
    "confirmed", "high confidence", "low confidence", "diagnosis", "truth",
    # words that read as part of the page's counts ("2 dog, 1 person (3 objects in 2 images)")
    "total", "in total", "in all", "all", "others", "more", "items", "boxes", "detections", "records",
    "pictures", "photos",
    # the ninth trial: verdicts, nothing, the page's own words, and numbers in words
    "pass", "miss", "hit", "nil", "nothing", "blank", "unidentified", "unlabeled", "unlabelled", "threshold",
    "score", "decision", "batch", "label", "percent", "pair", "dozen", "hundred", "one", "two", "three", "four", "five",
    "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "twenty", "fifty",
})  # fmt: skip
MARK_LETTERS = frozenset({"x", "o"})  # a label of one of these alone reads as the page's ✕ or ● mark
# Digits and letters read as each other in state words (`fa1led`, `pendlng`, `Waitinq`, `rej3cted`):
# folded alike on both sides before the state words are looked for.
_SWAPS = str.maketrans({"1": "i", "l": "i", "|": "i", "!": "i", "0": "o", "3": "e", "4": "a", "@": "a",
                        "5": "s", "$": "s", "7": "t", "9": "g", "q": "g"})  # fmt: skip
# What a label may hold besides letters, digits, combining marks and spaces: the punctuation of names
# ("St. John's-wort", "type 2 (early)", "A/B"). Any other symbol may read as one of the page's marks
# (● ▲ ■ ◆ ★ ◇ ? ✕ ⊘ ✓), a warning or a score (%).
# no comma or semicolon: the page lists counts as "2 dog, 1 person"
LABEL_PUNCTUATION = frozenset(" -_.'’()/&:#+")
AUTOMATIC_LABEL = re.compile(r"class_\d+")  # the name a detector's class id gets where the labels stop short
# reads as a score or a count beside a label: a decimal (`0.99`, `.99`), a percentage (`99 pct`), a
# number of two digits or more beside words (`benign 99`), or a count before words (`2 dog`); a label
# that is a number alone (a digits model's `0`..`9`) is none of these
SCORE_LIKE = re.compile(
    r"\d\s*[.,]\s*\d|(^|\s)[.,]\d|\d\s*(%|pct|percent)|\D\s\d{2,}\s*$|^\d{2,}\s+\D|^\d+\s+[^\W\d]",
    re.IGNORECASE,
)
# Bidirectional formatting characters (category Cf) reorder what follows them on screen.
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


# Unicode's Default_Ignorable_Code_Point ranges (DerivedCoreProperties.txt): characters a renderer shows
# as nothing (combining grapheme joiner, Hangul fillers, variation selectors, Khmer inherent vowels...).
_IGNORABLE = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5),
    (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x3164, 0x3164),
    (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF), (0x16FE4, 0x16FE4),
    # not default-ignorable, but drawn as nothing or as a blank: Braille blank, Tifinagh joiner, tatweel,
    # the object replacement character, Hangul half-width filler
    (0x2800, 0x2800), (0x2D7F, 0x2D7F), (0x0640, 0x0640), (0xFFFC, 0xFFFC),
)  # fmt: skip


def _invisible(char: str) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in _IGNORABLE)


def _unprintable(text: str) -> str | None:
    """The first control, format, default-ignorable (shown as nothing: zero-width space, soft hyphen,
    word joiner, combining grapheme joiner, Hangul filler, variation selector...), unassigned,
    surrogate or line/paragraph separator character in `text`, else None: each can make two labels, or
    a label and an outcome word, look the same on screen."""
    for char in text:
        if (
            unicodedata.category(char) in ("Cc", "Cf", "Cn", "Co", "Cs", "Zl", "Zp")
            or char in _BIDI_CONTROLS
            or _invisible(char)
        ):
            return char
    return None


# Letters of one script may go with these in a label ("Rosa 玫瑰"): none of them looks like a Latin,
# Cyrillic or Greek letter. Any other two scripts in one label may look alike ("оk" with a Cyrillic о,
# "օk" with an Armenian օ, "ᏴENIGN" with a Cherokee Ᏼ).
_MIXES_WITH_ANY = frozenset({"CJK", "HIRAGANA", "KATAKANA", "HANGUL", "KATAKANA-HIRAGANA"})


def _confusable_scripts(label: str) -> set[str]:
    """The scripts of the label's letters (the first word of each letter's Unicode name), less those
    that mix with any."""
    found = set()
    for char in unicodedata.normalize("NFKC", label):
        if unicodedata.category(char).startswith("L"):
            script = unicodedata.name(char, "").split(" ")[0]
            if script and script not in _MIXES_WITH_ANY:
                found.add(script.title())
    return found


def _loose_number(text: str) -> bool:
    """A number beside words: a word holding digits (any script, superscripts and Roman numerals
    included) that does not start with a letter and hold two letters or more (H5N1 and R2D2 do; `2dogs`,
    `x2`, `99` beside `benign` do not), in a label that is not a number alone."""
    if not any(unicodedata.category(c)[0] == "L" for c in text):
        return False  # a number alone ("7"), or nothing the rules below are about
    word: list[str] = []
    for char in [*text, " "]:
        if unicodedata.category(char)[0] in "LN" or unicodedata.numeric(char, None) is not None:
            word.append(char)
            continue
        if word and any(unicodedata.category(c)[0] == "N" for c in word):
            letters = sum(c.isalpha() for c in word)
            if not word[0].isalpha() or letters < 2:
                return True
        word = []
    return False


def _near_miss(word: str, reserved: str) -> bool:
    """One letter swapped with its neighbour, dropped, added or changed in a reserved word of six or
    more letters (`uncertian`, `uncertan`): read at a glance as the word."""
    if len(reserved) < 6 or abs(len(word) - len(reserved)) > 1 or word == reserved:
        return False
    if len(word) == len(reserved):
        diffs = [i for i, (a, b) in enumerate(zip(word, reserved)) if a != b]
        return len(diffs) == 1 or (
            len(diffs) == 2
            and diffs[1] == diffs[0] + 1
            and word[diffs[0]] == reserved[diffs[1]]
            and word[diffs[1]] == reserved[diffs[0]]
        )
    short, long = (word, reserved) if len(word) < len(reserved) else (reserved, word)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def _words(text: str) -> tuple[str, ...]:
    """The runs of letters and digits (underscores, hyphens, spaces, punctuation and symbols split them)."""
    out, word = [], []
    for char in text:
        if unicodedata.category(char)[0] in "LNM":
            word.append(char)
        elif word:
            out.append("".join(word))
            word = []
    if word:
        out.append("".join(word))
    return tuple(out)


@cache
def _reserved_phrases() -> frozenset[tuple[str, ...]]:
    phrases = set()
    for word in (*RESERVED_OUTCOMES, *SCREEN_WORDS, *STATE_WORDS):
        for look in label_skeletons(word):
            phrases.add(_words(look))
            phrases.add(_words(look.translate(_SWAPS)))
    return frozenset(phrases)


def _holds_reserved_words(looks: frozenset[str]) -> str | None:
    """Whether a label (its look-alike skeletons) holds an outcome or a screen word as words anywhere,
    or is one when its words are run together ("o.k.", "o_k"), digits and letters read alike."""
    for look in looks | {look.translate(_SWAPS) for look in looks}:
        words = _words(look)
        joined = "".join(words)
        for phrase in _reserved_phrases():
            size = len(phrase)
            if joined == "".join(phrase) or any(words[i : i + size] == phrase for i in range(len(words) - size + 1)):
                return " ".join(phrase)
            if size == 1 and any(_near_miss(word, phrase[0]) for word in words):
                return phrase[0]
    return None


@cache
def _reserved_looks() -> frozenset[str]:
    return frozenset().union(*(label_skeletons(word) for word in RESERVED_OUTCOMES))


def _label_key(label: str) -> str:
    """What a label reads as: compatibility forms folded (fullwidth `ａ` is `a`), case folded, every run
    of spaces (no-break and ideographic too) one space, trimmed."""
    return " ".join(unicodedata.normalize("NFKC", label).casefold().split())


def validate_card(name: str, version: str, labels: tuple[str, ...]) -> None:
    """ModelError naming the field and the limit when the card cannot be served: every label non-empty,
    unique, at most MAX_LABEL_BYTES of UTF-8, free of control characters and not a reserved outcome word;
    the model id `name@version` at most MAX_MODEL_ID_BYTES, with a non-empty name and version."""
    for field_name, value in (("name", name), ("version", version)):
        if not value.strip():
            raise ModelError(f"model card {field_name} is empty")
        bad = _unprintable(value)
        if bad is not None:
            raise ModelError(f"model card {field_name} {value!r} holds control character U+{ord(bad):04X}")
    model_id = f"{name}@{version}"
    if len(model_id.encode("utf-8", "surrogatepass")) > MAX_MODEL_ID_BYTES:
        raise ModelError(
            f"model card name@version is {len(model_id.encode('utf-8', 'surrogatepass'))} bytes of UTF-8;"
            f" the limit is {MAX_MODEL_ID_BYTES} (it is the records' DynamoDB sort key)"
        )
    seen: dict[str, int] = {}
    for index, label in enumerate(labels):
        if label == PLACEHOLDER_LABEL:  # a label map's unused class id: never a record's label
            continue
        where = f"model card labels[{index}]"
        if not label.strip():
            raise ModelError(f"{where} is empty; every label needs a name")
        size = len(label.encode("utf-8", "surrogatepass"))
        if size > MAX_LABEL_BYTES:
            raise ModelError(
                f"{where} is {size} bytes of UTF-8; the limit is {MAX_LABEL_BYTES} (labels are a DynamoDB index key)"
            )
        bad = _unprintable(label)
        if bad is not None:
            raise ModelError(f"{where} {label!r} holds invisible or control character U+{ord(bad):04X}")
        mixed = _confusable_scripts(label)
        if len(mixed) > 1:
            raise ModelError(
                f"{where} {label!r} mixes {' and '.join(sorted(mixed))} letters, which may look alike: "
                "write each label in one script"
            )
        if unicodedata.category(label.strip()[0]).startswith("M"):
            raise ModelError(f"{where} {label!r} starts with a combining mark: it would draw over what comes before")
        looks = label_skeletons(label)
        if not any(unicodedata.category(char)[0] in "LN" for char in unicodedata.normalize("NFKC", label)):
            raise ModelError(
                f"{where} {label!r} has no letter or digit: symbols alone (✅, ❓, 🆗) read as the page's own marks"
            )
        held = _holds_reserved_words(looks)
        if _label_key(label) in RESERVED_OUTCOMES or looks & _reserved_looks() or held:
            word = held or _label_key(label)
            raise ModelError(
                f"{where} {label!r} is or holds a reserved word ({word!r}: an outcome, or a state the page or a record "
                "shows; the list is in docs/model.md); records would read as that outcome or state"
            )
        folded = unicodedata.normalize("NFKC", label)
        symbol = next(
            (
                c
                for c in folded
                if (unicodedata.category(c)[0] not in "LNMZ" and c not in LABEL_PUNCTUATION)
                or unicodedata.category(c) == "Me"  # an enclosing mark draws a shape around a letter (⃠ ⃤ ⃝)
            ),
            None,
        )
        if symbol is not None and any(unicodedata.category(char)[0] in "LN" for char in folded):
            raise ModelError(
                f"{where} {label!r} holds {symbol!r} (U+{ord(symbol):04X}): a label is words (letters, digits, "
                f"spaces and {' '.join(sorted(LABEL_PUNCTUATION - {' '}))}); a symbol may read as one of the "
                "page's marks or a score"
            )
        if AUTOMATIC_LABEL.fullmatch(_label_key(label)):
            raise ModelError(f"{where} {label!r} is the name Spotter gives a detector's class id that has no label")
        if _label_key(label) in MARK_LETTERS:
            raise ModelError(f"{where} {label!r} reads as one of the page's marks (✕, ●)")
        if SCORE_LIKE.search(folded) or _loose_number(folded):
            raise ModelError(
                f"{where} {label!r} reads like a score or a count: a number may be a label alone (a digits "
                "model's 0-9), or stand between letters inside a word (H5N1), never beside words"
            )
        if AUTOMATIC_LABEL.fullmatch(_label_key(label)):
            raise ModelError(f"{where} {label!r} is the name Spotter gives a detector's class id that has no label")
        # spaces and punctuation do not tell labels apart: "c a t", "(cat)" and "cat." read as "cat"
        looks = looks | {"".join(_words(look)) for look in looks}
        for key in looks:
            if key in seen:
                raise ModelError(
                    f"{where} {label!r} reads as labels[{seen[key]}] {labels[seen[key]]!r}; labels must be unique"
                )
        seen.update(dict.fromkeys(looks, index))


def _number(value: Any) -> float:
    """A JSON number, not a string that reads as one ("0.08") nor a boolean."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"not a number: {value!r}")
    return float(value)


@dataclass(frozen=True)
class Decision:
    """A binary card's operating point: the `positive` label when its score is at least `threshold`,
    the other label below it, and `uncertain` for a score inside `band` (low <= score < high)."""

    positive: str
    negative: str
    threshold: float
    band: tuple[float, float] | None = None

    def decide(self, positive_score: float) -> str:
        if self.band is not None and self.band[0] <= positive_score < self.band[1]:
            return UNCERTAIN
        return self.positive if positive_score >= self.threshold else self.negative

    @classmethod
    def from_json(cls, data: dict[str, Any], labels: tuple[str, ...]) -> Decision:
        if len(labels) != 2:
            raise ModelError(f"a card decision needs exactly two labels, the card has {len(labels)}")
        positive = str(data.get("positive", labels[1]))
        if positive not in labels:
            raise ModelError(f"card decision.positive {positive!r} is not one of the labels {list(labels)}")
        try:
            threshold = _number(data["threshold"])
            band = data.get("uncertain_band")
            if band is not None and not (isinstance(band, list) and len(band) == 2):
                raise ValueError("uncertain_band")
            band = (_number(band[0]), _number(band[1])) if band else None
        except (KeyError, TypeError, ValueError, IndexError):
            raise ModelError(
                f"card decision needs a numeric threshold and an optional [low, high] uncertain_band, got {data}"
            ) from None
        if not 0.0 <= threshold <= 1.0 or (band and not band[0] <= threshold <= band[1]):
            raise ModelError(
                f"card decision: threshold {threshold} must lie in 0..1 and inside its uncertain_band {band}"
            )
        return cls(positive=positive, negative=labels[1 - labels.index(positive)], threshold=threshold, band=band)


@dataclass(frozen=True)
class ModelCard:
    name: str
    version: str
    labels: tuple[str, ...]
    input_size: tuple[int, int] | None = None  # (width, height); None: read from the model
    scaling: Scaling | None = None  # None: the runtime's convention for the input type
    resize: str = "squash"  # or "center_crop", "pad" (spotter.model.preprocess)
    filter: str = "bilinear"
    reducing_gap: float | None = 3.0
    pad_colour: tuple[int, int, int] = (0, 0, 0)
    decision: Decision | None = None  # binary cards only: the operating threshold the runtime applies
    calibration: Calibration | None = None  # binary cards: the positive score as a probability
    domain_check: DomainCheck | None = None  # a second output: how far the photo is from the training photos
    extra: dict[str, Any] = field(default_factory=dict)  # everything else on the card, kept verbatim

    def __post_init__(self) -> None:  # every card, however made (file, model metadata, labels file)
        validate_card(self.name, self.version, self.labels)
        if self.calibration is not None and self.decision is None:
            raise ModelError("card calibration applies to a two-label card with a decision (its positive label)")

    @property
    def model_id(self) -> str:
        return f"{self.name}@{self.version}"

    def contract(self, size: tuple[int, int]) -> InputContract:
        """The preprocessing contract for a model whose input is `size` (width, height)."""
        return InputContract(
            size=size,
            resize=self.resize,
            filter=self.filter,
            reducing_gap=self.reducing_gap,
            pad_colour=self.pad_colour,
        )

    @classmethod
    def from_json(cls, data: Any) -> ModelCard:
        if not isinstance(data, dict):
            raise ModelError(f"a model card is a JSON object with name, version and labels, not {type(data).__name__}")
        try:
            name, version, labels = data["name"], data["version"], data["labels"]
        except KeyError as missing:
            raise ModelError(f"model card lacks {missing}") from None
        for field_name, value in (("name", name), ("version", version)):
            if not isinstance(value, (str, int, float)) or isinstance(value, bool):
                raise ModelError(f"model card {field_name} must be text, got {json.dumps(value)[:60]}")
        if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
            raise ModelError('model card labels must be a list of texts, e.g. ["benign", "malignant"]')
        name, version, labels = str(name), str(version), tuple(labels)
        spec = data.get("input", {})
        if not isinstance(spec, dict):
            raise ModelError('model card input must be an object, e.g. {"size": [224, 224], "resize": "squash"}')
        size = spec.get("size")
        if size is not None and not (
            isinstance(size, list)
            and len(size) == 2
            and all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in size)
        ):
            raise ModelError(f"model card input.size must be [width, height] in pixels, got {json.dumps(size)[:60]}")
        contract = InputContract.from_json((1, 1), spec)  # validates resize, filter, reducing_gap, pad_colour
        decision = Decision.from_json(data["decision"], labels) if data.get("decision") else None
        extra = {k: v for k, v in data.items() if k not in ("name", "version", "labels")}
        return cls(
            name=name,
            version=version,
            labels=labels,
            input_size=(int(size[0]), int(size[1])) if size else None,
            scaling=Scaling.from_json(spec["scaling"]) if "scaling" in spec else None,
            resize=contract.resize,
            filter=contract.filter,
            reducing_gap=contract.reducing_gap,
            pad_colour=contract.pad_colour,
            decision=decision,
            calibration=Calibration.from_json(data["calibration"]) if data.get("calibration") else None,
            domain_check=DomainCheck.from_json(data["domain_check"]) if data.get("domain_check") else None,
            extra=extra,
        )

    def as_written(self) -> dict[str, Any]:
        """The card as JSON: its name, version and labels, then every other field as read."""
        return {"name": self.name, "version": self.version, "labels": list(self.labels), **self.extra}

    def to_json(self) -> dict[str, Any]:
        data = dict(self.extra)
        spec = dict(data.get("input", {}))
        if self.input_size:
            spec["size"] = list(self.input_size)
        if self.scaling:
            spec["scaling"] = self.scaling.to_json()
        spec.update(self.contract(self.input_size or (1, 1)).to_json())
        data.update(name=self.name, version=self.version, labels=list(self.labels), input=spec)
        return data


def uncarded_version(content: bytes) -> str:
    """The version of a model that has no card: a digest of the file, so two such models never share records."""
    return "sha256-" + hashlib.sha256(content).hexdigest()[:12]


def card_path_for(model_path: Path) -> Path:
    return model_path.with_suffix(".card.json")


def card_for_model(model_path: Path, content: bytes | None = None, *, float_input: bool = True) -> ModelCard:
    """The card beside the model, else one made from the model's own metadata (Task Library rules:
    named for the file, versioned by a digest of it, labels and, for a float input, scaling from the
    metadata). The one rule for which card a model has: the classifier runs by it, the API shows it."""
    card_file = card_path_for(model_path)
    if card_file.exists():
        return load_card(card_file)
    if content is None:
        content = Path(model_path).read_bytes()
    metadata = read_metadata(content)
    scaling = metadata.scaling if float_input else None
    return ModelCard(
        name=model_path.stem, version=uncarded_version(content), labels=metadata.labels or (), scaling=scaling
    )


def load_card(path: Path) -> ModelCard:
    try:
        return ModelCard.from_json(json.loads(Path(path).read_text(encoding="utf-8")))
    except ModelError as exc:
        raise ModelError(f"{exc} ({path})") from None
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read model card {path}: {exc}") from None


def load_labels(path: Path) -> tuple[str, ...]:
    """A plain labels file: one label per line (TFLite convention); blank lines ignored, a UTF-8
    byte-order mark (Windows Notepad writes one) dropped."""
    try:
        lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as exc:
        raise ModelError(f"is not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    return tuple(line.strip() for line in lines if line.strip())


def with_labels_file(card: ModelCard, path: Path) -> ModelCard:
    """`card` with the labels of a labels file, checked by the card's rules (errors name the file).
    The card's own labels in another order are refused: every output would get another's name."""
    try:
        labels = load_labels(path)
        if not labels:
            raise ModelError("holds no labels (one per line)")
        if card.labels and labels != card.labels and sorted(labels) == sorted(card.labels):
            raise ModelError(
                f"lists the model card's labels in another order ({', '.join(labels)}; the card: "
                f"{', '.join(card.labels)}): each output would be named as another; drop --labels or fix its order"
            )
        return ModelCard(**{**card.__dict__, "labels": labels})
    except ModelError as exc:
        raise ModelError(f"labels file {path}: {str(exc).removeprefix('model card ')}") from None
    except OSError as exc:
        raise ModelError(f"cannot read labels file {path}: {exc.strerror or exc}") from None


class CardIdentity:
    """What a loaded model (a classifier or a detector) names of itself: its card's name, version and id."""

    card: ModelCard

    @property
    def name(self) -> str:
        return self.card.name

    @property
    def version(self) -> str:
        return self.card.version

    @property
    def model_id(self) -> str:
        return self.card.model_id
