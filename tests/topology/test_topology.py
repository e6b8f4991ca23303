"""lossbook.topology against gudhi, cripser, scipy.ndimage labelling, Bauer-Lesnick stability and finite differences."""

from __future__ import annotations

import cripser
import gudhi
import numpy as np
import pytest
import torch
from scipy import ndimage

from lossbook.topology import (
    betti_matching,
    betti_matching_error,
    betti_matching_loss,
    betti_number_error,
    betti_numbers,
    cubical_barcode,
    fit_segmentation,
    persistence_pairs,
    vessel_mask,
)
from lossbook.topology.barcode import _ranks, _sweep, _sweep_reference


def _sorted(b):
    b = np.asarray(b, dtype=float).reshape(-1, 2)
    return b[np.lexsort((b[:, 1], b[:, 0]))] + 0.0


def _gudhi(f, dim, superlevel):
    cc = gudhi.CubicalComplex(top_dimensional_cells=-f if superlevel else f)
    cc.persistence()
    b = np.asarray(cc.persistence_intervals_in_dimension(dim)).reshape(-1, 2)
    b = b[b[:, 0] != b[:, 1]]
    return _sorted(-b if superlevel else b)


def _cripser(f, dim, superlevel):
    r = cripser.compute_ph(-f if superlevel else f, filtration="T", maxdim=1)
    b = r[r[:, 0] == dim][:, 1:3]
    b = b[b[:, 0] != b[:, 1]]
    return _sorted(-b if superlevel else b)


def _images(n):
    for s in range(n):
        rng = np.random.default_rng(s)
        h, w = (int(v) for v in rng.integers(1, 16, 2))
        # odd seeds: integers 0..3, so that most values are tied
        yield s, (rng.integers(0, 4, (h, w)).astype(float) if s % 2 else rng.normal(size=(h, w)))


@pytest.mark.claim("bm_oracle")
@pytest.mark.parametrize("superlevel", [False, True])
@pytest.mark.parametrize("dim", [0, 1])
def test_barcode_equals_gudhi_and_cripser(dim, superlevel):
    # exact equality of the multisets of (birth, death): all three return input values, no arithmetic
    for s, f in _images(120):
        ours = cubical_barcode(f, dim, superlevel=superlevel)
        np.testing.assert_array_equal(ours, _gudhi(f, dim, superlevel), err_msg=f"gudhi, image {s}")
        np.testing.assert_array_equal(ours, _cripser(f, dim, superlevel), err_msg=f"cripser, image {s}")


@pytest.mark.claim("bm_oracle")
def test_barcode_conventions_essential_class_and_zero_length():
    f = np.random.default_rng(3).integers(0, 3, (9, 11)).astype(float)
    b0 = cubical_barcode(f, 0)
    assert np.sum(np.isinf(b0[:, 1])) == 1 and b0[np.isinf(b0[:, 1])][0, 0] == f.min()
    assert np.all(b0[:, 0] < b0[:, 1])
    s0 = cubical_barcode(f, 0, superlevel=True)
    assert s0[np.isinf(s0[:, 1])][0].tolist() == [f.max(), -np.inf]
    assert np.all(s0[:, 0] > s0[:, 1])
    s1 = cubical_barcode(f, 1, superlevel=True)
    assert np.all(np.isfinite(s1)) and np.all(s1[:, 0] > s1[:, 1])
    # a constant image: one essential class, nothing else
    assert cubical_barcode(np.ones((4, 5)), 0).tolist() == [[1.0, np.inf]]
    assert cubical_barcode(np.ones((4, 5)), 1).shape == (0, 2)


def test_numba_sweep_equals_python_reference():
    for s in range(40):
        rng = np.random.default_rng(s)
        h, w = (int(v) for v in rng.integers(1, 9, 2))
        f = rng.integers(0, 3, h * w).astype(float)
        order, rank = _ranks(f)
        rb, rc = rng.permutation(h * w), rng.permutation(h * w)
        for dual in (False, True):
            o = order[::-1].copy() if dual else order
            for a, b in zip(_sweep(o, rank, rb, rc, h, w, dual), _sweep_reference(o, rank, rb, rc, h, w, dual),
                            strict=True):
                np.testing.assert_array_equal(a, b)


