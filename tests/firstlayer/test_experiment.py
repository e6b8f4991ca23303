"""The NumPy training loop against the same network trained by PyTorch autograd; data helpers."""

import numpy as np
import pytest

from lossbook.firstlayer import (
    apply_contrast,
    contrast_digits,
    contrast_interval,
    contrast_study,
    epochs_to_accuracy,
    image_patches,
    tract_linear,
    train_first_layer_mlp,
)

torch = pytest.importorskip("torch")


def _torch_run(split, method, lr, epochs, seed, patch, hidden, batch_size, lam):
    """The same network, initialisation and minibatch order, trained with torch autograd and torch.optim.SGD.

    The initial weights and the permutations are re-drawn from the same NumPy generator in the same order
    as the library's loop (documented there: W1, W2, then one permutation per epoch); the gradients come
    from autograd (the first layer's from :func:`tract_linear` for TrAct), not from the loop's algebra.
    """
    rng = np.random.default_rng(seed)
    P = image_patches(split.X_train, patch)
    N, n_patches, n = P.shape
    k = int(split.y_train.max()) + 1
    width = n_patches * hidden
    W1 = rng.standard_normal((hidden, n)) * np.sqrt(2.0 / n)
    W2 = rng.standard_normal((k, width)) * np.sqrt(2.0 / width)
    first = (tract_linear(n, hidden, lam=lam, dtype=torch.float64) if method == "tract"
             else torch.nn.Linear(n, hidden, dtype=torch.float64))
    second = torch.nn.Linear(width, k, dtype=torch.float64)
    with torch.no_grad():
        first.weight.copy_(torch.from_numpy(W1))
        first.bias.zero_()
        second.weight.copy_(torch.from_numpy(W2))
        second.bias.zero_()
    params = list(first.parameters()) + list(second.parameters())
    opt = torch.optim.SGD(params, lr=lr)
    Pt = torch.from_numpy(P)
    yt = torch.from_numpy(split.y_train)

    def forward(x):
        return second(torch.relu(first(x)).reshape(x.shape[0], width))

    for _ in range(epochs):
        order = rng.permutation(N)
        for start in range(0, N, batch_size):
            idx = torch.from_numpy(order[start:start + batch_size])
            opt.zero_grad()
            torch.nn.functional.cross_entropy(forward(Pt[idx]), yt[idx]).backward()
            opt.step()
    with torch.no_grad():
        return float(torch.nn.functional.cross_entropy(forward(Pt), yt))


@pytest.mark.claim("tract_layer")
@pytest.mark.parametrize("method", ["sgd", "tract"])
@pytest.mark.parametrize("patch,hidden", [(4, 6), (8, 10)])
def test_numpy_loop_matches_torch_autograd(method, patch, hidden):
    split = contrast_digits(0.5, seed=3)
    run = train_first_layer_mlp(split.X_train, split.y_train, split.X_test, split.y_test, method=method, lr=0.2,
                                epochs=2, seed=11, patch=patch, hidden=hidden, batch_size=50, lam=0.1)
    ref = _torch_run(split, method, 0.2, 2, 11, patch, hidden, 50, 0.1)
    # two float64 implementations of ~50 identical SGD steps: rounding differences stay near 1e-13 unless a
    # ReLU flips, which the smooth data here do not provoke (measured agreement ~1e-14)
    np.testing.assert_allclose(run.train_loss[-1], ref, rtol=1e-9)


def test_methods_differ_and_runs_are_reproducible():
    s = contrast_digits(1.0, seed=0)
    kw = dict(lr=0.3, epochs=1, seed=2, patch=4, hidden=8)
    a = train_first_layer_mlp(s.X_train, s.y_train, s.X_test, s.y_test, method="sgd", **kw)
    b = train_first_layer_mlp(s.X_train, s.y_train, s.X_test, s.y_test, method="sgd", **kw)
    c = train_first_layer_mlp(s.X_train, s.y_train, s.X_test, s.y_test, method="tract", **kw)
    np.testing.assert_array_equal(a.train_loss, b.train_loss)
    assert a.train_loss[0] == c.train_loss[0]  # same initialisation
    assert a.train_loss[-1] != c.train_loss[-1]


def test_evaluation_grid():
    s = contrast_digits(0.0, seed=0)
    run = train_first_layer_mlp(s.X_train, s.y_train, s.X_test, s.y_test, method="sgd", lr=0.1, epochs=2,
                                seed=0, evals_per_epoch=4)
    np.testing.assert_allclose(run.epoch, np.arange(9) / 4)
    assert run.test_accuracy.shape == (9,) and np.all((run.test_accuracy >= 0) & (run.test_accuracy <= 1))


