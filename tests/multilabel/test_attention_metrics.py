"""Code-wise attention properties, token contributions, and the metrics against scikit-learn."""

import numpy as np
import pytest
from sklearn.metrics import f1_score, roc_auc_score

from lossbook.multilabel import codewise_attention, multilabel_auc, multilabel_f1, per_code_f1, token_contributions


def _setup(rng, B=3, S=7, d=4, k=5, L=6):
    return rng.standard_normal((B, S, d)), rng.standard_normal((k, d)), rng.standard_normal((L, k))


@pytest.mark.claim("ticd_attention")
def test_attention_rows_padding_and_permutation():
    rng = np.random.default_rng(0)
    H, W1, U = _setup(rng)
    mask = np.ones((3, 7), bool)
    mask[1, 5:] = False
    V, a = codewise_attention(H, mask, W1, U)
    np.testing.assert_allclose(a.sum(axis=2), 1.0, rtol=1e-14)
    assert np.all(a[1, :, 5:] == 0.0)
    # appending padding (any content) changes nothing
    Hp = np.concatenate([H, 100 * rng.standard_normal((3, 4, 4))], axis=1)
    mp = np.concatenate([mask, np.zeros((3, 4), bool)], axis=1)
    Vp, ap = codewise_attention(Hp, mp, W1, U)
    np.testing.assert_allclose(Vp, V, rtol=1e-13)
    np.testing.assert_allclose(ap[:, :, :7], a, rtol=1e-13)
    # permuting the codes with their queries permutes the outputs
    perm = rng.permutation(6)
    Vq, aq = codewise_attention(H, mask, W1, U[perm])
    np.testing.assert_allclose(Vq, V[:, perm], rtol=1e-13)
    # the contributions add up to the logit exactly
    w = rng.standard_normal((6, 4))
    c = token_contributions(a, H, w)
    np.testing.assert_allclose(c.sum(axis=2), np.einsum("bld,ld->bl", V, w), rtol=1e-12, atol=1e-14)


@pytest.mark.claim("ticd_attention")
def test_argmax_attention_need_not_be_the_largest_contribution():
    # one code, two tokens: the attended token has a negative value along w, the other a positive one
    H = np.array([[[-1.0, 0.0], [2.0, 0.0]]])
    a = np.array([[[0.6, 0.4]]])
    c = token_contributions(a, H, np.array([[1.0, 0.0]]))
    assert a[0, 0].argmax() == 0 and c[0, 0].argmax() == 1
    # and a score that ignores the tokens gives uniform attention
    _, a2 = codewise_attention(H, np.ones((1, 2), bool), np.zeros((1, 2)), np.ones((1, 1)))
    np.testing.assert_allclose(a2, 0.5)


def test_attention_bad_inputs():
    rng = np.random.default_rng(1)
    H, W1, U = _setup(rng)
    with pytest.raises(ValueError, match="mask"):
        codewise_attention(H, np.zeros((3, 7), bool), W1, U)
    with pytest.raises(ValueError, match="W1"):
        codewise_attention(H, np.ones((3, 7), bool), W1[:, :3], U)
    with pytest.raises(ValueError, match="U"):
        codewise_attention(H, np.ones((3, 7), bool), W1, U[:, :2])


@pytest.mark.claim("ticd_metrics")
def test_metrics_equal_scikit_learn():
    rng = np.random.default_rng(2)
    for _ in range(20):
        y = (rng.random((40, 6)) < rng.uniform(0.05, 0.6, 6)).astype(int)
        y[:2] = [1, 0, 1, 0, 1, 0], [0, 1, 0, 1, 0, 1]  # both classes for every code
        s = np.round(rng.standard_normal((40, 6)) + y, 1)  # rounding makes ties
        p = (s > 0.5).astype(int)
        mi, ma = multilabel_f1(y, p)
        assert mi == pytest.approx(f1_score(y, p, average="micro", zero_division=0), rel=1e-12)
        assert ma == pytest.approx(f1_score(y, p, average="macro", zero_division=0), rel=1e-12)
        np.testing.assert_allclose(per_code_f1(y, p), f1_score(y, p, average=None, zero_division=0), rtol=1e-12)
        ami, ama = multilabel_auc(y, s)
        assert ami == pytest.approx(roc_auc_score(y.ravel(), s.ravel()), rel=1e-12)
        assert ama == pytest.approx(roc_auc_score(y, s, average="macro"), rel=1e-12)
    with pytest.raises(ValueError, match="both"):
        multilabel_auc(np.ones((3, 2)), np.zeros((3, 2)))
