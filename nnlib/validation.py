"""Checks of what a user passes in, so that bad input gets a clear error naming the
argument, raised before anything changes (CONVENTIONS: nnlib)."""
import numbers

import numpy as np

DTYPES = ("float32", "float64")


def check_dtype(dtype):
    """'float32' or 'float64' (as a string or numpy dtype) → its name."""
    try:
        name = np.dtype(dtype).name
    except TypeError:
        name = None
    if name not in DTYPES:
        raise ValueError(f"dtype: expected 'float32' or 'float64', got {dtype!r}")
    return name


def positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    return int(value)


def positive_float(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name}: expected a positive finite number, got {value!r}")
    return float(value)


def float_in(value, name, low, high, *, open_high=False):
    """A real number in [low, high] (or [low, high) with ``open_high``)."""
    ok = (not isinstance(value, bool) and isinstance(value, numbers.Real) and np.isfinite(value)
          and low <= value and (value < high if open_high else value <= high))
    if not ok:
        interval = f"[{low}, {high})" if open_high else f"[{low}, {high}]"
        raise ValueError(f"{name}: expected a number in {interval}, got {value!r}")
    return float(value)


def numeric_array(x, name, dtype):
    """``x`` as a finite array of ``dtype``; TypeError if it is not numeric, ValueError on NaN/inf."""
    try:
        arr = np.asarray(x)
    except Exception as exc:  # e.g. ragged nested lists
        raise TypeError(f"{name}: expected a numeric array, could not convert it ({exc})") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name}: expected a numeric array, got an array of dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f"{name}: expected real numbers, got complex values")
    arr = arr.astype(dtype, copy=False)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: contains NaN or infinite values")
    return arr


def inputs(X, n_inputs, dtype, name="X"):
    """X as an (m, n_0) array of ``dtype``; n_inputs may be None (not known yet)."""
    X = numeric_array(X, name, dtype)
    if X.ndim != 2:
        hint = " (a single sample must be a row: x.reshape(1, -1))" if X.ndim == 1 else ""
        raise ValueError(f"{name}: expected a 2-D array of shape (m, n_inputs), got shape {X.shape}{hint}")
    if X.shape[0] == 0:
        raise ValueError(f"{name}: expected at least one sample, got shape {X.shape}")
    if n_inputs is not None and X.shape[1] != n_inputs:
        raise ValueError(f"{name}: expected {n_inputs} features per sample (shape (m, {n_inputs})), "
                         f"got shape {X.shape}")
    return X


def targets(y, m, n_outputs, loss, dtype, name="y"):
    """y checked against the loss and the model's output: returns (m, n_L) targets, or (m,)
    integer labels for a sparse loss."""
    y = numeric_array(y, name, dtype if loss.target_kind != "class index" else np.float64)
    if y.shape[:1] != (m,):
        raise ValueError(f"{name}: expected {m} samples to match X, got shape {y.shape}")
    if loss.target_kind == "class index":
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1:
            raise ValueError(f"{name}: expected integer class labels of shape (m,), got shape {y.shape}")
        if np.any(y != np.round(y)):
            raise ValueError(f"{name}: expected integer class labels, got non-integer values")
        if y.min() < 0 or y.max() >= n_outputs:
            raise ValueError(f"{name}: class labels must be in 0..{n_outputs - 1} for {n_outputs} "
                             f"output units, got labels from {int(y.min())} to {int(y.max())}")
        return y.astype(np.intp)
    if y.ndim == 1 and n_outputs == 1:
        y = y.reshape(-1, 1)
    if y.ndim != 2 or y.shape[1] != n_outputs:
        raise ValueError(f"{name}: expected shape ({m}, {n_outputs}) to match the model's output, "
                         f"got shape {y.shape}")
    if loss.target_kind == "probability" and (y.min() < 0 or y.max() > 1):
        raise ValueError(f"{name}: {loss.name} needs targets in [0, 1], "
                         f"got values from {y.min()} to {y.max()}")
    return y


def verbose(value):
    """Keras's ``verbose``: 0, 1, 2 or "auto" (which is 1) → 0, 1 or 2."""
    if value == "auto":
        return 1
    if isinstance(value, bool) or value not in (0, 1, 2):
        raise ValueError(f"verbose: expected 0, 1, 2 or 'auto', got {value!r}")
    return int(value)
