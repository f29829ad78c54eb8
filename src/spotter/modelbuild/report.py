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


def _auc(m: dict) -> str:
    auc, ci = m.get("roc_auc"), m.get("roc_auc_ci95")
    return _num(auc) + (f" ({ci[0]:.3f}-{ci[1]:.3f})" if auc is not None and ci else "")


def _ms(value) -> str:
    return "-" if value is None else f"{value:.1f} ms"


def table(metrics: dict, reference: dict | None = None) -> str:
    """A plain-text table of an `evaluate()` result."""
    columns = [("float32", metrics["float32"]), ("int8", metrics["int8"])]
    if reference:
        columns.append((reference["name"], reference))
    rows = [
        ("test images", lambda m: str(m.get("n", m.get("images", "-")))),
        ("ROC AUC (95 % interval)", _auc),
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
    gap = metrics.get("int8_minus_float_auc")
    if gap:
        notes.append(
            f"int8 - float AUC on test: {gap['difference']:+.4f} (paired 95 % interval {gap['ci95'][0]:+.4f} to "
            f"{gap['ci95'][1]:+.4f}); AUC intervals: {metrics.get('auc_interval', '95 %')}."
        )
    if metrics["int8"].get("decisions"):
        notes.append(f"int8 decisions on the test split, as served: {metrics['int8']['decisions']}.")
    calibration = metrics.get("calibration")
    if calibration:
        notes.append(
            f"Calibration (ECE, 10 bins, test): {calibration['ece10_test_before']:.3f} raw -> "
            f"{calibration['ece10_test_after']:.3f} calibrated (validation {calibration['ece10_validation_before']:.3f} "
            f"-> {calibration['ece10_validation_after']:.3f}); reliability diagram: {calibration.get('reliability_diagram')}."
        )
    domain = metrics.get("domain_check")
    if domain:
        flagged = sum(1 for row in domain["non_skin"] if row["decision"] == "out_of_domain")
        notes.append(
            f"Domain check (distance > {domain['threshold']}): {domain['test_flagged']} test photos flagged; "
            f"{flagged} of {len(domain['non_skin'])} non-skin photos flagged."
        )
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


def reliability_diagram(
    path, before: list[dict], after: list[dict], ece_before: float, ece_after: float, title: str = ""
) -> None:
    """A reliability diagram (share of positives against mean score per bin, before and after calibration,
    with each bin's photo count below) written as a PNG with matplotlib (the [analyst] extra)."""
    from pathlib import Path

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(6.4, 7.2), gridspec_kw={"height_ratios": [3, 1]}, sharex=True, layout="constrained"
    )
    top.plot([0, 1], [0, 1], color="0.6", linestyle="--", linewidth=1, label="perfectly calibrated")
    for rows, ece, colour, marker, name in (
        (before, ece_before, "#c0392b", "s", "raw int8 score"),
        (after, ece_after, "#1f5fa8", "o", "calibrated (Platt)"),
    ):
        kept = [r for r in rows if r["n"]]
        top.plot(
            [r["mean_probability"] for r in kept],
            [r["share_positive"] for r in kept],
            marker=marker,
            color=colour,
            label=f"{name}: ECE {ece:.3f}",
        )
    top.set_ylabel("share of melanomas in the bin")
    top.set_xlim(0, 1)
    top.set_ylim(0, 1)
    top.legend(loc="upper left")
    top.set_title(title, fontsize=10)
    width = 0.04
    centres = [(r["bin"][0] + r["bin"][1]) / 2 for r in before]
    bottom.bar([c - width / 2 for c in centres], [r["n"] for r in before], width, color="#c0392b", label="raw")
    bottom.bar([c + width / 2 for c in centres], [r["n"] for r in after], width, color="#1f5fa8", label="calibrated")
    bottom.set_xlabel("malignant score (10 equal-width bins)")
    bottom.set_ylabel("photos")
    bottom.legend(loc="upper right")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(fig)
