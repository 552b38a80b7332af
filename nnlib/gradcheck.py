"""Gradient checking by central differences (chapter 4, §Gradient checking).

    ∂f/∂x_i ≈ (f(x + ε e_i) − f(x − ε e_i)) / (2ε)

with an error of order ε², compared with the analytic gradient by the relative error
‖a − b‖ / (‖a‖ + ‖b‖): below 1e-7 the two agree (float64), above 1e-2 one is wrong.
"""
import numpy as np

__all__ = ["numerical_gradient", "relative_error", "check_gradients"]


def numerical_gradient(f, x, eps=1e-6):
    """Central-difference gradient of the scalar function ``f()`` with respect to the array ``x``.

    ``x`` is perturbed in place, one entry at a time, and restored exactly; ``f`` takes no
    argument and reads ``x`` (e.g. a closure over a model's weights). Returns an array of
    the shape of ``x``.
    """
    if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.floating):
        raise TypeError("x: expected a floating-point numpy array (it is perturbed in place)")
    grad = np.zeros(x.shape, dtype=np.float64)
    flat = x.reshape(-1)                       # a view: writing to it writes to x
    if not np.shares_memory(flat, x):
        raise ValueError("x: expected a contiguous array (it is perturbed in place)")
    for i in range(flat.size):
        original = flat[i]
        flat[i] = original + eps
        f_plus = float(f())
        flat[i] = original - eps
        f_minus = float(f())
        flat[i] = original
        grad.reshape(-1)[i] = (f_plus - f_minus) / (2 * eps)
    return grad


def relative_error(a, b):
    """‖a − b‖ / (‖a‖ + ‖b‖), in [0, 1]; 0 when both are zero."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"a, b: expected the same shape, got {a.shape} and {b.shape}")
    denominator = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if denominator == 0 else float(np.linalg.norm(a - b) / denominator)


def check_gradients(model, X, y, eps=1e-6):
    """Relative error between ``model.gradients(X, y)`` (backpropagation) and central
    differences of ``model.evaluate(X, y)``, one number per parameter array, in
    ``get_weights`` order. The model must be float64: in float32 the differences are
    swamped by rounding (chapter 4)."""
    if getattr(model, "dtype", None) != "float64":
        raise ValueError("model: gradient checks need a float64 model "
                         "(Sequential(..., dtype='float64')); float32 rounding swamps the differences")
    analytic = model.gradients(X, y)
    errors = []
    for theta, g in zip(model.weights, analytic):
        numeric = numerical_gradient(lambda: model.evaluate(X, y), theta, eps)
        errors.append(relative_error(g, numeric))
    return errors