def test_image_patches_against_loops():
    X = np.arange(2 * 36, dtype=float).reshape(2, 36)
    P = image_patches(X, 3)
    img = X.reshape(2, 6, 6)
    for r in range(2):
        for c in range(2):
            np.testing.assert_array_equal(P[:, 2 * r + c], img[:, 3 * r:3 * r + 3, 3 * c:3 * c + 3].reshape(2, 9))
    with pytest.raises(ValueError, match="patch"):
        image_patches(X, 4)
    with pytest.raises(ValueError, match="square"):
        image_patches(np.ones((1, 5)), 1)


def test_contrast_helpers():
    assert contrast_interval(0.0) == (1.0, 1.0)
    lo, hi = contrast_interval(1.0)
    assert (lo, hi) == pytest.approx((0.2, 3.0))
    X = np.ones((500, 3))
    Xc, c = apply_contrast(X, lo, hi, seed=0)
    assert c.min() >= lo and c.max() <= hi
    np.testing.assert_allclose(Xc, c[:, None] * X)
    # uniform factors: mean (lo + hi) / 2 within 4 standard errors
    assert abs(c.mean() - 1.6) < 4 * (hi - lo) / np.sqrt(12 * 500)
    s = contrast_digits(1.0, seed=1, standardize=True)
    assert abs(s.X_train.mean()) < 1e-12 and abs(s.X_train.std() - 1) < 1e-12
    r = contrast_digits(1.0, seed=1)
    assert r.X_train.min() >= 0 and r.X_train.max() <= 3.0
    with pytest.raises(ValueError, match="spread"):
        contrast_interval(1.5)
    with pytest.raises(ValueError, match="high"):
        apply_contrast(X, 2.0, 1.0, seed=0)


def test_epochs_to_accuracy():
    assert epochs_to_accuracy([0, 0.25, 0.5], [0.2, 0.9, 0.95], 0.9) == 0.25
    assert epochs_to_accuracy([0, 1], [0.2, 0.3], 0.9) == float("inf")
    with pytest.raises(ValueError, match="same length"):
        epochs_to_accuracy([0, 1], [0.2], 0.9)
    with pytest.raises(ValueError, match="non-decreasing"):
        epochs_to_accuracy([1, 0], [0.2, 0.3], 0.9)


def test_study_is_paired_and_consistent_with_single_runs():
    st = contrast_study([0.0, 1.0], lr=[0.3, 0.1], epochs=1, seeds=[4], evals_per_epoch=2)
    s = contrast_digits(1.0, seed=4)
    run = train_first_layer_mlp(s.X_train, s.y_train, s.X_test, s.y_test, method="tract", lr=0.1, epochs=1,
                                seed=4 + 7919, patch=4, hidden=16, evals_per_epoch=2)
    np.testing.assert_array_equal(st.test_accuracy[1, 1, 0], run.test_accuracy)
    assert st.epochs_to_target[1, 1, 0] == epochs_to_accuracy(run.epoch, run.test_accuracy, 0.9)
    with pytest.raises(ValueError, match="lr"):
        contrast_study([0.0, 1.0], lr=[0.1, 0.2, 0.3], epochs=1, seeds=[0])


# The chapter's protocol (book/compression/tract.md), run once for the claim tests below: raw pixel scale and
# standardised images, MLP and 4x4 patch embedding, learning rate tuned for SGD on three seeds, eight
# evaluation seeds, 8 epochs, accuracy every quarter epoch.
SPREADS = np.array([0.0, 0.5, 1.0])
ARCHS = {"MLP": dict(patch=8, hidden=64), "patch embedding": dict(patch=4, hidden=16)}


@pytest.fixture(scope="module")
def protocol():
    from lossbook.firstlayer import tuned_contrast_study

    return {(arch, std): tuned_contrast_study(SPREADS, lr_grid=[0.1, 0.3, 1.0], tune_seeds=[100, 101, 102],
                                              eval_seeds=np.arange(8), epochs=8, standardize=std, **kw)
            for arch, kw in ARCHS.items() for std in (False, True)}


@pytest.mark.claim("tract_speedup_mlp")
@pytest.mark.claim("tract_speedup_patch")
@pytest.mark.parametrize("arch", list(ARCHS))
def test_tract_reaches_ninety_percent_sooner_on_the_raw_scale(protocol, arch):
    from lossbook.stats import paired_difference

    run = protocol[(arch, False)]
    assert run.censored == 0
    for i in range(SPREADS.size):
        d = paired_difference(run.times[0, i], run.times[1, i])  # SGD minus TrAct, paired by seed
        assert d.ci_low > 0, (arch, SPREADS[i], d)


@pytest.mark.claim("tract_standardised")
def test_gain_is_smaller_on_standardised_images(protocol):
    gain = {std: np.mean([(protocol[(a, std)].times[0] - protocol[(a, std)].times[1]).mean() for a in ARCHS])
            for std in (False, True)}
    assert gain[True] < gain[False], gain
