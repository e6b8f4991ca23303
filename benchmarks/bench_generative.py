"""Naive Bayes and logistic regression fits: lossbook.generative against scikit-learn.

The peer is what a user would otherwise call: ``GaussianNB`` (per-class variances; the pooled-variance fit
differs only in averaging them, so ``check`` compares the class means) and ``LogisticRegression`` with the
``lbfgs`` solver at the same ``C`` and tolerance 1e-6, the one the learning curves use (``check`` compares
predictions on the training set).
"""

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import GaussianNB

from benchmarks.harness import Case
from lossbook.generative import fit_gaussian_nb, fit_logistic_regression, linear_predict, sample_mixture


def _nb_case(n, m):
    X, y = sample_mixture(n, 3, m, seed=n)

    def check(a, b):
        np.testing.assert_allclose(a.means, b.theta_, rtol=1e-10, atol=1e-10)

    return Case("generative.fit_gaussian_nb", "scikit-learn GaussianNB.fit", f"m = {m}, n = {n}, K = 3",
                lambda: fit_gaussian_nb(X, y, 3), lambda: GaussianNB(var_smoothing=1e-9).fit(X, y), check,
                repeats=5, kind="external", threads=1)


def _lr_case(n, m):
    X, y = sample_mixture(n, 3, m, seed=n + 1)

    def check(a, b):
        agree = np.mean(linear_predict(a.W, a.b, X) == b.predict(X))
        assert agree >= 0.99, agree  # both stop at their own tolerance; predictions agree on >= 99% of points

    return Case("generative.fit_logistic_regression (C = 1)", "scikit-learn LogisticRegression(lbfgs)",
                f"m = {m}, n = {n}, K = 3",
                lambda: fit_logistic_regression(X, y, 3, C=1.0, tol=1e-6),
                lambda: LogisticRegression(C=1.0, solver="lbfgs", tol=1e-6, max_iter=1000).fit(X, y), check,
                repeats=3, kind="external", threads=1)


CASES = [_nb_case(200, 2000), _nb_case(1000, 20000), _lr_case(100, 1000), _lr_case(200, 2400)]
