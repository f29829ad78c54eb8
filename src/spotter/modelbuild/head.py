"""The dense softmax head, fitted in closed form-like fashion on cached features (NumPy only).

Multinomial logistic regression on standardised features: class-weighted cross-entropy plus an
L2 penalty, full-batch Adam for a fixed number of steps from zero weights. Deterministic, and
a second or two on a CPU; the result becomes the Keras model's final Dense layer.
"""

from __future__ import annotations

import numpy as np


def fit_softmax(
    x: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    *,
    l2: float,
    class_weight: dict[int, float],
    steps: int = 200,
    lr: float = 0.01,
) -> tuple[np.ndarray, np.ndarray]:
    """Weights [features, classes] and bias [classes] for already-standardised `x`."""
    x = np.asarray(x, np.float64)
    n, k = x.shape
    onehot = np.eye(n_classes)[y]
    sample_weight = np.asarray([class_weight[int(c)] for c in y])[:, None]
    params = [np.zeros((k, n_classes)), np.zeros(n_classes)]
    moments = [[np.zeros_like(p), np.zeros_like(p)] for p in params]
    for t in range(1, steps + 1):
        logits = x @ params[0] + params[1]
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        probs /= probs.sum(axis=1, keepdims=True)
        residual = sample_weight * (probs - onehot) / n
        grads = [x.T @ residual + l2 * params[0], residual.sum(axis=0)]
        for p, g, m in zip(params, grads, moments):
            m[0] = 0.9 * m[0] + 0.1 * g
            m[1] = 0.999 * m[1] + 0.001 * g * g
            p -= lr * (m[0] / (1 - 0.9**t)) / (np.sqrt(m[1] / (1 - 0.999**t)) + 1e-8)
    return params[0], params[1]


def softmax_probs(x: np.ndarray, weights: np.ndarray, bias: np.ndarray) -> np.ndarray:
    logits = np.asarray(x, np.float64) @ weights + bias
    logits -= logits.max(axis=1, keepdims=True)
    probs = np.exp(logits)
    return probs / probs.sum(axis=1, keepdims=True)
