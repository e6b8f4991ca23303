"""FTWT's mask loss, the decoupled training's exact gradient separation, and the study's bookkeeping."""

import numpy as np
import pytest

from lossbook.pruning import gated_digits_cnn, mask_bce_loss, run_ftwt

torch = pytest.importorskip("torch")


def test_mask_loss_against_a_numpy_formula():
    rng = np.random.default_rng(0)
    z = [rng.standard_normal((5, 4)) * 3, rng.standard_normal((5, 7))]
    t = [(rng.random((5, 4)) < 0.5).astype(float), (rng.random((5, 7)) < 0.3).astype(float)]

    def bce(zz, tt):  # log(1 + e^z) - t z, in the stable form
        return np.maximum(zz, 0) - tt * zz + np.log1p(np.exp(-np.abs(zz)))

    expected = 10.0 * np.mean([bce(zz, tt).mean(axis=0).sum() for zz, tt in zip(z, t, strict=True)])
    got = mask_bce_loss([torch.from_numpy(a) for a in z], [torch.from_numpy(a) for a in t])
    np.testing.assert_allclose(float(got), expected, rtol=1e-12)
    with pytest.raises(ValueError, match="targets"):
        mask_bce_loss([torch.zeros(2, 2)], [torch.full((2, 2), 0.5)])
    with pytest.raises(ValueError, match="shape"):
        mask_bce_loss([torch.zeros(2, 2)], [torch.zeros(2, 3)])
    with pytest.raises(ValueError, match="lam"):
        mask_bce_loss([torch.zeros(2, 2)], [torch.zeros(2, 2)], lam=-1.0)


@pytest.mark.claim("ftwt_decoupled")
def test_decoupled_mode_separates_the_two_losses_exactly():
    torch.manual_seed(0)
    net = gated_digits_cnn()
    net.gated = True
    x = torch.randn(8, 1, 8, 8)
    y = torch.randint(0, 10, (8,))
    out, layers = net.forward_all(x)
    targets = [(torch.rand_like(z) < 0.5).float() for z, _, _ in layers]
    backbone = [net.conv1.weight, net.conv2.weight, net.conv3.weight, net.fc.weight]
    gates = [net.gate2.weight, net.gate3.weight]
    g_mask = torch.autograd.grad(mask_bce_loss([z for z, _, _ in layers], targets), backbone + gates,
                                 allow_unused=True)
    assert all(g is None or torch.count_nonzero(g) == 0 for g in g_mask[:4])   # mask loss: backbone untouched
    assert all(g is not None and torch.count_nonzero(g) > 0 for g in g_mask[4:])
    g_task = torch.autograd.grad(torch.nn.functional.cross_entropy(out, y), backbone + gates, allow_unused=True)
    assert all(g is None or torch.count_nonzero(g) == 0 for g in g_task[4:])   # task loss: gates untouched
    assert all(g is not None and torch.count_nonzero(g) > 0 for g in g_task[:4])


def test_masks_multiply_the_outputs_and_the_dense_network_ignores_gates():
    torch.manual_seed(1)
    net = gated_digits_cnn()
    x = torch.randn(4, 1, 8, 8)
    with torch.no_grad():
        dense = net(x)
        net.gate2.bias.fill_(-100.0)  # every conv2 channel off
        net.gated = True
        off = net(x)
    assert not torch.allclose(dense, off)
    # with conv2 off, conv3 sees zeros: its output is relu(bias), the same for every input
    torch.testing.assert_close(off, off[:1].expand_as(off))


def test_run_bookkeeping():
    run = run_ftwt([1.0, 0.5], seed=3, pretrain_epochs=1, gate_epochs=1)
    assert run.dense_macs == 16 * 8 * 8 * 9 + 16 * 32 * 8 * 8 * 9 + 32 * 32 * 4 * 4 * 9
    assert np.all(run.estimated_macs <= run.dense_macs) and np.all(run.realised_macs <= run.dense_macs)
    assert run.estimated_macs[1] <= run.estimated_macs[0]  # the targets are monotone in r
    assert np.all((run.gate_accuracy >= 0) & (run.gate_accuracy <= 1))
    again = run_ftwt([1.0, 0.5], seed=3, pretrain_epochs=1, gate_epochs=1)
    np.testing.assert_array_equal(run.realised_macs, again.realised_macs)  # reproducible
    with pytest.raises(ValueError, match="r_values"):
        run_ftwt([1.5], seed=0)


@pytest.mark.claim("ftwt_estimate")
@pytest.mark.claim("ftwt_gate_accuracy")
@pytest.mark.claim("ftwt_accuracy")
def test_chapter_study_estimate_gate_agreement_and_accuracy():
    """The chapter's study (book/compression/ftwt-dynamic-pruning.md), same settings."""
    from lossbook.pruning import ftwt_study
    from lossbook.stats import paired_difference

    st = ftwt_study([1.0, 0.85, 0.7], np.arange(4), pretrain_epochs=12, gate_epochs=6)
    gap = (st.realised_macs - st.estimated_macs) / st.dense_macs
    assert np.all(np.abs(gap.mean(axis=0)) < 0.05), gap.mean(axis=0)     # estimate within 5 points on average
    assert abs(gap[:, 0].mean()) < 0.01                                      # and tight at r = 1
    assert st.gate_accuracy.mean() > 0.85, st.gate_accuracy                 # gates learn their targets
    acc = st.test_accuracy.mean(axis=0)
    assert np.all(np.diff(acc) <= 0), acc                                    # accuracy falls with r
    assert paired_difference(st.test_accuracy[:, 0], st.test_accuracy[:, 2]).ci_low > 0
    assert np.all(np.diff(st.realised_macs.mean(axis=0)) < 0)               # and so does the cost
