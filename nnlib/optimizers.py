"""Optimizers: how a gradient becomes a step (chapter 5).

Each follows Keras 3's update formulas exactly, so that the same gradients give the
same weights. ``apply(params, grads)`` updates the arrays of ``params`` in place,
``grads`` in the same order (``model.get_weights()``'s order).

Plain gradient descent (chapter 5, eq. (eq-gd)):   θ^{(t+1)} = θ^{(t)} − α ∇_θ C(θ^{(t)})

Hyper-parameters are kept exactly as given. Keras's TensorFlow backend turns Python-float
hyper-parameters such as the momentum μ and Adam's β₁, β₂ into float32 tensors before
casting them to the variables' dtype, even in float64: β₁ = 0.9 becomes
0.8999999761581421 in β₁ᵗ. So at Keras's defaults nnlib and Keras differ by ~1e-7 relative
after a few epochs, in float64 too — a difference of hyper-parameters, not of formulas. At
values exact in float32 (μ = 0.875, β₁ = 0.875, β₂ = 0.9990234375) they agree to 1e-12
(tests/test_keras_parity.py).
"""
import numpy as np

from .validation import float_in, positive_float

__all__ = ["Optimizer", "SGD", "Adam", "get", "names"]


class Optimizer:
    """Base class. ``iterations`` counts the steps taken (t)."""

    name = "optimizer"

    def __init__(self, learning_rate):
        self.learning_rate = positive_float(learning_rate, "learning_rate")
        self.iterations = 0

    def apply(self, params, grads):
        """One step: update every array in ``params`` in place from ``grads``."""
        self.iterations += 1
        for i, (theta, g) in enumerate(zip(params, grads)):
            self._update(i, theta, g)

    def reset(self):
        """Forget the step count and any state (velocities, moments)."""
        self.iterations = 0

    def get_config(self):
        return {"name": self.name, "learning_rate": self.learning_rate}


class SGD(Optimizer):
    """Stochastic gradient descent, with optional (Nesterov) momentum μ, as ``keras.optimizers.SGD``.

    μ = 0:     θ ← θ − α g
    μ > 0:     v ← μ v − α g;   θ ← θ + v              (Nesterov: θ ← θ + μ v − α g)
    """

    name = "sgd"

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False):
        super().__init__(learning_rate)
        self.momentum = float_in(momentum, "momentum", 0.0, 1.0)
        if not isinstance(nesterov, bool):
            raise TypeError(f"nesterov: expected True or False, got {nesterov!r}")
        self.nesterov = nesterov
        self.velocities = {}

    def reset(self):
        super().reset()
        self.velocities = {}

    def _update(self, i, theta, g):
        alpha, mu = self.learning_rate, self.momentum
        if mu == 0:
            theta -= alpha * g
            return
        v = self.velocities.setdefault(i, np.zeros_like(theta))
        v *= mu
        v -= alpha * g                                      # v = μ v − α g
        theta += (mu * v - alpha * g) if self.nesterov else v

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015) in Keras 3's form, step t = 1, 2, …:

    α_t = α √(1 − β₂ᵗ) / (1 − β₁ᵗ)
    m ← m + (g − m)(1 − β₁);   v ← v + (g² − v)(1 − β₂);   θ ← θ − α_t m / (√v + ε)
    """

    name = "adam"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        super().__init__(learning_rate)
        self.beta_1 = float_in(beta_1, "beta_1", 0.0, 1.0, open_high=True)
        self.beta_2 = float_in(beta_2, "beta_2", 0.0, 1.0, open_high=True)
        self.epsilon = positive_float(epsilon, "epsilon")
        self.moments = {}

    def reset(self):
        super().reset()
        self.moments = {}

    def apply(self, params, grads):
        t = self.iterations + 1
        self._alpha_t = self.learning_rate * np.sqrt(1 - self.beta_2 ** t) / (1 - self.beta_1 ** t)
        super().apply(params, grads)

    def _update(self, i, theta, g):
        m, v = self.moments.setdefault(i, (np.zeros_like(theta), np.zeros_like(theta)))
        m += (g - m) * (1 - self.beta_1)
        v += (g * g - v) * (1 - self.beta_2)
        theta -= (m * self._alpha_t) / (np.sqrt(v) + self.epsilon)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


_CLASSES = {cls.name: cls for cls in (SGD, Adam)}


def names():
    """The optimizer names nnlib knows."""
    return sorted(_CLASSES)


def get(identifier):
    """An optimizer from a name (with Keras's default settings) or an Optimizer itself."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _CLASSES:
        return _CLASSES[identifier.lower()]()
    raise ValueError(f"optimizer: unknown optimizer {identifier!r}; expected an Optimizer or one of {names()}")


def from_config(config):
    """Rebuild an optimizer from :meth:`Optimizer.get_config`."""
    config = dict(config)
    return _CLASSES[config.pop("name")](**config)
