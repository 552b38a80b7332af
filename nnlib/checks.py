"""Checks for exercises: compare a learner's function with nnlib's and say, kindly, what is wrong.

Each ``check_*`` calls the learner's function on test inputs (ordinary values and
extreme ones), prints ``✓ …`` or ``✗ …`` with the first wrong input, the expected and
the received value, and returns True or False. It never lets a traceback through: an
exception in the learner's code is reported as a failed check.
"""
import numpy as np

from . import activations, losses
from .gradcheck import numerical_gradient, relative_error

__all__ = ["check_activation", "check_activation_derivative", "check_loss",
           "check_dense_forward", "check_dense_backward", "check_gradient"]

RTOL, ATOL = 1e-6, 1e-9


def _report(title, ok, detail=""):
    print(f"✓ {title}: all tests passed." if ok else f"✗ {title}: {detail}")
    return ok


def _call(title, fn, *args):
    """(result, None) or (None, message) if the learner's function raised."""
    try:
        return fn(*args), None
    except NotImplementedError:
        return None, "not implemented yet — fill in the function and run the check again."
    except Exception as exc:  # the learner's code: report, never raise
        return None, f"your function raised {type(exc).__name__}: {exc}"


def _compare(title, got, expected, inputs_text, z=None):
    """Shape and value comparison; returns (ok, message). With ``z`` (element-wise checks),
    the message names the one input value that went wrong."""
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return False, f"expected numbers, got {type(got).__name__}{inputs_text}"
    expected = np.asarray(expected, dtype=np.float64)
    if got.shape != expected.shape:
        return False, f"expected an array of shape {expected.shape}, got shape {got.shape}{inputs_text}"
    wrong = ~np.isclose(got, expected, rtol=RTOL, atol=ATOL, equal_nan=False)
    if wrong.any():
        index = tuple(int(i) for i in np.argwhere(wrong)[0])
        where = (f"for z = {z[index]:g}" if z is not None
                 else "the value:" if expected.ndim == 0 else f"at index {index}")
        return False, (f"{where} expected {expected[index]:.10g}, "
                       f"got {got[index]:.10g}{inputs_text if z is None else ''}")
    return True, ""


def _test_inputs():
    rng = np.random.default_rng(0)
    return [np.array([[-2.0, -0.5, 0.0, 0.5, 2.0]]),
            rng.normal(size=(4, 3)) * 3,
            np.array([[-1000.0, -50.0, 50.0, 1000.0]])]   # extreme: no overflow, no NaN


def _check_elementwise(title, fn, reference):
    for z in _test_inputs():
        got, error = _call(title, fn, z.copy())
        if error:
            return _report(title, False, error)
        ok, message = _compare(title, got, reference(z), f" for input z of shape {z.shape}", z=z)
        if not ok:
            return _report(title, False, message)
    return _report(title, True)


def check_activation(fn, name):
    """Does ``fn(z)`` equal nnlib's activation ``name`` for batches z of shape (m, n)?"""
    act = activations.get(name)
    return _check_elementwise(f"activation {act.name!r}", fn, act)


def check_activation_derivative(fn, name):
    """Does ``fn(z)`` equal f′(z) of the activation ``name``, element-wise?"""
    act = activations.get(name)
    title = f"derivative of {act.name!r}"
    if isinstance(act, activations.Softmax):
        return _report(title, False, "softmax is not element-wise, so it has no derivative f′(z) "
                                     "to compare; its backward pass is a vector–Jacobian product "
                                     "(chapter 4): check it with check_gradient instead.")
    return _check_elementwise(title, fn, act.derivative)


