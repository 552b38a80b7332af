"""Learning-rate schedules: α as a function of the step t (chapter 5, §Learning-rate schedules).

Passed as ``learning_rate=`` to any optimizer, as ``keras.optimizers.schedules``: the
optimizer then evaluates ``schedule(optimizer.iterations)`` before each step, so the first
step uses ``schedule(0)``. The classes, their arguments and their formulas are Keras 3's;
``schedule(step)`` returns a Python float.

Keras computes a schedule in the dtype of ``initial_learning_rate`` (of ``values[0]`` for
:class:`PiecewiseConstantDecay`), and its TensorFlow backend makes a Python float a float32
tensor: with plain floats, Keras's schedules are float32 numbers even when the model is
float64, and differ from these (float64) by about 1e-8 relative. Given ``np.float64``
values, Keras computes in float64 and the two agree to the last bit or two
(tests/test_optimizers.py).

Also available as ``nnlib.optimizers.schedules``.
"""
import math
import numbers

__all__ = ["LearningRateSchedule", "ExponentialDecay", "PiecewiseConstantDecay", "CosineDecay",
           "serialize", "deserialize"]


def _number(value, name, allow_zero=False, what="number"):
    """A finite number > 0 (or ≥ 0 with ``allow_zero``), else a ValueError naming ``name``."""
    ok = (not isinstance(value, bool) and isinstance(value, numbers.Real)
          and math.isfinite(value) and (value >= 0 if allow_zero else value > 0))
    if not ok:
        expected = f"a {what} ≥ 0" if allow_zero else f"a positive {what}"
        raise ValueError(f"{name}: expected {expected}, got {value!r}")
    return value


def _rate(value, name, allow_zero=False):
    """A learning rate (or a factor of one), as a float."""
    return float(_number(value, name, allow_zero, "finite number"))


def _steps(value, name, allow_zero=False):
    return _number(value, name, allow_zero, "number of steps")


def _step(step):
    if isinstance(step, bool) or not isinstance(step, numbers.Real) or step < 0:
        raise ValueError(f"step: expected a step count ≥ 0, got {step!r}")
    return float(step)


class LearningRateSchedule:
    """Base class: ``schedule(step)`` is the learning rate α at step t = ``step`` (from 0).

    A subclass defines ``__call__(step)`` and, to be saved with a model, ``get_config()``
    (its constructor's arguments), as in Keras."""

    def __call__(self, step):
        raise NotImplementedError(f"{type(self).__name__} must define __call__(self, step)")

    def get_config(self):
        raise NotImplementedError(f"{type(self).__name__} must define get_config() to be saved")

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        try:
            settings = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items()
                                 if k != "name")
        except NotImplementedError:
            settings = ""
        return f"{type(self).__name__}({settings})"


