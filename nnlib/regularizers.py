"""Weight penalties, passed as ``Dense(kernel_regularizer=...)``, as Keras's regularizers
(chapter 8, §Weight penalties).

A penalty Ω(W) on a layer's kernel W (n_{l-1}, n_l) is added to the cost that training
minimises, and its gradient to ∂C/∂W (chapter 8, eqs. (eq-penalised-cost), (eq-l2))::

    J = C + Σ_l Ω(W^{[l]})
    L2:  Ω(W) = λ₂ Σ_ij w_ij²,     ∂Ω/∂W = 2 λ₂ W
    L1:  Ω(W) = λ₁ Σ_ij |w_ij|,    ∂Ω/∂W = λ₁ sign(W)      (0 where w_ij = 0, as TensorFlow)

As in Keras, the sum of the penalties is added to every batch's loss (Keras's
``model.losses``), so ``fit``'s ``loss``, ``val_loss`` and ``evaluate`` include it; the
biases are not penalised. Keras's TensorFlow backend turns λ₁ and λ₂ into float32 numbers
before casting them to the weights' dtype, even in float64 (0.01 becomes 0.009999999776…);
nnlib keeps them exactly as given, so at λ = 0.01 the two differ by ~1e-8 relative in the
penalty — a difference of hyper-parameters, not of formulas. At values exact in float32
(λ = 2⁻⁷ = 0.0078125) they agree to 1e-12 (tests/test_regularization.py).

>>> nn.Dense(64, activation="relu", kernel_regularizer=nn.regularizers.L2(1e-3))
>>> nn.Dense(64, activation="relu", kernel_regularizer="l2")       # λ₂ = 0.01, as Keras
"""
import math
import numbers

import numpy as np

__all__ = ["Regularizer", "L1", "L2", "L1L2", "get", "from_config", "names"]


def _factor(value, name):
    ok = (not isinstance(value, bool) and isinstance(value, numbers.Real)
          and math.isfinite(value) and value >= 0)
    if not ok:
        raise ValueError(f"{name}: expected a non-negative finite number, got {value!r}")
    return float(value)


class Regularizer:
    """A penalty Ω(W): ``reg(W)`` is Ω (a float), ``reg.gradient(W)`` is ∂Ω/∂W (W's shape)."""

    def __call__(self, W):
        raise NotImplementedError

    def gradient(self, W):
        raise NotImplementedError

    def get_config(self):
        raise NotImplementedError

    def __repr__(self):
        settings = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({settings})"


class L1L2(Regularizer):
    """Ω(W) = λ₁ Σ|w_ij| + λ₂ Σ w_ij², as ``keras.regularizers.L1L2(l1=0.0, l2=0.0)``; its
    gradient λ₁ sign(W) + 2 λ₂ W (chapter 8, eq. (eq-l2)). The formulas of L1 and L2 too."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = _factor(l1, "l1")
        self.l2 = _factor(l2, "l2")

    def __call__(self, W):
        penalty = 0.0
        if self.l1:
            penalty += self.l1 * float(np.abs(W).sum())
        if self.l2:
            penalty += self.l2 * float(np.square(W).sum())
        return penalty

    def gradient(self, W):
        if self.l1 and self.l2:
            return self.l1 * np.sign(W) + (2 * self.l2) * W
        if self.l1:
            return self.l1 * np.sign(W)
        return (2 * self.l2) * W

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    """Ω(W) = λ₁ Σ|w_ij|, as ``keras.regularizers.L1(l1=0.01)``."""

    def __init__(self, l1=0.01):
        super().__init__(l1=l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    """Ω(W) = λ₂ Σ w_ij², as ``keras.regularizers.L2(l2=0.01)`` (weight decay: chapter 8,
    eq. (eq-l2))."""

    def __init__(self, l2=0.01):
        super().__init__(l2=l2)

    def get_config(self):
        return {"l2": self.l2}


_CLASSES = {"L1": L1, "L2": L2, "L1L2": L1L2, "l1": L1, "l2": L2, "l1l2": L1L2}


def names():
    """The names ``get`` accepts: Keras's identifiers."""
    return sorted(_CLASSES)


def get(identifier):
    """None, a :class:`Regularizer`, or a Keras name ("l2", "l1", "l1l2", "L2", …), which
    gives Keras's defaults (λ = 0.01 for L1 and L2; 0 and 0 for L1L2)."""
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, str) and identifier in _CLASSES:
        return _CLASSES[identifier]()
    raise ValueError(f"kernel_regularizer: expected None, an nnlib.regularizers.Regularizer or "
                     f"one of {names()}, got {identifier!r}")


def from_config(config):
    """Rebuild a regularizer from ``{"class_name": ..., "config": get_config()}``."""
    if config is None:
        return None
    return _CLASSES[config["class_name"]](**config["config"])