def test_betti_numbers_equal_scipy_labelling():
    eight = np.ones((3, 3))
    for s in range(60):
        rng = np.random.default_rng(s)
        m = rng.random((int(rng.integers(1, 14)), int(rng.integers(1, 14)))) < 0.5
        b0 = ndimage.label(m, structure=eight)[1]
        lab, n = ndimage.label(np.pad(~m, 1, constant_values=True))  # 4-connected background, outside included
        assert betti_numbers(m).tolist() == [b0, n - 1]


def test_pairs_index_the_barcode():
    f = np.random.default_rng(0).normal(size=(7, 6))
    p0, p1 = persistence_pairs(f)
    flat = f.ravel()
    np.testing.assert_array_equal(_sorted(np.c_[flat[p1[:, 0]], flat[p1[:, 1]]]), cubical_barcode(f, 1))
    assert p0[-1, 1] == -1 and flat[p0[-1, 0]] == f.min()


@pytest.mark.claim("bm_identity")
def test_matching_of_an_image_with_itself_is_complete_and_the_loss_is_symmetric():
    for s in range(30):
        rng = np.random.default_rng(s)
        f, g = rng.random((9, 8)), rng.random((9, 8))
        c = betti_matching(f, f).counts()
        assert np.all(c[:, 1:] == 0)
        assert float(betti_matching_loss(torch.tensor(f), f, superlevel=False)) == 0.0
        lfg = float(betti_matching_loss(torch.tensor(f), g, superlevel=False))
        lgf = float(betti_matching_loss(torch.tensor(g), f, superlevel=False))
        assert abs(lfg - lgf) <= 1e-12 * max(1.0, lfg)  # same terms summed in a different order


@pytest.mark.claim("bm_stability")
@pytest.mark.parametrize("superlevel", [False, True])
def test_matching_of_nearby_images_is_a_small_matching(superlevel):
    # Bauer-Lesnick: if |F - G| <= delta then C = min(F, G) has F - delta <= C <= F, the maps F_t -> C_t have
    # delta-trivial kernels and cokernels, so each induced matching moves endpoints by <= delta and leaves only
    # intervals of length <= 2 delta unmatched; composing two of them: matched endpoints within 2 delta,
    # unmatched intervals of length <= 4 delta.
    for s in range(40):
        rng = np.random.default_rng(s)
        delta = 0.02
        f = rng.random((12, 10))
        g = f + rng.uniform(-delta, delta, f.shape)
        m = betti_matching(f, g, superlevel=superlevel)
        sign = -1.0 if superlevel else 1.0
        fv, gv = sign * f.ravel(), sign * g.ravel()
        for d in (0, 1):
            pf, pg = m.pred_pairs[d], m.target_pairs[d]
            for i, j in m.matched[d]:
                assert abs(fv[pf[i, 0]] - gv[pg[j, 0]]) <= 2 * delta + 1e-12
                if pf[i, 1] >= 0:
                    assert pg[j, 1] >= 0 and abs(fv[pf[i, 1]] - gv[pg[j, 1]]) <= 2 * delta + 1e-12
            for pairs, vals, un in ((pf, fv, m.unmatched_pred[d]), (pg, gv, m.unmatched_target[d])):
                for i in un:
                    assert pairs[i, 1] >= 0 and vals[pairs[i, 1]] - vals[pairs[i, 0]] <= 4 * delta + 1e-12


