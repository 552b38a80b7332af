"""Optimizers: how a gradient becomes a step (chapter 5).

Each follows Keras 3's update formulas exactly, so that the same gradients give the same
weights. As ``keras.optimizers.Optimizer.apply``, ``apply(grads, variables)`` updates every
array of ``variables`` in place, ``grads`` in the same order (``model.weights``'s order).

Plain gradient descent (chapter 5, eq. (eq-gd)):   θ^{(t+1)} = θ^{(t)} − α ∇_θ C(θ^{(t)})

An optimizer keeps its state (velocities, moments) per variable. Like Keras's, it is built
for the variables it first updates and refuses any others: one optimizer per model.

Hyper-parameters are kept exactly as given. Keras's TensorFlow backend turns Python-float
hyper-parameters such as the momentum μ and Adam's β₁, β₂ into float32 tensors before
casting them to the variables' dtype, even in float64: β₁ = 0.9 becomes
0.8999999761581421 in β₁ᵗ. So at Keras's defaults nnlib and Keras differ by ~1e-7 to 1e-5
relative after a few epochs (chapter 5 measures it), in float64 too — a difference of
hyper-parameters, not of formulas. At
values exact in float32 (μ = 0.875, β₁ = 0.875, β₂ = 0.9990234375, AdamW's weight decay
2⁻⁸ = 0.00390625) they agree to 1e-12 (tests/test_keras_parity.py, tests/test_optimizers.py).
Only hyper-parameters that Keras passes through ``ops.cast`` are rounded (SGD's μ, Adam's
β₁ and β₂ in β₁ᵗ, β₂ᵗ, AdamW's weight decay); RMSprop's ρ and every ε enter Keras's
formulas as Python floats next to float64 tensors and stay exact.

``learning_rate`` may be a float or a schedule from :mod:`nnlib.schedules` (also
``nnlib.optimizers.schedules``, as in Keras): α is then ``schedule(iterations)``, evaluated
before each step (the first step uses ``schedule(0)``). ``optimizer.learning_rate`` reads the
α the next step will use; assigning a number to it changes α (what a callback such as
``LearningRateScheduler`` does), unless the optimizer was made with a schedule.
"""
import math
import numbers

import numpy as np

from . import schedules
from .schedules import LearningRateSchedule
from .validation import float_in, positive_float

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "get", "names", "from_config",
           "schedules"]


class Optimizer:
    """Base class. ``iterations`` counts the steps taken (t); ``learning_rate`` is α.

    A subclass defines ``slots(variable)``, the state it keeps for one variable (a list of
    arrays), and ``update(variable, gradient, slots, learning_rate)``, one variable's step.
    """

    name = "optimizer"

    def __init__(self, learning_rate):
        if isinstance(learning_rate, dict):                   # from get_config
            learning_rate = schedules.deserialize(learning_rate)
        if isinstance(learning_rate, LearningRateSchedule):
            self._learning_rate = learning_rate
        elif callable(learning_rate):
            raise TypeError(f"learning_rate: expected a positive number or an "
                            f"nnlib.optimizers.schedules schedule, got {learning_rate!r}")
        else:
            self._learning_rate = positive_float(learning_rate, "learning_rate")
        self.iterations = 0
        self._variables = self._slots = None

    @property
    def learning_rate(self):
        """α of the next step: the number given, or ``schedule(iterations)``."""
        if isinstance(self._learning_rate, LearningRateSchedule):
            return float(self._learning_rate(self.iterations))
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        # A callback sets α here between steps (as Keras's LearningRateScheduler does); a
        # schedule may end at 0, so 0 is accepted here, though not by the constructor.
        if isinstance(value, LearningRateSchedule):
            self._learning_rate = value
            return
        if isinstance(self._learning_rate, LearningRateSchedule):
            raise TypeError("learning_rate: this optimizer was made with a schedule, so its "
                            "learning rate is the schedule's; make it with a number to set it")
        if (isinstance(value, bool) or not isinstance(value, numbers.Real)
                or not math.isfinite(value) or value < 0):
            raise ValueError(f"learning_rate: expected a finite number ≥ 0, got {value!r}")
        self._learning_rate = float(value)

    def apply(self, grads, variables):
        """One step t → t + 1: update every array in ``variables`` in place from ``grads``.

        The first call builds the optimizer for these arrays; later calls must pass the
        same arrays (checked before anything changes)."""
        variables = list(variables)
        if self._variables is None:
            self._variables, self._slots = variables, [self.slots(v) for v in variables]
        elif len(variables) != len(self._variables) or any(
                v is not w for v, w in zip(variables, self._variables)):
            raise ValueError(f"optimizer: this {type(self).__name__} was built for another model's "
                             f"weights; give each model an optimizer of its own (as Keras "
                             f"requires), or call reset() first")
        learning_rate = self.learning_rate
        for theta, g, slots in zip(variables, grads, self._slots):
            self.update(theta, g, slots, learning_rate)
        self.iterations += 1

    def slots(self, variable):
        return []

    def update(self, variable, gradient, slots, learning_rate):
        raise NotImplementedError

    def reset(self):
        """Forget the step count, the state and the variables it was built for."""
        self.iterations = 0
        self._variables = self._slots = None

    def get_config(self):
        """The constructor's arguments (a schedule as {"class_name", "config"}), and "name"."""
        rate = self._learning_rate
        if isinstance(rate, LearningRateSchedule):
            rate = schedules.serialize(rate)
        return {"name": self.name, "learning_rate": rate}

    def __repr__(self):
        config = {**self.get_config(), "learning_rate": self._learning_rate}
        settings = ", ".join(f"{k}={v!r}" for k, v in config.items() if k != "name")
        return f"{type(self).__name__}({settings})"


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

    def slots(self, variable):
        return [np.zeros_like(variable)] if self.momentum else []

    def update(self, theta, g, slots, alpha):
        if not self.momentum:
            theta -= alpha * g
            return
        mu, (v,) = self.momentum, slots
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

    def slots(self, variable):
        return [np.zeros_like(variable), np.zeros_like(variable)]       # m, v

    def update(self, theta, g, slots, alpha):
        t = self.iterations + 1
        alpha_t = alpha * math.sqrt(1 - self.beta_2 ** t) / (1 - self.beta_1 ** t)   # a Python float:
        m, v = slots                                                # float32 stays float32
        m += (g - m) * (1 - self.beta_1)
        v += (g * g - v) * (1 - self.beta_2)
        theta -= (m * alpha_t) / (np.sqrt(v) + self.epsilon)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


