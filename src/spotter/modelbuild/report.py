"""The evaluation table, float vs int8 (and a reference column when there is one)."""

from __future__ import annotations

SEED_APPS = {
    "name": "seed apps (reported)",
    "accuracy": 0.88,
    "sensitivity": 0.820,
    "specificity": 0.926,
    "images": 1017,
    "note": "the seed apps' own figures on 1,017 ISIC images: different images, split and "
    "protocol, so not directly comparable with the test split here",
}


def _pct(value) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def _num(value, digits=3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _mb(value) -> str:
    return "-" if value is None else f"{value / 1e6:.2f} MB"


def _ci(value) -> str:
    return "-" if not value else f"{100 * value[0]:.0f}-{100 * value[1]:.0f} %"


def _ms(value) -> str:
    return "-" if value is None else f"{value:.1f} ms"


def table(metrics: dict, reference: dict | None = None) -> str:
    """A plain-text table of an `evaluate()` result."""
    columns = [("float32", metrics["float32"]), ("int8", metrics["int8"])]
    if reference:
        columns.append((reference["name"], reference))
    rows = [
        ("test images", lambda m: str(m.get("n", m.get("images", "-")))),
        ("ROC AUC", lambda m: _num(m.get("roc_auc"))),
        ("accuracy", lambda m: _pct(m.get("accuracy"))),
        ("sensitivity", lambda m: _pct(m.get("sensitivity"))),
        ("  95 % interval", lambda m: _ci(m.get("sensitivity_ci95"))),
        ("specificity", lambda m: _pct(m.get("specificity"))),
        ("  95 % interval", lambda m: _ci(m.get("specificity_ci95"))),
        ("threshold (from validation)", lambda m: _num(m.get("threshold"))),
        (
            "uncertain band",
            lambda m: (
                "-"
                if not m.get("uncertain_band")
                else f"{m['uncertain_band'][0]:.3f}-{m['uncertain_band'][1]:.3f} ({m.get('uncertain')} photos)"
            ),
        ),
        ("validation ROC AUC", lambda m: _num(m.get("validation_roc_auc"))),
        ("model file size", lambda m: _mb(m.get("size_bytes"))),
        ("latency (1 thread)", lambda m: _ms(m.get("latency_ms"))),
    ]
    header = [""] + [name for name, _ in columns]
    body = [[label] + [fmt(m) for _, m in columns] for label, fmt in rows]
    widths = [max(len(row[i]) for row in [header, *body]) for i in range(len(header))]
    lines = [
        "| " + " | ".join(cell.ljust(w) for cell, w in zip(header, widths)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    lines += ["| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths)) + " |" for row in body]
    split = metrics.get("split", {})
    notes = []
    if split:
        notes.append(
            f"Test split: {split.get('images')} images {split.get('per_class')}; thresholds chosen on "
            f"{split.get('threshold_chosen_on')}."
        )
    if metrics.get("positive_class"):
        notes.append(
            f"Sensitivity = recall of '{metrics['positive_class']}'. "
            f"int8/float top-1 agreement on test: {_pct(metrics.get('int8_float_top1_agreement'))}."
        )
    for label, m in columns:
        if m.get("confusion_matrix"):
            notes.append(f"{label} confusion matrix (rows true, columns predicted): {m['confusion_matrix']}")
    full = metrics.get("full_resolution")
    if full:
        notes.append(
            f"Full-resolution originals ({full['images']}, through the runtime, resize {full['resize']}): "
            f"{full['right_full']} right at the threshold ({full['right_256']} of their 256 px versions), "
            f"{full['agree']} agree with the 256 px decision, {full['uncertain_full']} uncertain; "
            f"right by resize mode: {full.get('right_full_by_resize')}."
        )
    if reference:
        notes.append(f"Reference column: {reference['note']}.")
    return "\n".join([*lines, "", *notes])
