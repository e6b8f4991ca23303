"""The training loop: bit-identical reruns, global state restored, progress silenced by the environment."""

import os

import numpy as np
import pytest
import torch

from lossbook.datasets import gaussian_mixture_data
from lossbook.progress import progress, progress_enabled
from lossbook.training import accuracy, seeded, train


def _run(seed, batch_size=16, epochs=15):
    data = gaussian_mixture_data([40, 40, 40], 5, seed=0)
    with seeded(seed):
        net = torch.nn.Sequential(torch.nn.Linear(5, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))
    hist = train(net, torch.nn.functional.cross_entropy, data.X, data.y, epochs=epochs, lr=0.05, seed=seed,
                 batch_size=batch_size, momentum=0.9, evaluate=lambda m: {"acc": accuracy(m, data.X, data.y)})
    return hist, net


def test_same_seed_gives_bit_identical_history_and_weights():
    h1, n1 = _run(3)
    h2, n2 = _run(3)
    assert np.array_equal(h1.train_loss, h2.train_loss) and np.array_equal(h1.metrics["acc"], h2.metrics["acc"])
    assert all(torch.equal(p, q) for p, q in zip(n1.parameters(), n2.parameters(), strict=True))
    h3, _ = _run(4)
    assert not np.array_equal(h1.train_loss, h3.train_loss)


def test_training_learns_a_separable_mixture():
    h, _ = _run(0, batch_size=None, epochs=60)
    assert h.train_loss[-1] < 0.5 * h.train_loss[0] and h.metrics["acc"][-1] > 0.9
    assert h.wall_time.shape == (60,) and np.all(np.diff(h.wall_time) >= 0)


def test_global_torch_state_is_restored():
    threads, det = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    state = torch.random.get_rng_state()
    _run(1, epochs=2)
    assert torch.get_num_threads() == threads and torch.are_deterministic_algorithms_enabled() == det
    assert torch.equal(torch.random.get_rng_state(), state)


def test_divergence_is_an_error_not_silent_nan():
    with seeded(0):
        net = torch.nn.Linear(2, 2)
    X = np.array([[1e30, 1e30], [1.0, 2.0]])
    with pytest.raises(FloatingPointError, match="loss"):
        train(net, torch.nn.functional.cross_entropy, X, [0, 1], epochs=3, lr=1e10, seed=0)


@pytest.mark.parametrize("kw, match", [
    ({"epochs": 0}, "epochs"), ({"lr": -1.0}, "lr"), ({"optimizer": "lbfgs"}, "optimizer"),
    ({"momentum": 1.0}, "momentum"), ({"batch_size": 0}, "batch_size"), ({"threads": 0}, "threads"),
])
def test_bad_arguments(kw, match):
    with seeded(0):
        net = torch.nn.Linear(2, 2)
    args = {"epochs": 1, "lr": 0.1, "seed": 0} | kw
    with pytest.raises((ValueError, TypeError), match=match):
        train(net, torch.nn.functional.cross_entropy, np.zeros((4, 2)), [0, 1, 0, 1], **args)


def test_progress_follows_the_environment(monkeypatch):
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    monkeypatch.setenv("LOSSBOOK_PROGRESS", "1")
    assert progress_enabled() and progress(range(2)) is not None
    monkeypatch.setenv("TQDM_DISABLE", "1")
    r = range(3)
    assert not progress_enabled() and progress(r) is r
    monkeypatch.delenv("TQDM_DISABLE")
    monkeypatch.setenv("LOSSBOOK_PROGRESS", "off")
    assert not progress_enabled()
    assert os.environ["LOSSBOOK_PROGRESS"] == "off"
