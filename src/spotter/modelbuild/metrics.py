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


def summarize(y_true: np.ndarray, probs: np.ndarray, *, threshold: float | None = None, positive: int = 1) -> dict:
    """Metrics for class probabilities `probs` [N, C]. Binary: AUC of the positive class, and the
    decision `score(positive) >= threshold`; multi-class: macro one-vs-rest AUC and argmax."""
    y_true, probs = np.asarray(y_true, np.int64), np.asarray(probs, np.float64)
    n_classes = probs.shape[1]
    if n_classes == 2:
        score = probs[:, positive]
        cut = 0.5 if threshold is None else threshold
        decided = score >= cut
        y_pred = np.where(decided, positive, 1 - positive)
        truth = y_true == positive
        return {
            "roc_auc": roc_auc(truth, score),
            "accuracy": float((y_pred == y_true).mean()),
            "sensitivity": sensitivity(truth, decided),
            "specificity": specificity(truth, decided),
            "threshold": cut,
            "confusion_matrix": confusion(y_true, y_pred, 2),
            "n": int(len(y_true)),
        }
    y_pred = probs.argmax(axis=1)
    aucs = [roc_auc(y_true == k, probs[:, k]) for k in range(n_classes)]
    return {
        "roc_auc": float(np.nanmean(aucs)),
        "accuracy": float((y_pred == y_true).mean()),
        "confusion_matrix": confusion(y_true, y_pred, n_classes),
        "n": int(len(y_true)),
    }
