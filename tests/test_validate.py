"""The shared argument checks raise the documented exception types and name the parameter."""

import numpy as np
import pytest

from lossbook._validate import (
    ENGINES,
    check_array,
    check_choice,
    check_int,
    check_labels,
    check_probability_vectors,
    check_real,
    check_same_length,
)


@pytest.mark.parametrize("bad", [True, "1.0", None, 1 + 2j, [1.0]])
def test_check_real_rejects_non_reals_with_typeerror(bad):
    with pytest.raises(TypeError, match="alpha"):
        check_real(bad, "alpha")


@pytest.mark.parametrize(
    ("value", "kwargs"),
    [
        (float("nan"), {}),
        (float("inf"), {}),
        (-1.0, {"low": 0.0}),
        (0.0, {"low": 0.0, "low_open": True}),
        (2.0, {"high": 1.0}),
        (1.0, {"high": 1.0, "high_open": True}),
    ],
)
def test_check_real_rejects_out_of_range_and_says_the_interval(value, kwargs):
    with pytest.raises(ValueError, match=r"alpha"):
        check_real(value, "alpha", **kwargs)


def test_check_real_accepts_numpy_scalars_and_boundaries():
    assert check_real(np.float32(0.5), "x", low=0.0, high=0.5) == 0.5
    assert check_real(np.int64(3), "x") == 3.0
    assert check_real(float("inf"), "x", allow_inf=True) == float("inf")


def test_check_int():
    assert check_int(np.int32(4), "n", low=2) == 4
    with pytest.raises(TypeError, match="n"):
        check_int(2.0, "n")
    with pytest.raises(TypeError, match="n"):
        check_int(True, "n")
    with pytest.raises(ValueError, match=r"n must lie in \[2, inf\)"):
        check_int(1, "n", low=2)


def test_check_array_shapes_values_and_dtypes():
    a = check_array([[1, 2], [3, 4]], "W", ndim=2)
    assert a.dtype == np.float64 and a.shape == (2, 2)
    with pytest.raises(ValueError, match="W must have 1 dimension"):
        check_array([[1.0]], "W", ndim=1)
    with pytest.raises(ValueError, match="finite"):
        check_array([1.0, np.nan], "W")
    with pytest.raises(ValueError, match="smallest is"):
        check_array([1.0, -1.0], "W", low=0.0)
    with pytest.raises(ValueError, match="largest is"):
        check_array([1.0, 3.0], "W", high=2.0)
    with pytest.raises(TypeError, match="real"):
        check_array([1 + 1j], "W")
    with pytest.raises(TypeError, match="numeric"):
        check_array(["a"], "W")
    with pytest.raises(TypeError, match="object"):
        check_array(np.array([[1.0], [1.0, 2.0]], dtype=object), "W")
    with pytest.raises(TypeError, match="array-like"):
        check_array([[1.0], [1.0, 2.0]], "W")
    z = check_array([1 + 1j], "eps", dtype=np.complex128)
    assert z.dtype == np.complex128


def test_check_probability_vectors():
    p = check_probability_vectors([[0.2, 0.8], [1.0, 0.0]])
    assert p.shape == (2, 2)
    with pytest.raises(ValueError, match="sum to 1"):
        check_probability_vectors([0.5, 0.6])
    with pytest.raises(ValueError, match="p entries"):
        check_probability_vectors([1.5, -0.5])


def test_check_labels():
    assert check_labels(np.array([0, 2, 1]), "y", 3).dtype == np.int64
    assert check_labels(np.array([0.0, 1.0]), "y", 2).tolist() == [0, 1]
    with pytest.raises(ValueError, match=r"y must lie in \[0, 2\]"):
        check_labels([3], "y", 3)
    with pytest.raises(TypeError, match="integer"):
        check_labels([0.5], "y", 3)


def test_check_same_length():
    assert check_same_length(("X", np.zeros((3, 2))), ("y", np.zeros(3))) == 3
    with pytest.raises(ValueError, match="X: 3, y: 4"):
        check_same_length(("X", np.zeros((3, 2))), ("y", np.zeros(4)))


def test_check_choice_names_the_parameter_and_the_choices():
    assert check_choice("numba", "engine", ENGINES) == "numba"
    with pytest.raises(ValueError, match=r"^engine must be 'numba' or 'numpy', got 'gpu'$"):
        check_choice("gpu", "engine", ENGINES)
    with pytest.raises(ValueError, match=r"^loss must be 'a', 'b' or 'c', got 'd'$"):
        check_choice("d", "loss", ("a", "b", "c"))
