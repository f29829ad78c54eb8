"""Classification metrics in plain NumPy: ROC AUC, a threshold chosen on validation, confusion."""

from __future__ import annotations

import numpy as np


def roc_auc(y_true: np.ndarray, score: np.ndarray) -> float:
    """Probability that a random positive outranks a random negative (ties count half)."""
    y_true, score = np.asarray(y_true).astype(bool), np.asarray(score, np.float64)
    pos, neg = score[y_true], score[~y_true]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    order = np.argsort(score, kind="mergesort")
    ranks = np.empty(len(score), np.float64)
    sorted_scores = score[order]
    # average ranks over ties
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    avg = first + (counts - 1) / 2.0 + 1.0
    ranks[order] = np.repeat(avg, counts)
    return float((ranks[y_true].sum() - len(pos) * (len(pos) + 1) / 2.0) / (len(pos) * len(neg)))


def choose_threshold(y_true: np.ndarray, score: np.ndarray) -> float:
    """The cut on `score` that maximises Youden's J (sensitivity + specificity - 1): use on validation only."""
    y_true, score = np.asarray(y_true).astype(bool), np.asarray(score, np.float64)
    candidates = np.unique(score)
    best, best_j = 0.5, -np.inf
    for i, cut in enumerate(candidates):
        predicted = score >= cut
        j = sensitivity(y_true, predicted) + specificity(y_true, predicted) - 1.0
        if j > best_j + 1e-12:
            # midway to the next lower score, so a tiny numeric shift does not flip the decision
            below = candidates[i - 1] if i > 0 else cut
            best, best_j = float((cut + below) / 2.0), j
    return best


def threshold_for_sensitivity(y_true: np.ndarray, score: np.ndarray, target: float) -> float:
    """The highest cut on `score` whose sensitivity is at least `target` (on validation only), placed
    midway to the next lower score so that a tiny numeric shift does not flip a decision."""
    y_true, score = np.asarray(y_true).astype(bool), np.asarray(score, np.float64)
    positives = np.sort(score[y_true])[::-1]
    if not len(positives):
        return 0.5
    need = max(1, int(np.ceil(target * len(positives) - 1e-9)))
    cut = float(positives[min(need, len(positives)) - 1])
    lower = score[score < cut]
    return float((cut + lower.max()) / 2.0) if len(lower) else cut


def wilson_interval(successes: int, n: int, z: float = 1.959964) -> list[float]:
    """95 % Wilson score interval of a proportion successes / n (sound at small n and near 0 or 1)."""
    if n <= 0:
        return [0.0, 1.0]
    p = successes / n
    denominator = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return [float(max(0.0, centre - half)), float(min(1.0, centre + half))]


def sensitivity(y_true: np.ndarray, predicted: np.ndarray) -> float:
    y_true, predicted = np.asarray(y_true).astype(bool), np.asarray(predicted).astype(bool)
    return float((predicted & y_true).sum() / max(1, y_true.sum()))


def specificity(y_true: np.ndarray, predicted: np.ndarray) -> float:
    y_true, predicted = np.asarray(y_true).astype(bool), np.asarray(predicted).astype(bool)
    return float((~predicted & ~y_true).sum() / max(1, (~y_true).sum()))


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> list[list[int]]:
    """Rows: true class, columns: predicted class."""
    matrix = np.zeros((n_classes, n_classes), np.int64)
    np.add.at(matrix, (np.asarray(y_true, np.int64), np.asarray(y_pred, np.int64)), 1)
    return matrix.tolist()


def summarize(
    y_true: np.ndarray,
    probs: np.ndarray,
    *,
    threshold: float | None = None,
    positive: int = 1,
    band: tuple[float, float] | None = None,
) -> dict:
    """Metrics for class probabilities `probs` [N, C]. Binary: AUC of the positive class, and the
    decision `score(positive) >= threshold` (sensitivity and specificity with 95 % Wilson intervals;
    with an uncertain `band`, how many scores fall inside it and the accuracy of the others);
    multi-class: macro one-vs-rest AUC and argmax."""
    y_true, probs = np.asarray(y_true, np.int64), np.asarray(probs, np.float64)
    n_classes = probs.shape[1]
    if n_classes == 2:
        score = probs[:, positive]
        cut = 0.5 if threshold is None else threshold
        decided = score >= cut
        y_pred = np.where(decided, positive, 1 - positive)
        truth = y_true == positive
        result = {
            "roc_auc": roc_auc(truth, score),
            "accuracy": float((y_pred == y_true).mean()),
            "sensitivity": sensitivity(truth, decided),
            "sensitivity_ci95": wilson_interval(int((decided & truth).sum()), int(truth.sum())),
            "specificity": specificity(truth, decided),
            "specificity_ci95": wilson_interval(int((~decided & ~truth).sum()), int((~truth).sum())),
            "threshold": cut,
            "confusion_matrix": confusion(y_true, y_pred, 2),
            "n": len(y_true),
        }
        if band is not None:
            inside = (score >= band[0]) & (score < band[1])
            result.update(
                uncertain_band=[float(band[0]), float(band[1])],
                uncertain=int(inside.sum()),
                accuracy_outside_band=float((y_pred == y_true)[~inside].mean()) if (~inside).any() else None,
            )
        return result
    y_pred = probs.argmax(axis=1)
    aucs = [roc_auc(y_true == k, probs[:, k]) for k in range(n_classes)]
    return {
        "roc_auc": float(np.nanmean(aucs)),
        "accuracy": float((y_pred == y_true).mean()),
        "confusion_matrix": confusion(y_true, y_pred, n_classes),
        "n": len(y_true),
    }
