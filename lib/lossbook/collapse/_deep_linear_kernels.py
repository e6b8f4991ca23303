"""Value and gradient of the regularised deep-linear objective (MSE or cross-entropy).

The parameters of a depth-``M`` linear head on unconstrained features are packed into one flat
vector ``theta = [H (d x N), hidden (M-1 x d x d), last (K x d), bias (K, optional)]`` so that the
SciPy L-BFGS driver and the Numba kernel share one layout without typed lists. The objective is

    f = (1/N) sum_i loss(W_M ... W_1 h_i + b, y_i) + sum_m lam[m]/2 ||W_m||_F^2 + lam_h/2 ||H||_F^2

with ``loss`` the half squared error against the one-hot label (MSE) or the cross-entropy (CE);
see the chapter ``book/collapse/nc-deep-linear`` (equations :eq:`ncd-mse` and :eq:`ncd-ce`).
``_value_and_grad_numba`` is the hot kernel; ``_value_and_grad_numpy`` is the plain NumPy
reference a test pins it to.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__: list[str] = []

LOSS_CODES = {"mse": 0, "ce": 1}


def n_params(d: int, n: int, k: int, depth: int, bias: bool) -> int:
    """Length of the flat parameter vector."""
    return d * n + (depth - 1) * d * d + k * d + (k if bias else 0)


def unpack(theta: np.ndarray, d: int, n: int, k: int, depth: int, bias: bool):
    """Views ``(H, hidden, last, b)`` into ``theta`` (``b`` is a zero vector when ``bias`` is False)."""
    o = 0
    h = theta[o:o + d * n].reshape(d, n)
    o += d * n
    hidden = theta[o:o + (depth - 1) * d * d].reshape(depth - 1, d, d)
    o += (depth - 1) * d * d
    last = theta[o:o + k * d].reshape(k, d)
    o += k * d
    b = theta[o:o + k] if bias else np.zeros(k)
    return h, hidden, last, b


def pack(h, hidden, last, b, bias: bool) -> np.ndarray:
    parts = [np.ravel(h), np.ravel(hidden), np.ravel(last)]
    if bias:
        parts.append(np.ravel(b))
    return np.concatenate(parts).astype(np.float64)


@njit(cache=True)
def _value_and_grad_numba(theta, d, n, k, depth, labels, lam, lam_h, bias, loss_code):
    o = 0
    h = theta[o:o + d * n].reshape((d, n))
    o += d * n
    hidden = theta[o:o + (depth - 1) * d * d].reshape((depth - 1, d, d))
    o += (depth - 1) * d * d
    last = theta[o:o + k * d].reshape((k, d))
    o += k * d
    grad = np.zeros_like(theta)
    g_h = grad[0:d * n].reshape((d, n))
    g_hidden = grad[d * n:d * n + (depth - 1) * d * d].reshape((depth - 1, d, d))
    g_last = grad[d * n + (depth - 1) * d * d:d * n + (depth - 1) * d * d + k * d].reshape((k, d))

    # forward pass, keeping the activations A_0 = H, A_m = W_m A_{m-1}
    acts = np.empty((depth, d, n))
    acts[0] = h
    for m in range(depth - 1):
        acts[m + 1] = np.dot(np.ascontiguousarray(hidden[m]), np.ascontiguousarray(acts[m]))
    z = np.dot(np.ascontiguousarray(last), np.ascontiguousarray(acts[depth - 1]))
    if bias:
        for c in range(k):
            z[c, :] += theta[o + c]

    f = 0.0
    gz = np.empty((k, n))
    inv_n = 1.0 / n
    if loss_code == 0:
        for i in range(n):
            for c in range(k):
                r = z[c, i] - (1.0 if labels[i] == c else 0.0)
                f += 0.5 * r * r
                gz[c, i] = r * inv_n
    else:
        for i in range(n):
            mx = z[0, i]
            for c in range(1, k):
                if z[c, i] > mx:
                    mx = z[c, i]
            s = 0.0
            for c in range(k):
                s += np.exp(z[c, i] - mx)
            lse = mx + np.log(s)
            f += lse - z[labels[i], i]
            for c in range(k):
                gz[c, i] = (np.exp(z[c, i] - lse) - (1.0 if labels[i] == c else 0.0)) * inv_n
    f *= inv_n

    # regularisers and backward pass: G <- W_m^T G
    g_last[:, :] = np.dot(gz, np.ascontiguousarray(acts[depth - 1].T)) + lam[depth - 1] * last
    f += 0.5 * lam[depth - 1] * np.sum(last * last)
    if bias:
        for c in range(k):
            grad[o + c] = np.sum(gz[c, :])
    g = np.dot(np.ascontiguousarray(last.T), gz)
    for m in range(depth - 2, -1, -1):
        w = np.ascontiguousarray(hidden[m])
        g_hidden[m] = np.dot(g, np.ascontiguousarray(acts[m].T)) + lam[m] * w
        f += 0.5 * lam[m] * np.sum(w * w)
        g = np.dot(np.ascontiguousarray(w.T), g)
    g_h[:, :] = g + lam_h * h
    f += 0.5 * lam_h * np.sum(h * h)
    return f, grad


def _value_and_grad_numpy(theta, d, n, k, depth, labels, lam, lam_h, bias, loss_code):
    h, hidden, last, b = unpack(np.asarray(theta, dtype=np.float64), d, n, k, depth, bool(bias))
    weights = [hidden[m] for m in range(depth - 1)] + [last]
    acts = [h]
    for w in weights[:-1]:
        acts.append(w @ acts[-1])
    z = last @ acts[-1] + b[:, None]
    y = np.zeros((k, n))
    y[labels, np.arange(n)] = 1.0
    if loss_code == 0:
        r = z - y
        f = 0.5 * np.sum(r * r) / n
        gz = r / n
    else:
        mx = z.max(axis=0, keepdims=True)
        lse = mx + np.log(np.exp(z - mx).sum(axis=0, keepdims=True))
        f = float(np.sum(lse) - np.sum(z[labels, np.arange(n)])) / n
        gz = (np.exp(z - lse) - y) / n
    grads = [None] * depth
    g = gz
    for m in range(depth - 1, -1, -1):
        grads[m] = g @ acts[m].T + lam[m] * weights[m]
        f += 0.5 * lam[m] * np.sum(weights[m] ** 2)
        g = weights[m].T @ g
    g_h = g + lam_h * h
    f += 0.5 * lam_h * np.sum(h * h)
    g_hidden = np.array(grads[:-1]).reshape(depth - 1, d, d) if depth > 1 else np.zeros((0, d, d))
    return float(f), pack(g_h, g_hidden, grads[-1], gz.sum(axis=1), bool(bias))