def check_loss(fn, name):
    """Does ``fn(y_true, y_pred)`` equal the mean loss C of nnlib's loss ``name``?"""
    loss = losses.get(name)
    title = f"loss {loss.name!r}"
    rng = np.random.default_rng(1)
    cases = []
    for m, n in ((4, 3), (1, 1), (5, 2)):
        if loss.target_kind == "class index":            # labels, and one distribution per row
            n = max(n, 2)
            y_true, p = rng.integers(0, n, size=m), rng.dirichlet(np.ones(n), size=m)
        elif isinstance(loss, losses.CategoricalCrossentropy):   # one-hot rows, distributions
            n = max(n, 2)
            y_true, p = np.eye(n)[rng.integers(0, n, size=m)], rng.dirichlet(np.ones(n), size=m)
        elif loss.target_kind == "probability":          # binary: 0/1 targets, p in (0, 1)
            y_true, p = rng.integers(0, 2, size=(m, n)) * 1.0, rng.uniform(0.05, 0.95, size=(m, n))
        else:
            y_true, p = rng.normal(size=(m, n)), rng.normal(size=(m, n))
        cases.append((y_true, p))
    for y_true, y_pred in cases:
        got, error = _call(title, fn, y_true.copy(), y_pred.copy())
        if error:
            return _report(title, False, error)
        ok, message = _compare(title, got, loss(y_true, y_pred),
                               f" for y_true and y_pred of shape {y_pred.shape} — C is the mean "
                               f"over the batch of the per-sample losses")
        if not ok:
            return _report(title, False, message)
    return _report(title, True)


def _dense_cases():
    rng = np.random.default_rng(2)
    for m, n_in, n_out in ((4, 3, 2), (1, 5, 1), (6, 2, 4)):
        yield rng.normal(size=(m, n_in)), rng.normal(size=(n_in, n_out)), rng.normal(size=n_out)


def check_dense_forward(fn, activation="linear"):
    """Does ``fn(a_prev, W, b)`` return A = f(a_prev W + b), shape (m, n_l) (chapter 3)?"""
    act = activations.get(activation)
    title = f"Dense forward pass ({act.name})"
    for a_prev, W, b in _dense_cases():
        got, error = _call(title, fn, a_prev.copy(), W.copy(), b.copy())
        if error:
            return _report(title, False, error)
        ok, message = _compare(title, got, act(a_prev @ W + b),
                               f" for a_prev of shape {a_prev.shape}, W of shape {W.shape}")
        if not ok:
            return _report(title, False, message)
    return _report(title, True)


def check_dense_backward(fn):
    """Does ``fn(a_prev, W, delta)`` return (dW, db, grad_a_prev) = (a_prevᵀ δ, Σ_rows δ, δ Wᵀ)
    (chapter 4)?"""
    title = "Dense backward pass"
    rng = np.random.default_rng(3)
    for a_prev, W, b in _dense_cases():
        delta = rng.normal(size=(a_prev.shape[0], W.shape[1]))
        got, error = _call(title, fn, a_prev.copy(), W.copy(), delta.copy())
        if error:
            return _report(title, False, error)
        if not (isinstance(got, (tuple, list)) and len(got) == 3):
            return _report(title, False, "expected a tuple (dW, db, grad_a_prev) of three arrays")
        expected = (a_prev.T @ delta, delta.sum(axis=0), delta @ W.T)
        for label, g, e in zip(("dW", "db", "grad_a_prev"), got, expected):
            ok, message = _compare(title, g, e, f" in {label}, for a_prev of shape {a_prev.shape}, "
                                                f"W of shape {W.shape}")
            if not ok:
                return _report(title, False, message)
    return _report(title, True)


def check_gradient(grad_fn, f, x, tolerance=1e-7):
    """Does ``grad_fn(x)`` equal the central-difference gradient of the scalar ``f(x)`` at x?"""
    title = "gradient"
    x = np.array(x, dtype=np.float64)
    got, error = _call(title, grad_fn, x.copy())
    if error:
        return _report(title, False, error)
    try:
        numeric = numerical_gradient(lambda: f(x), x)
    except Exception as exc:
        return _report(title, False, f"f(x) raised {type(exc).__name__}: {exc}")
    if np.shape(got) != numeric.shape:
        return _report(title, False, f"expected an array of shape {numeric.shape}, got shape {np.shape(got)}")
    error = relative_error(got, numeric)
    if error < tolerance:
        return _report(title, True)
    return _report(title, False, f"relative error {error:.2e} against central differences "
                                 f"(should be below {tolerance:g})")
