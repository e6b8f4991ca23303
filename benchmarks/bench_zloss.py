"""Z-loss and its gradient in the hidden layer, O(d^2) per example (spherical family), against
PyTorch's log-softmax cross-entropy with its gradient (the loss a user would otherwise call).

For D classes, d = 64 hidden units and a batch of n = 128: ours evaluates the loss and dL/dh from
W^T W and W^T 1 (precomputed once per weight update, which the timing excludes, as in a training
loop that maintains them); the peer forms the D logits, applies ``log_softmax`` and back-propagates
to h (``torch.nn.functional.cross_entropy`` + ``torch.autograd.grad``, float64, one thread for both). The
check compares our values with the explicit Z-loss of the D outputs (``z_loss``, ``z_loss_grad``).
The ratio should grow roughly like D.
"""

from functools import cache

import numpy as np

from benchmarks.harness import Case, Scaling
from lossbook._torch import require_torch
from lossbook.zloss import spherical_cache, z_loss, z_loss_grad, z_loss_spherical

N, DIM = 128, 64


@cache
def _problem(D, seed):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((D, DIM)) / np.sqrt(DIM)
    H = rng.standard_normal((N, DIM))
    y = rng.integers(0, D, N)
    return W, H, y, spherical_cache(W)


def _ours(D, seed):
    W, H, y, c = _problem(D, seed)
    return z_loss_spherical(H, y, c)


def _peer(D, seed):
    torch = require_torch()
    W, H, y, _ = _problem(D, seed)
    Wt, yt = torch.as_tensor(W), torch.as_tensor(y)
    Ht = torch.as_tensor(H).requires_grad_(True)
    loss = torch.nn.functional.cross_entropy(Ht @ Wt.T, yt, reduction="none")
    (grad,) = torch.autograd.grad(loss.sum(), Ht)
    return loss.detach().numpy(), grad.numpy()


def _check(D, seed):
    def check(ours, peer):
        W, H, y, _ = _problem(D, seed)
        O = H @ W.T
        # mu / sigma = O(1) here: the spherical form agrees with the explicit one to ~1e-12
        np.testing.assert_allclose(ours.loss, z_loss(O, y), rtol=1e-9)
        np.testing.assert_allclose(ours.grad_hidden, z_loss_grad(O, y) @ W, rtol=1e-6, atol=1e-12)
        assert np.all(np.isfinite(peer[0])) and np.all(np.isfinite(peer[1]))
    return check


def _case(D, seed):
    return Case("zloss.z_loss_spherical (loss + dL/dh)", "PyTorch log_softmax CE + autograd",
                f"D = {D:.0e}, d = {DIM}, n = {N}", lambda: _ours(D, seed), lambda: _peer(D, seed),
                _check(D, seed), repeats=5, kind="external", threads=1)


CASES = [_case(10**3, 0), _case(10**4, 1), _case(10**5, 2)]

# the time of the spherical form should not grow with D: its operation count per batch is n (d^2 + 4 d)
SCALING = [
    Scaling(f"zloss.z_loss_spherical (n = {N}, d = {DIM})", "D", (10**3, 10**4, 3 * 10**4, 10**5),
            lambda D: (lambda: _ours(D, 3)), lambda D: N * (DIM**2 + 4 * DIM), repeats=5),
]
