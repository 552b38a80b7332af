"""Activation functions f and their derivatives f′ (chapter 2, §Activation functions;
their use in backpropagation: chapter 4, eq. (eq-bp2)).

Every activation maps a batch of pre-activations ``z`` of shape (m, n_l) to A = f(z) of the
same shape. Each is an :class:`Activation` object, looked up by name as in Keras:

>>> from nnlib import activations
>>> activations.sigmoid(z)              # f(z)
>>> activations.sigmoid.derivative(z)   # f′(z), element-wise
>>> activations.get("relu")

Like NumPy's own functions, ``f(z, out=buf)`` and ``f.backward(z, a, grad_a, out=buf)``
write their result into ``buf`` and return it; without ``out`` they return a new array.
Each formula is written once and serves both callers (a layer passes its own arrays).
"""
import numpy as np

__all__ = ["Activation", "Linear", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "Softmax",
           "get", "names", "linear", "sigmoid", "tanh", "relu", "leaky_relu", "softmax",
           "LEAKY_RELU_SLOPE"]


class Activation:
    """An activation f: ``f(z, out=None)``, ``f.derivative(z)`` and ``f.backward``.

    ``derivative(z, a=None)`` is f′(z), element-wise, shape of ``z``; ``a`` = f(z) may be
    given when the caller has it (tanh and sigmoid use it instead of recomputing f).
    ``backward(z, a, grad_a, out=None)`` turns ∂C/∂A into δ = ∂C/∂Z = ∂C/∂A ⊙ f′(Z)
    (chapter 4, eq. (eq-bp2)); ``out`` may be ``grad_a`` itself.
    """

    name = "activation"

    def __call__(self, z, out=None):
        raise NotImplementedError

    def derivative(self, z, a=None):
        raise NotImplementedError

    def backward(self, z, a, grad_a, out=None):
        return np.multiply(grad_a, self.derivative(z, a), out=out)

    def get_config(self):
        return {"name": self.name}

    def __repr__(self):
        return f"<activation {self.name}>"


class Linear(Activation):
    """f(z) = z, f′(z) = 1, so δ = ∂C/∂A."""

    name = "linear"

    def __call__(self, z, out=None):
        return np.positive(z, out=out)

    def derivative(self, z, a=None):
        return np.ones_like(z)

    def backward(self, z, a, grad_a, out=None):
        return np.positive(grad_a, out=out)              # δ = ∂C/∂A ⊙ 1


class Sigmoid(Activation):
    """σ(z) = 1 / (1 + e^{−z}); σ′(z) = σ(z)(1 − σ(z)) = a(1 − a)."""

    name = "sigmoid"

    def __call__(self, z, out=None):
        # Never overflows: e^{−|z|} ≤ 1, and σ(z) = 1/(1 + e^{−z}) for z ≥ 0, e^{z}/(1 + e^{z}) for z < 0.
        e = np.exp(-np.abs(z))
        return np.divide(np.where(z >= 0, 1, e), 1 + e, out=out)

    def derivative(self, z, a=None):
        a = self(z) if a is None else a
        return a * (1 - a)


class Tanh(Activation):
    """tanh z; tanh′(z) = 1 − tanh² z = 1 − a²."""

    name = "tanh"

    def __call__(self, z, out=None):
        return np.tanh(z, out=out)

    def derivative(self, z, a=None):
        a = np.tanh(z) if a is None else a
        return 1 - a * a


class ReLU(Activation):
    """max(z, 0); f′(z) = 1 for z > 0, else 0 (f′(0) = 0, as TensorFlow's gradient)."""

    name = "relu"

    def __call__(self, z, out=None):
        return np.maximum(z, 0, out=out)

    def derivative(self, z, a=None):
        z = np.asarray(z)
        return (z > 0).astype(_float_type(z))


# keras.activations.leaky_relu's default negative slope is 0.2, but TensorFlow's LeakyRelu op
# stores it as a 32-bit float, so Keras multiplies by float32(0.2) = 0.20000000298023224 even
# in float64. nnlib uses that same number, so that float64 results agree to 1e-15.
LEAKY_RELU_SLOPE = float(np.float32(0.2))


class LeakyReLU(Activation):
    """f(z) = z for z > 0, s·z otherwise, with the negative slope s (Keras's ``negative_slope``);
    f′(z) = 1 for z > 0, else s. So f(z) = z ⊙ f′(z)."""

    name = "leaky_relu"

    def __init__(self, negative_slope=LEAKY_RELU_SLOPE):
        self.negative_slope = float(negative_slope)

    def __call__(self, z, out=None):
        return np.multiply(z, self.derivative(z), out=out)

    def derivative(self, z, a=None):
        z = np.asarray(z)
        return np.where(z > 0, 1.0, self.negative_slope).astype(_float_type(z))


class Softmax(Activation):
    """softmax(z)_j = e^{z_j} / Σ_q e^{z_q}, row by row: one distribution per sample.

    Not element-wise: its Jacobian couples the units of a row, so there is no
    ``derivative``; ``backward`` computes the vector–Jacobian product
    δ = a ⊙ (∂C/∂A − Σ_q (∂C/∂A)_q a_q)  (chapter 4, §The local derivatives).
    """

    name = "softmax"

    def __call__(self, z, out=None):
        e = np.subtract(z, z.max(axis=-1, keepdims=True), out=out)   # shift: e^{…} ≤ 1
        np.exp(e, out=e)
        e /= e.sum(axis=-1, keepdims=True)
        return e

    def derivative(self, z, a=None):
        raise ValueError("softmax is not element-wise: use softmax.backward(z, a, grad_a) for δ")

    def backward(self, z, a, grad_a, out=None):
        return np.multiply(a, grad_a - (grad_a * a).sum(axis=-1, keepdims=True), out=out)


def _float_type(z):
    """The float type of a result computed from the array ``z``: z's own, or float64."""
    return z.dtype if z.dtype.kind == "f" else np.float64


linear, sigmoid, tanh, relu, leaky_relu, softmax = (
    Linear(), Sigmoid(), Tanh(), ReLU(), LeakyReLU(), Softmax())

_REGISTRY = {f.name: f for f in (linear, sigmoid, tanh, relu, leaky_relu, softmax)}


def names():
    """The activation names nnlib knows (the names ``keras.activations.get`` takes)."""
    return sorted(_REGISTRY)


def get(identifier):
    """An :class:`Activation` from a name (``None`` means linear) or an Activation itself."""
    if identifier is None:
        return linear
    if isinstance(identifier, Activation):
        return identifier
    if isinstance(identifier, str) and identifier in _REGISTRY:
        return _REGISTRY[identifier]
    raise ValueError(f"activation: unknown activation {identifier!r}; expected one of {names()}")
