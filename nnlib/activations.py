"""Activation functions f and their derivatives f′ (chapter 2, §Activation functions;
their use in backpropagation: chapter 4, eq. (eq-bp2)).

Every activation acts on a batch of pre-activations ``z`` of shape (m, n_l) and
returns an array of the same shape. Each is an :class:`Activation` object:

>>> from nnlib import activations
>>> activations.sigmoid(z)              # f(z)
>>> activations.sigmoid.derivative(z)   # f′(z), element-wise
>>> activations.get("relu")             # look one up by name, as Keras does
"""
import numpy as np

__all__ = ["Activation", "get", "names", "linear", "sigmoid", "tanh", "relu", "leaky_relu", "softmax"]


class Activation:
    """An element-wise activation f with its derivative f′.

    ``function(z)`` and ``derivative(z)`` both map (m, n) → (m, n).
    ``backward(z, a, grad_a)`` turns ∂C/∂A into δ = ∂C/∂Z (chapter 4, eq. (eq-bp2)):
    for an element-wise f this is ``grad_a ⊙ f′(z)``.

    ``act(z, out=buf)`` and ``act.backward(z, a, grad_a, out=buf)`` write their result into
    an array ``buf`` of the result's shape and dtype (``buf`` may be ``grad_a`` itself) and
    return it, instead of returning a new array: ``fit`` uses them to train in buffers
    allocated once per call. Without ``out`` they return a new array, as always.
    """

    def __init__(self, name, function, derivative):
        self.name = name
        self.function = function
        self._derivative = derivative

    def __call__(self, z, out=None):
        a = self.function(np.asarray(z))
        if out is None:
            return a
        np.copyto(out, a)
        return out

    def derivative(self, z):
        """f′(z), element-wise; shape of ``z``."""
        return self._derivative(np.asarray(z))

    def backward(self, z, a, grad_a, out=None):
        """δ = ∂C/∂Z = ∂C/∂A ⊙ f′(Z); shapes (m, n). ``a`` = f(z) is unused here."""
        if out is None:
            return grad_a * self._derivative(z)
        return np.multiply(grad_a, self._derivative(z), out=out)

    def __repr__(self):
        return f"<activation {self.name}>"


def _sigmoid(z):
    # σ(z) = 1 / (1 + e^{−z}), written so that e^{…} never overflows:
    # for z ≥ 0 use 1/(1+e^{−z}); for z < 0 use e^{z}/(1+e^{z}).
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(np.result_type(z, np.float32), copy=False)


def _sigmoid_derivative(z):
    s = _sigmoid(z)
    return s * (1 - s)                                  # σ′ = σ(1 − σ)


def _relu_derivative(z):
    # f′(0) is taken as 0, as TensorFlow's gradient of relu does.
    return (z > 0).astype(np.result_type(z, np.float32))


# keras.activations.leaky_relu's default negative_slope is 0.2, but TensorFlow's LeakyRelu
# op stores it as a 32-bit float, so Keras multiplies by float32(0.2) = 0.20000000298023224
# even in float64. nnlib uses that same number, so that float64 results agree to 1e-15.
LEAKY_RELU_SLOPE = float(np.float32(0.2))


def _leaky_relu(z):
    return np.where(z > 0, z, LEAKY_RELU_SLOPE * z)


def _leaky_relu_derivative(z):
    return np.where(z > 0, 1.0, LEAKY_RELU_SLOPE).astype(np.result_type(z, np.float32))


class _Linear(Activation):
    """f(z) = z, f′(z) = 1: δ = ∂C/∂A."""

    def __init__(self):
        super().__init__("linear", lambda z: z, np.ones_like)

    def __call__(self, z, out=None):
        if out is None or out is z:                      # A = Z: nothing to compute
            return np.asarray(z)
        np.copyto(out, z)
        return out

    def backward(self, z, a, grad_a, out=None):
        if out is None:
            return super().backward(z, a, grad_a)
        if out is not grad_a:                            # δ = ∂C/∂A ⊙ 1 = ∂C/∂A
            np.copyto(out, grad_a)
        return out


class _ReLU(Activation):
    """f(z) = max(z, 0); f′(z) = 1 for z > 0, else 0."""

    def __init__(self):
        super().__init__("relu", lambda z: np.maximum(z, 0), _relu_derivative)

    def __call__(self, z, out=None):
        return np.maximum(z, 0, out=out)

    def backward(self, z, a, grad_a, out=None):
        if out is None:
            return super().backward(z, a, grad_a)
        return np.multiply(grad_a, z > 0, out=out)       # δ = ∂C/∂A ⊙ [z > 0]


class _Tanh(Activation):
    """f(z) = tanh z; f′(z) = 1 − tanh² z = 1 − a²."""

    def __init__(self):
        super().__init__("tanh", np.tanh, lambda z: 1 - np.tanh(z) ** 2)

    def __call__(self, z, out=None):
        return np.tanh(z, out=out)

    def backward(self, z, a, grad_a, out=None):
        if out is None:
            return super().backward(z, a, grad_a)
        f_prime = np.square(a)                            # f′ = 1 − a², with a = tanh z
        np.subtract(1, f_prime, out=f_prime)
        return np.multiply(grad_a, f_prime, out=out)


class _Sigmoid(Activation):
    """f(z) = σ(z); f′(z) = σ(z)(1 − σ(z)) = a(1 − a)."""

    def __init__(self):
        super().__init__("sigmoid", _sigmoid, _sigmoid_derivative)

    def backward(self, z, a, grad_a, out=None):
        if out is None:
            return super().backward(z, a, grad_a)
        f_prime = np.subtract(1, a)                       # f′ = a(1 − a), with a = σ(z)
        f_prime *= a
        return np.multiply(grad_a, f_prime, out=out)


linear = _Linear()
sigmoid = _Sigmoid()
tanh = _Tanh()
relu = _ReLU()
leaky_relu = Activation("leaky_relu", _leaky_relu, _leaky_relu_derivative)


class Softmax(Activation):
    """softmax(z)_j = e^{z_j} / Σ_k e^{z_k}, row by row (one distribution per sample).

    Not element-wise: its Jacobian couples the units of a row, so there is no
    ``derivative``; ``backward`` applies the Jacobian–vector product
    δ = a ⊙ (∂C/∂A − Σ_k (∂C/∂A)_k a_k)  (chapter 4, §Softmax).
    """

    def __init__(self):
        super().__init__("softmax", self._softmax, None)

    @staticmethod
    def _softmax(z):
        e = np.exp(z - z.max(axis=-1, keepdims=True))   # shift by the row max: no overflow
        return e / e.sum(axis=-1, keepdims=True)

    def derivative(self, z):
        raise ValueError("softmax is not element-wise: use softmax.backward(z, a, grad_a) for δ")

    def backward(self, z, a, grad_a, out=None):
        return np.multiply(a, grad_a - np.sum(grad_a * a, axis=-1, keepdims=True), out=out)


softmax = Softmax()

_REGISTRY = {f.name: f for f in (linear, sigmoid, tanh, relu, leaky_relu, softmax)}


def names():
    """The activation names nnlib knows."""
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
