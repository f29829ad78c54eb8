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


def _midranks(x: np.ndarray) -> np.ndarray:
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x), np.float64)
    _, first, counts = np.unique(x[order], return_index=True, return_counts=True)
    ranks[order] = np.repeat(first + (counts - 1) / 2.0 + 1.0, counts)
    return ranks


def delong(y_true: np.ndarray, scores: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """AUCs of several scores of the same cases and their covariance (DeLong, DeLong and
    Clarke-Pearson 1988, with Sun and Xu's midrank algorithm)."""
    y_true = np.asarray(y_true).astype(bool)
    pos, neg = np.asarray(scores, np.float64)[:, y_true], np.asarray(scores, np.float64)[:, ~y_true]
    m, n = pos.shape[1], neg.shape[1]
    aucs, v10, v01 = [], [], []
    for p, q in zip(pos, neg):
        rank_all = _midranks(np.concatenate([p, q]))
        rank_p, rank_q = _midranks(p), _midranks(q)
        aucs.append((rank_all[:m].sum() - m * (m + 1) / 2.0) / (m * n))
        v10.append((rank_all[:m] - rank_p) / n)  # each positive: share of negatives below it
        v01.append(1.0 - (rank_all[m:] - rank_q) / m)  # each negative: share of positives above it
    cov = np.atleast_2d(np.cov(np.asarray(v10))) / m + np.atleast_2d(np.cov(np.asarray(v01))) / n
    return np.asarray(aucs), cov


def auc_interval(y_true: np.ndarray, score: np.ndarray, z: float = 1.959964) -> list[float]:
    """95 % DeLong interval of the ROC AUC (normal approximation on the AUC, clipped to 0..1)."""
    aucs, cov = delong(y_true, [score])
    half = z * float(np.sqrt(max(cov[0, 0], 0.0)))
    return [float(max(0.0, aucs[0] - half)), float(min(1.0, aucs[0] + half))]


def auc_difference(y_true: np.ndarray, first: np.ndarray, second: np.ndarray, z: float = 1.959964) -> dict:
    """AUC(first) - AUC(second) on the same cases, with its paired 95 % DeLong interval."""
    aucs, cov = delong(y_true, [first, second])
    diff = float(aucs[0] - aucs[1])
    half = z * float(np.sqrt(max(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1], 0.0)))
    return {"difference": diff, "ci95": [diff - half, diff + half]}


def expected_calibration_error(y_true: np.ndarray, probability: np.ndarray, bins: int = 10) -> float:
    """ECE of a positive-class probability: 10 equal-width bins of the probability, the mean of
    |share of positives - mean probability| per bin weighted by the bin's size."""
    y_true, probability = np.asarray(y_true).astype(float), np.asarray(probability, np.float64)
    index = np.minimum((probability * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        inside = index == b
        if inside.any():
            total += inside.mean() * abs(y_true[inside].mean() - probability[inside].mean())
    return float(total)


def reliability_bins(y_true: np.ndarray, probability: np.ndarray, bins: int = 10) -> list[dict]:
    """Per equal-width bin of the probability: how many, their mean probability and share of positives."""
    y_true, probability = np.asarray(y_true).astype(float), np.asarray(probability, np.float64)
    index = np.minimum((probability * bins).astype(int), bins - 1)
    rows = []
    for b in range(bins):
        inside = index == b
        rows.append(
            {
                "bin": [b / bins, (b + 1) / bins],
                "n": int(inside.sum()),
                "mean_probability": round(float(probability[inside].mean()), 4) if inside.any() else None,
                "share_positive": round(float(y_true[inside].mean()), 4) if inside.any() else None,
            }
        )
    return rows


def clipped_logit(p: np.ndarray, epsilon: float = 1e-6) -> np.ndarray:
    """log(p / (1 - p)) with p clipped to [epsilon, 1 - epsilon], as the runtime's calibration does."""
    p = np.clip(np.asarray(p, np.float64), epsilon, 1.0 - epsilon)
    return np.log(p / (1.0 - p))


def platt(x: np.ndarray, a: float, b: float) -> np.ndarray:
    """sigmoid(a * x + b) for logits x."""
    z = a * np.asarray(x, np.float64) + b
    return np.where(z >= 0, 1.0 / (1.0 + np.exp(-np.abs(z))), np.exp(-np.abs(z)) / (1.0 + np.exp(-np.abs(z))))


def fit_platt(y_true: np.ndarray, logits: np.ndarray, steps: int = 100) -> tuple[float, float]:
    """Platt scaling: a, b minimising the log loss of sigmoid(a * logit + b) (Newton's method; the
    plain 0/1 targets, as a calibration on a few hundred photos is fitted)."""
    y, x = np.asarray(y_true, np.float64), np.asarray(logits, np.float64)
    a, b = 1.0, 0.0
    for _ in range(steps):
        p = platt(x, a, b)
        w = np.maximum(p * (1 - p), 1e-12)
        gradient = np.array([np.sum((p - y) * x), np.sum(p - y)])
        hessian = np.array([[np.sum(w * x * x), np.sum(w * x)], [np.sum(w * x), np.sum(w)]]) + 1e-9 * np.eye(2)
        step = np.linalg.solve(hessian, gradient)
        a, b = a - step[0], b - step[1]
        if np.abs(step).max() < 1e-10:
            break
    return float(a), float(b)