class ExponentialDecay(LearningRateSchedule):
    """α_t = α₀ · r^{t / T}, or α₀ · r^{⌊t / T⌋} with ``staircase`` (a step down every T steps),
    where α₀ = ``initial_learning_rate``, r = ``decay_rate``, T = ``decay_steps``."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="ExponentialDecay"):
        self.initial_learning_rate = _rate(initial_learning_rate, "initial_learning_rate")
        self.decay_steps = _steps(decay_steps, "decay_steps")
        self.decay_rate = _rate(decay_rate, "decay_rate")
        if not isinstance(staircase, bool):
            raise TypeError(f"staircase: expected True or False, got {staircase!r}")
        self.staircase, self.name = staircase, name

    def __call__(self, step):
        p = _step(step) / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return self.initial_learning_rate * self.decay_rate ** p

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "name": self.name}


class PiecewiseConstantDecay(LearningRateSchedule):
    """α_t = values[0] for t ≤ boundaries[0], values[i] for boundaries[i-1] < t ≤ boundaries[i],
    values[-1] for t > boundaries[-1] (Keras's rule: a boundary belongs to the interval
    before it). ``boundaries`` strictly increasing; one more value than boundaries."""

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        if not isinstance(boundaries, (list, tuple)) or not boundaries:
            raise ValueError(f"boundaries: expected a non-empty list of step numbers, "
                             f"got {boundaries!r}")
        if not isinstance(values, (list, tuple)):
            raise ValueError(f"values: expected a list of learning rates, got {values!r}")
        if len(values) != len(boundaries) + 1:
            raise ValueError(f"values: expected one more value than boundaries "
                             f"({len(boundaries) + 1}), got {len(values)}")
        boundaries = [_steps(b, f"boundaries[{i}]", allow_zero=True)
                      for i, b in enumerate(boundaries)]
        for i in range(1, len(boundaries)):
            if boundaries[i] <= boundaries[i - 1]:
                raise ValueError(f"boundaries: expected strictly increasing steps, got "
                                 f"{boundaries[i - 1]!r} then {boundaries[i]!r} at index {i}")
        self.boundaries = list(boundaries)
        self.values = [_rate(v, f"values[{i}]", allow_zero=True) for i, v in enumerate(values)]
        self.name = name

    def __call__(self, step):
        step = _step(step)
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return value
        return self.values[-1]

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class CosineDecay(LearningRateSchedule):
    """Half a cosine from α₀ down to α₀·``alpha`` over T = ``decay_steps`` steps, then flat:

    α_t = α₀ · ((1 − alpha) · ½(1 + cos(π · min(t, T) / T)) + alpha)

    With ``warmup_target`` (Keras 3): first a straight line from α₀ = ``initial_learning_rate``
    (which may then be 0) up to ``warmup_target`` over ``warmup_steps`` steps, then the cosine
    from ``warmup_target`` down to ``warmup_target``·``alpha`` over the next T steps."""

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay",
                 warmup_target=None, warmup_steps=0):
        warm = warmup_target is not None
        self.initial_learning_rate = _rate(initial_learning_rate, "initial_learning_rate",
                                           allow_zero=warm)
        self.decay_steps = _steps(decay_steps, "decay_steps")
        if (isinstance(alpha, bool) or not isinstance(alpha, numbers.Real)
                or not 0 <= alpha <= 1):
            raise ValueError(f"alpha: expected a fraction in [0, 1] of the learning rate to "
                             f"end at, got {alpha!r}")
        self.alpha = float(alpha)
        self.warmup_target = _rate(warmup_target, "warmup_target") if warm else None
        self.warmup_steps = _steps(warmup_steps, "warmup_steps", allow_zero=True)
        if self.warmup_steps and not warm:
            raise ValueError("warmup_steps: a warmup needs warmup_target, the learning rate "
                             "to reach at its end")
        self.name = name

    def _decay(self, step, start):
        fraction = step / self.decay_steps
        cosine = 0.5 * (1.0 + math.cos(math.pi * fraction))
        return start * ((1 - self.alpha) * cosine + self.alpha)

    def __call__(self, step):
        step = _step(step)
        if self.warmup_target is None:
            return self._decay(min(step, self.decay_steps), self.initial_learning_rate)
        step = min(step, self.decay_steps + self.warmup_steps)
        if step < self.warmup_steps:
            fraction = step / self.warmup_steps
            return ((self.warmup_target - self.initial_learning_rate) * fraction
                    + self.initial_learning_rate)
        return self._decay(step - self.warmup_steps, self.warmup_target)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha, "name": self.name,
                "warmup_target": self.warmup_target, "warmup_steps": self.warmup_steps}


_CLASSES = {cls.__name__: cls for cls in (ExponentialDecay, PiecewiseConstantDecay, CosineDecay)}


def serialize(schedule):
    """{"class_name": ..., "config": ...}: what an optimizer's ``get_config`` stores."""
    if not isinstance(schedule, LearningRateSchedule):
        raise TypeError(f"schedule: expected a LearningRateSchedule, got {schedule!r}")
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def deserialize(config):
    """The schedule that :func:`serialize` described."""
    if not (isinstance(config, dict) and config.get("class_name") in _CLASSES
            and isinstance(config.get("config"), dict)):
        raise ValueError(f"config: expected {{'class_name': one of {sorted(_CLASSES)}, "
                         f"'config': {{...}}}}, got {config!r}")
    return _CLASSES[config["class_name"]].from_config(config["config"])
