"""BAQ end to end on a synthetic layer and on a small MLP trained on scikit-learn's digits."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from lossbook.losses import softmax
from lossbook.quant import (
    analytic_sensitivity,
    baq_quantize,
    gm_am_gain,
    gptq_quantize,
    hessian_from_inputs,
    integer_bits,
    layer_loss,
    official_levels,
    quantize_relu_mlp,
    relu_mlp_forward,
    synthetic_layer,
)


def _ratios(sigma, R, seed, m=64, n=128, N=2048):
    W, X = synthetic_layer(m, n, N, sigma, seed=seed)
    H = hessian_from_inputs(X)
    g = gptq_quantize(W, H, R)
    b = baq_quantize(W, X, R, H=H)
    return W, X, g, b


@pytest.mark.claim("baq_synthetic_gain")
@pytest.mark.claim("baq_gain_prediction")
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_baq_layer_loss_below_gptq_at_equal_bits(seed):
    with threadpool_limits(1):
        W, X, g, b = _ratios(1.0, 3, seed)
    assert b.bits.sum() == 3 * W.shape[1]  # equal average bits, exactly
    ratio = layer_loss(W, b.Q, X) / layer_loss(W, g.Q, X)
    assert ratio <= 0.5  # notes V2: ~0.15 at sigma = 1 (m=128, n=256); we measure ~0.2 at this size
    # the GM/AM prediction from GPTQ's own column losses has the right size (notes: factor 0.3..3)
    pred = gm_am_gain(g.column_loss)
    assert 0.3 <= ratio / pred <= 3.0


@pytest.mark.claim("baq_gain_prediction")
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_realised_gain_exceeds_gm_am_prediction_at_high_dispersion(seed):
    # The claim's second half: at sigma = 1.5 the realised ratio is *below* (better than) GM/AM of
    # GPTQ's column losses. Measured realised/predicted 0.62-0.68 for these seeds (0.31-0.68 over
    # seeds 0-5), so the strict inequality leaves a margin of a factor 1.5.
    with threadpool_limits(1):
        W, X, g, b = _ratios(1.5, 3, seed)
    ratio = layer_loss(W, b.Q, X) / layer_loss(W, g.Q, X)
    assert ratio < gm_am_gain(g.column_loss)


@pytest.mark.claim("baq_synthetic_gain")
def test_baq_no_worse_than_gptq_without_dispersion():
    with threadpool_limits(1):
        W, X, g, b = _ratios(0.0, 3, 0)
    assert layer_loss(W, b.Q, X) <= 1.0 * layer_loss(W, g.Q, X)


@pytest.mark.claim("baq_equal_loss_emerges")
def test_column_losses_equalise_after_allocation():
    with threadpool_limits(1):
        _, _, g, b = _ratios(1.0, 3, 0)
    live_g = g.column_loss > 0
    live_b = b.column_loss > 0
    spread_before = np.std(np.log2(g.column_loss[live_g]))
    spread_after = np.std(np.log2(b.column_loss[live_b]))
    assert spread_after <= 0.5 * spread_before  # notes V2: 2.38 -> 0.60


def test_analytic_sensitivity_matches_uniform_noise_monte_carlo():
    # E[ell_j] under uniform rounding noise on the grid of step r_i/(2^R-1): sum_i step_i^2/12 / (2 U_jj^2).
    # At R = 8 bits the rounding error is close to uniform, so measured GPTQ column losses should
    # average to ~C_j 4^-R (1-2^-R)^-2 within Monte Carlo error (m = 400 rows -> ~7% per column, we
    # compare the sum over 60 columns: ~1%, tolerance 10% for the residual non-uniformity).
    with threadpool_limits(1):
        W, X = synthetic_layer(400, 60, 2000, 0.5, seed=4)
        H = hessian_from_inputs(X)
        C = analytic_sensitivity(W, H)
        R = 8
        g = gptq_quantize(W, H, R)
    pred = C.sum() * 4.0**-R / (1 - 2.0**-R) ** 2
    assert g.column_loss.sum() == pytest.approx(pred, rel=0.1)  # measured ratio 1.025 (seeds 4-6: 1.01-1.03)


def test_dead_columns_get_no_bits_and_budget_holds():
    with threadpool_limits(1):
        W, X = synthetic_layer(32, 40, 800, 1.0, seed=5)
        X[[3, 7, 11]] = 0.0
        res = baq_quantize(W, X, 2.0)
    assert res.bits.sum() == 80 and np.all(res.bits[[3, 7, 11]] == 0)
    assert np.all(res.Q[:, [3, 7, 11]] == 0)


def test_baq_rejects_bad_input():
    W, X = synthetic_layer(8, 10, 100, 0.5, seed=0)
    with pytest.raises(ValueError, match="X must have shape"):
        baq_quantize(W, X[:-1], 2.0)
    with pytest.raises(ValueError, match="avg_bits"):
        baq_quantize(W, X, 9.0)
    with pytest.raises(ValueError, match="sensitivity"):
        baq_quantize(W, X, 2.0, sensitivity="oracle")
    with pytest.raises(ValueError, match="n \\* avg_bits must be an integer"):
        baq_quantize(W, X, 2.05)
    Ws, bs = [W.T[:, :5].T.copy(), np.ones((2, 5))], [np.zeros(5), np.zeros(2)]
    with pytest.raises(ValueError, match="biases\\[1\\]"):
        quantize_relu_mlp(Ws, [np.zeros(5), np.zeros(3)], X.T, 2.0)
    with pytest.raises(TypeError, match="b_max"):
        quantize_relu_mlp(Ws, bs, X.T, 2.0, b_max=8.5)


# ----------------------------------------------------------------------------------------------
# the digits MLP (the chapter's experiment, one training seed)
# ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def digits_mlp():
    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.4, random_state=0, stratify=y)
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier(hidden_layer_sizes=(64, 64), random_state=0, max_iter=200).fit(Xtr, ytr)
    Ws = [c.T for c in clf.coefs_]
    bs = list(clf.intercepts_)
    # our forward pass must reproduce the peer library's predictions
    np.testing.assert_allclose(softmax(relu_mlp_forward(Ws, bs, Xte), axis=1), clf.predict_proba(Xte),
                               rtol=0, atol=1e-12)
    return Ws, bs, Xtr, Xte, yte


def _cross_entropy(Ws, bs, X, y):
    z = relu_mlp_forward(Ws, bs, X)
    z = z - z.max(axis=1, keepdims=True)
    lp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-lp[np.arange(y.size), y].mean())


@pytest.mark.claim("baq_mlp_gain")
def test_baq_beats_gptq_on_the_digits_mlp_at_two_bits(digits_mlp):
    Ws, bs, Xtr, Xte, yte = digits_mlp
    with threadpool_limits(1):
        g = quantize_relu_mlp(Ws, bs, Xtr, 2.0, method="gptq")
        b = quantize_relu_mlp(Ws, bs, Xtr, 2.0, method="baq")
    assert g.avg_bits == b.avg_bits == 2.0
    assert sum(b.layer_losses) <= 0.5 * sum(g.layer_losses)  # measured ~0.28 (seed 0)
    ce_fp = _cross_entropy(Ws, bs, Xte, yte)
    excess_g = _cross_entropy(g.weights, bs, Xte, yte) - ce_fp
    excess_b = _cross_entropy(b.weights, bs, Xte, yte) - ce_fp
    assert excess_b < excess_g  # measured 0.004 vs 0.010 (seed 0)


@pytest.mark.claim("baq_mlp_high_bits")
@pytest.mark.parametrize("bits", [3.0, 4.0])
def test_digits_mlp_insensitive_at_three_and_four_bits(digits_mlp, bits):
    Ws, bs, Xtr, Xte, yte = digits_mlp
    acc_fp = np.mean(relu_mlp_forward(Ws, bs, Xte).argmax(1) == yte)
    with threadpool_limits(1):
        runs = {m: quantize_relu_mlp(Ws, bs, Xtr, bits, method=m) for m in ("gptq", "baq")}
    for out in runs.values():
        acc = np.mean(relu_mlp_forward(out.weights, bs, Xte).argmax(1) == yte)
        assert abs(acc - acc_fp) <= 0.02  # ~14 of 719 test images; chapter (5 seeds): mean change <= 0.002
    # "several times lower": chapter (5 seeds) measures ~0.23 at 3 bits and ~0.22 at 4 bits
    assert sum(runs["baq"].layer_losses) <= 0.5 * sum(runs["gptq"].layer_losses)


@pytest.mark.claim("baq_official_overshoot")
def test_official_rule_overshoots_the_budget_on_the_digits_mlp(digits_mlp):
    Ws, bs, Xtr, _, _ = digits_mlp
    with threadpool_limits(1):
        o = quantize_relu_mlp(Ws, bs, Xtr, 2.0, method="baq-official")
    # always-blank pixels and dead ReLU units give zero column losses, which drag the epsilon
    # geometric mean down; measured 2.37 bits for a target of 2
    assert o.avg_bits > 2.1
    # the same first layer, rule applied to live columns only: back within 0.1 bit of target
    H = hessian_from_inputs(Xtr.T)
    ell = gptq_quantize(Ws[0], H, 2).column_loss
    live = ell > 0
    assert (~live).sum() > 0
    N_fix = official_levels(ell, 2.0, live_mask=live)
    assert abs(np.mean(np.log2(N_fix)) - 2.0) <= 0.1
    b = integer_bits(ell * 16.0, 2.0)
    assert b.sum() == 2 * ell.size and np.all(b[~live] == 0)
