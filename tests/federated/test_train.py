"""Federated training against centralised SGD, FedProx at mu = 0, PGA at full rank, and the decomposition."""

import numpy as np
import pytest
from sklearn.metrics import log_loss

from lossbook._rng import spawn
from lossbook.federated import dirichlet_label_split, federated_train, loss_decomposition

torch = pytest.importorskip("torch")
torch.set_num_threads(1)


@pytest.fixture(scope="module")
def digits():
    from lossbook.datasets import load_digits_split

    s = load_digits_split(seed=0)
    return s.X_train[:400], s.y_train[:400]


@pytest.mark.claim("fed_one_client")
@pytest.mark.parametrize("batch_size,margin,mu", [(16, 0.0, 0.0), (400, 0.0, 0.0), (32, 0.1, 0.0), (32, 0.3, 0.5)])
def test_fedavg_with_one_client_equals_centralised_sgd(digits, batch_size, margin, mu):
    X, y = digits
    rounds, epochs, lr = 3, 2, 0.5
    run = federated_train(X, y, [np.arange(y.size)], n_classes=10, rounds=rounds, local_epochs=epochs, lr=lr,
                          batch_size=batch_size, margin=margin, mu=mu, seed=11)
    # centralised minibatch SGD in PyTorch (autograd, torch.optim.SGD) on the documented batch order, with the
    # official code's batch margin penalty and the proximal term anchored at the model of the round's start
    rng = spawn(11, 1)[0]
    Wt = torch.zeros(65, 10, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([Wt], lr=lr)
    Xt, yt = torch.tensor(X), torch.tensor(y)
    for _ in range(rounds):
        anchor = Wt.detach().clone()
        for _ in range(epochs):
            order = rng.permutation(y.size)
            for s in range(0, y.size, batch_size):
                b = torch.tensor(order[s:s + batch_size])
                opt.zero_grad()
                Z = Xt[b] @ Wt[:-1] + Wt[-1]
                loss = torch.nn.functional.cross_entropy(Z, yt[b])
                loss = loss + margin * torch.log(1 + torch.norm(torch.softmax(Z, dim=1)) ** 2)
                loss = loss + 0.5 * mu * ((Wt - anchor) ** 2).sum()
                loss.backward()
                opt.step()
    # ~150 float64 steps on O(1) weights: rounding stays below 1e-12
    assert np.allclose(run.weights, Wt.detach().numpy(), rtol=0, atol=1e-11)


@pytest.mark.claim("fed_one_client")
def test_fedavg_with_full_batch_steps_equals_centralised_gradient_descent(digits):
    # one full-batch local step per round: sum_k p_k grad L_k = grad L, so FedAvg is plain GD on the union
    X, y = digits
    split = dirichlet_label_split(y, 4, 0.3, seed=0, min_size=5)
    run = federated_train(X, y, split.indices, n_classes=10, rounds=15, lr=0.8, batch_size=10**6, seed=0)
    Wt = torch.zeros(65, 10, dtype=torch.float64, requires_grad=True)
    for _ in range(15):
        loss = torch.nn.functional.cross_entropy(torch.tensor(X) @ Wt[:-1] + Wt[-1], torch.tensor(y))
        (g,) = torch.autograd.grad(loss, Wt)
        Wt = (Wt - 0.8 * g).detach().requires_grad_(True)
    assert np.allclose(run.weights, Wt.detach().numpy(), atol=1e-11)


@pytest.mark.claim("fed_prox0")
def test_fedprox_with_mu_zero_is_fedavg_and_positive_mu_is_not(digits):
    X, y = digits
    split = dirichlet_label_split(y, 5, 0.5, seed=1, min_size=5)
    kw = dict(n_classes=10, rounds=4, local_epochs=2, lr=0.5, seed=3)
    avg = federated_train(X, y, split.indices, **kw)
    prox0 = federated_train(X, y, split.indices, mu=0.0, **kw)
    prox = federated_train(X, y, split.indices, mu=1.0, **kw)
    assert np.array_equal(avg.weights, prox0.weights)
    assert np.linalg.norm(prox.weights - avg.weights) > 1e-3 * np.linalg.norm(avg.weights)


@pytest.mark.claim("fed_pga_all")
def test_pga_training_with_every_direction_is_fedavg_training(digits):
    X, y = digits
    split = dirichlet_label_split(y, 5, 0.3, seed=2, min_size=5)
    kw = dict(n_classes=10, rounds=6, local_epochs=1, lr=0.5, seed=4)
    avg = federated_train(X, y, split.indices, **kw)
    pga = federated_train(X, y, split.indices, aggregator="pga", kappa=1.0, **kw)
    code = federated_train(X, y, split.indices, aggregator="pga-code", kappa=1.0, **kw)
    assert np.allclose(pga.weights, avg.weights, atol=1e-10)
    assert np.linalg.norm(code.weights - avg.weights) > 1e-2 * np.linalg.norm(avg.weights)


@pytest.mark.claim("fed_decomp")
def test_decomposition_sums_to_the_pooled_loss(digits):
    X, y = digits
    rng = np.random.default_rng(5)
    split = dirichlet_label_split(y, 6, 0.2, seed=5, min_size=5)
    Wk = rng.normal(size=(6, 65, 10))
    Wbar = rng.normal(size=(65, 10))  # any aggregate, not only the average
    dec = loss_decomposition(Wk, Wbar, X, y, split.indices)
    pooled = log_loss(y, _softmax(X @ Wbar[:-1] + Wbar[-1]), labels=np.arange(10))  # scikit-learn, pooled data
    assert abs(dec.global_loss - pooled) < 1e-10
    assert abs(dec.local + dec.shift + dec.aggregation - pooled) < 1e-10


@pytest.mark.claim("fed_jensen")
def test_aggregation_term_is_non_positive_for_averaged_convex_models(digits):
    X, y = digits
    rng = np.random.default_rng(6)
    split = dirichlet_label_split(y, 5, 0.2, seed=6, min_size=5)
    p = np.array([a.size for a in split.indices]) / y.size
    for _ in range(20):
        Wk = rng.normal(scale=2.0, size=(5, 65, 10))
        dec = loss_decomposition(Wk, np.tensordot(p, Wk, axes=1), X, y, split.indices)
        assert dec.aggregation <= 1e-12
    # the inequality needs the p-weighted average: another aggregate can make the term positive
    dec = loss_decomposition(Wk, 3.0 * Wk[0], X, y, split.indices)
    assert dec.aggregation > 0


@pytest.mark.claim("fed_decomp")
def test_shift_term_vanishes_when_clients_hold_the_same_data(digits):
    X, y = digits
    X2, y2 = np.vstack([X, X]), np.concatenate([y, y])
    clients = [np.arange(400), np.arange(400, 800)]
    Wk = np.random.default_rng(7).normal(size=(2, 65, 10))
    dec = loss_decomposition(Wk, Wk.mean(axis=0), X2, y2, clients)
    assert abs(dec.shift) < 1e-12


@pytest.mark.claim("fed_skew")
def test_shift_term_grows_with_label_skew(digits):
    X, y = digits
    shifts = {}
    for alpha in (0.1, 10.0):
        vals = []
        for seed in range(3):
            split = dirichlet_label_split(y, 5, alpha, seed=seed, min_size=10)
            run = federated_train(X, y, split.indices, n_classes=10, rounds=5, local_epochs=2, lr=0.5, seed=seed,
                                  decompose=True)
            vals.append(run.shift[-1])
        shifts[alpha] = np.mean(vals)
    assert shifts[0.1] > 3 * shifts[10.0] > 0


def _softmax(Z):
    Z = Z - Z.max(axis=1, keepdims=True)
    E = np.exp(Z)
    return E / E.sum(axis=1, keepdims=True)


@pytest.mark.claim("fed_fedld")
def test_fedld_recipe_trails_fedavg_under_strong_label_skew():
    # the chapter's finding at reduced size: 10 clients, alpha = 0.1, 3 seeds, 10 rounds
    from lossbook.datasets import load_digits_split

    gaps = []
    for seed in range(3):
        s = load_digits_split(seed=seed)
        split = dirichlet_label_split(s.y_train, 10, 0.1, seed=seed, min_size=10)
        kw = dict(n_classes=10, rounds=10, local_epochs=2, lr=1.0, batch_size=64, seed=seed, X_test=s.X_test,
                  y_test=s.y_test)
        avg = federated_train(s.X_train, s.y_train, split.indices, **kw)
        fedld = federated_train(s.X_train, s.y_train, split.indices, aggregator="pga-code", margin=0.1, **kw)
        gaps.append(fedld.test_accuracy[-1] - avg.test_accuracy[-1])
    assert np.mean(gaps) < 0