class RMSprop(Optimizer):
    """RMSprop (Hinton, 2012) in Keras 3's form (Keras's default optimizer in ``compile``):

    v ← ρ v + (1 − ρ) g²;   Δ = α g / √(v + ε);   θ ← θ − Δ
    (with momentum μ: w ← μ w + Δ, θ ← θ − w; ``centered``: v − ḡ² replaces v, where
    ḡ ← ρ ḡ + (1 − ρ) g)
    """

    name = "rmsprop"

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False):
        super().__init__(learning_rate)
        self.rho = float_in(rho, "rho", 0.0, 1.0, open_high=True)
        self.momentum = float_in(momentum, "momentum", 0.0, 1.0)
        self.epsilon = positive_float(epsilon, "epsilon")
        if not isinstance(centered, bool):
            raise TypeError(f"centered: expected True or False, got {centered!r}")
        self.centered = centered

    def slots(self, variable):
        return [np.zeros_like(variable) for _ in range(1 + bool(self.momentum) + self.centered)]

    def update(self, theta, g, slots, alpha):
        rho, v = self.rho, slots[0]
        v[...] = rho * v + (1 - rho) * (g * g)
        if self.centered:
            g_mean = slots[-1]
            g_mean[...] = rho * g_mean + (1 - rho) * g
            denominator = v - g_mean * g_mean + self.epsilon
        else:
            denominator = v + self.epsilon
        increment = alpha * g / np.sqrt(denominator)
        if self.momentum:
            w = slots[1]
            w[...] = self.momentum * w + increment
            theta -= w
        else:
            theta -= increment

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}


class AdamW(Adam):
    """AdamW (Loshchilov & Hutter, 2019) in Keras 3's form: Adam with *decoupled* weight decay λ.

    Each step first shrinks every variable, θ ← θ − θ·λ·α (biases too, as Keras by default),
    then takes :class:`Adam`'s step from the gradient g of the loss alone. An L2 term
    (λ/2)‖θ‖² in the loss would instead add λθ to g, where Adam's division by √v rescales it
    (chapter 5, §Momentum, RMSprop, Adam and AdamW).
    """

    name = "adamw"

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7):
        super().__init__(learning_rate, beta_1, beta_2, epsilon)
        self.weight_decay = float_in(weight_decay, "weight_decay", 0.0, 1.0)

    def update(self, theta, g, slots, alpha):
        theta -= theta * self.weight_decay * alpha          # decoupled: θ ← θ − θ λ α
        super().update(theta, g, slots, alpha)

    def get_config(self):
        return {**super().get_config(), "weight_decay": self.weight_decay}


_CLASSES = {cls.name: cls for cls in (SGD, Adam, AdamW, RMSprop)}


def names():
    """The optimizer names nnlib knows (as ``keras.optimizers.get``, any letter case)."""
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
    return _CLASSES[config.pop("name")](**config)      # a schedule's dict: see Optimizer
