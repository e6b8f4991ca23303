"""The chapter's toy experiment, on fewer seeds: the backward term keeps designs near the data and scores higher."""

import numpy as np
import pytest
from scipy.spatial import cKDTree

from lossbook.design import optimize_designs, sample_fourier_features, toy_design_data, toy_score

# the chapter's protocol (book/feedback/bib-sequence-design.md), 3 of its 6 seeds
D, BANDWIDTH, STEPS, LR = 256, 2.0, 100, 0.05


def _run(seed, gamma):
    data = toy_design_data(1000, 8, seed=seed)
    feats = sample_fourier_features(8, D, bandwidth=BANDWIDTH, seed=10_000 + seed)
    proxy = sample_fourier_features(8, D, bandwidth=BANDWIDTH, seed=20_000 + seed)
    run = optimize_designs(data.initial_designs, data.X_offline, data.y_offline, gamma=gamma, steps=STEPS,
                           learning_rate=LR, features=feats, proxy_features=proxy)
    score = toy_score(run.designs, data.center)
    dist = cKDTree(data.X_offline).query(run.designs)[0].mean()
    return score.max(), dist, run.gamma.mean()


@pytest.fixture(scope="module")
def results():
    return {g: np.array([_run(s, g) for s in range(3)]) for g in (1.0, 0.5, 0.0, "adaptive")}


@pytest.mark.claim("bib_backward_helps")
def test_backward_term_keeps_designs_closer_to_the_data_and_scores_higher(results):
    fwd = results[1.0]
    for g in (0.5, 0.0):
        # on every seed: nearer the offline data and a better best design than forward-only ascent
        assert np.all(results[g][:, 1] < fwd[:, 1])
        assert np.all(results[g][:, 0] > fwd[:, 0])


@pytest.mark.claim("bib_adaptive")
def test_adaptive_gamma_moves_towards_the_backward_side(results):
    ada = results["adaptive"]
    assert np.all(ada[:, 2] < 0.5)
    # and it is not worse than forward-only on any seed
    assert np.all(ada[:, 0] > results[1.0][:, 0])