@pytest.mark.claim("bm_error_bound")
def test_matching_error_bounds_the_betti_error_with_the_same_parity():
    for s in range(150):
        rng = np.random.default_rng(s)
        shape = tuple(int(v) for v in rng.integers(2, 14, 2))
        a = rng.random(shape) < rng.uniform(0.2, 0.7)
        b = rng.random(shape) < rng.uniform(0.2, 0.7)
        mu, beta = betti_matching_error(a, b), betti_number_error(a, b)
        assert np.all(mu >= beta) and np.all((mu - beta) % 2 == 0)
        np.testing.assert_array_equal(mu, betti_matching_error(b, a))
        assert np.all(betti_matching_error(a, a) == 0)


@pytest.mark.claim("bm_spatial")
def test_a_displaced_loop_has_equal_betti_numbers_but_unmatched_features():
    ring = np.zeros((12, 12))
    ring[1:6, 1:6] = 1
    ring[2:5, 2:5] = 0
    moved = np.roll(ring, (6, 6), axis=(0, 1))
    assert betti_number_error(ring, moved).tolist() == [0, 0]
    assert betti_matching_error(ring, moved).tolist() == [0, 2]
    overlap = np.roll(ring, (1, 1), axis=(0, 1))  # shifted by one pixel: the holes overlap and are matched
    assert betti_matching_error(ring, overlap).tolist() == [0, 0]


@pytest.mark.claim("bm_gradient")
def test_loss_gradient_equals_finite_differences_where_the_pairing_is_stable():
    # F on the grid k/64, G on the grid (k + 1/2)/64: all values of F, of G and of C = min(F, G) are distinct and
    # at least 1/128 apart, so no step of 1e-6 changes an order, hence the pairing; the loss is then a quadratic
    # in the critical values and central differences are exact up to rounding (1e-7 here).
    for s in range(5):
        rng = np.random.default_rng(s)
        f = rng.permutation(64).reshape(8, 8) / 64.0
        g = (rng.permutation(64).reshape(8, 8) + 0.5) / 64.0
        x = torch.tensor(f, requires_grad=True)
        betti_matching_loss(x, g, superlevel=bool(s % 2)).backward()
        fd = np.zeros_like(f)
        h = 1e-6
        for k in range(f.size):
            e = np.zeros(f.size)
            e[k] = h
            up = float(betti_matching_loss(torch.tensor(f + e.reshape(f.shape)), g, superlevel=bool(s % 2)))
            dn = float(betti_matching_loss(torch.tensor(f - e.reshape(f.shape)), g, superlevel=bool(s % 2)))
            fd.ravel()[k] = (up - dn) / (2 * h)
        np.testing.assert_allclose(x.grad.numpy(), fd, atol=1e-6)
        assert np.count_nonzero(x.grad.numpy()) > 0


@pytest.mark.claim("bm_experiment")
def test_betti_matching_term_lowers_topological_errors_on_vessel_masks():
    torch.set_num_threads(1)
    dice_mu, bm_mu, dice_d, bm_d = [], [], [], []
    for s in range(4):
        m = vessel_mask(32, 3, seed=s)
        a = fit_segmentation(m, loss="dice", seed=100 + s)
        b = fit_segmentation(m, loss="dice+bm", seed=100 + s)
        dice_mu.append(a.matching_error.sum())
        bm_mu.append(b.matching_error.sum())
        dice_d.append(a.dice)
        bm_d.append(b.dice)
    assert np.mean(bm_mu) < np.mean(dice_mu)
    assert np.mean(bm_d) > np.mean(dice_d) - 0.05  # Dice within 0.05


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="dim"):
        cubical_barcode(np.zeros((3, 3)), 2)
    with pytest.raises(ValueError, match="image"):
        cubical_barcode(np.zeros((3, 3, 3)), 0)
    with pytest.raises(ValueError, match="image"):
        cubical_barcode([[0.0, np.nan]], 0)
    with pytest.raises(ValueError, match="pred and target"):
        betti_matching(np.zeros((3, 3)), np.zeros((3, 4)))
    with pytest.raises(ValueError, match="pred_mask"):
        betti_matching_error([[0, 2]], [[0, 1]])
    with pytest.raises(TypeError, match="pred"):
        betti_matching_loss(np.zeros((2, 2)), np.zeros((2, 2)))
