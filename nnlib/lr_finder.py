"""The learning-rate range test (Smith, 2017): the loss of a short training run in which the
learning rate grows exponentially, step by step (chapter 8, §The learning-rate range test).

Step i = 0, …, N − 1 of the run uses (chapter 8, eq. (eq-lr-range))::

    α_i = α_min · (α_max / α_min)^{i / (N − 1)}

on one mini-batch, so that the N steps sweep α from ``min_lr`` to ``max_lr`` on a log scale.
While α is too small the loss hardly moves; over a range of useful rates it falls; past
them it rises and the run diverges. The suggested α is a tenth of the α at which the
smoothed loss is lowest: the loss is still falling there, well before divergence.

The run trains a copy of the model (same layers and weights, the same optimizer class and
settings with a fresh state), so the model's weights and optimizer state are as they were.

>>> from nnlib.lr_finder import lr_range_test, smooth
>>> learning_rates, losses, suggested = lr_range_test(model, X, y, steps=100)
"""
import math
from typing import NamedTuple

import numpy as np

from . import optimizers, validation
from .layers import Input, from_config

__all__ = ["LRRangeTest", "lr_range_test", "smooth", "DIVERGED"]

DIVERGED = 4.0      # the run stops once the smoothed loss exceeds 4 × its lowest value


class LRRangeTest(NamedTuple):
    """What :func:`lr_range_test` returns: α_i and the loss of step i for the steps run
    (arrays of the same length, at most ``steps``), and the suggested α."""
    learning_rates: np.ndarray
    losses: np.ndarray
    suggested: float


def smooth(losses, smoothing=0.9):
    """Exponential moving average with bias correction, as in the range test:
    s_i = (β s_{i−1} + (1 − β) C_i) / (1 − β^{i+1}) with s_{−1} = 0, β = ``smoothing`` in [0, 1)."""
    smoothing = validation.float_in(smoothing, "smoothing", 0.0, 1.0, open_high=True)
    losses = np.asarray(losses, dtype=float)
    average, smoothed = 0.0, np.empty_like(losses)
    for i, loss in enumerate(losses):
        average = smoothing * average + (1 - smoothing) * loss
        smoothed[i] = average / (1 - smoothing ** (i + 1))
    return smoothed


def _copy(model, learning_rate):
    """The same layers, weights, loss and optimizer settings, with a fresh optimizer whose
    learning rate is a number."""
    from .model import Sequential
    copy = Sequential([Input(shape=(model.input_dim,))]
                      + [from_config(layer.get_config()) for layer in model.layers],
                      seed=model.seed, dtype=model.dtype)
    copy.set_weights(model.get_weights())
    config = {**model.optimizer.get_config(), "learning_rate": learning_rate}
    copy.compile(optimizer=optimizers.from_config(config), loss=model.loss)
    return copy


def lr_range_test(model, x, y, min_lr=1e-6, max_lr=1.0, steps=100, batch_size=32,
                  smoothing=0.9, seed=0):
    """Run the range test on a copy of the compiled ``model`` with data x (m, n_0), y.

    ``steps`` mini-batches of ``batch_size`` rows are drawn in a random order (``seed``),
    passing over the data again if it is used up; step i trains with α_i of eq.
    (eq-lr-range) and records the batch's loss before its update, as ``fit`` does. The run
    stops early when the loss is not finite or its smoothed value (:func:`smooth`) exceeds
    ``DIVERGED`` times its lowest. Returns :class:`LRRangeTest` (learning_rates, losses,
    suggested); the suggestion is a tenth of the α at the smoothed loss's minimum.
    """
    if getattr(model, "loss", None) is None or getattr(model, "optimizer", None) is None:
        raise ValueError("model: compile the model (optimizer and loss) before the range test")
    if not model.built:
        raise ValueError("model: its weights do not exist yet; start it with nn.Input(shape=(n,))")
    min_lr = validation.positive_float(min_lr, "min_lr")
    max_lr = validation.positive_float(max_lr, "max_lr")
    if max_lr <= min_lr:
        raise ValueError(f"max_lr: expected a number larger than min_lr={min_lr}, got {max_lr}")
    steps = validation.positive_int(steps, "steps")
    if steps < 2:
        raise ValueError(f"steps: expected at least 2 steps, got {steps}")
    batch_size = validation.positive_int(batch_size, "batch_size")
    smoothing = validation.float_in(smoothing, "smoothing", 0.0, 1.0, open_high=True)
    x = validation.inputs(x, model.input_dim, model.dtype, "x")
    y = validation.targets(y, len(x), model.output_dim, model.loss, model.dtype, "y")

    batch_size = min(batch_size, len(x))                     # as fit: one batch at most m
    copy = _copy(model, min_lr)
    rng = np.random.default_rng(seed)
    learning_rates = min_lr * (max_lr / min_lr) ** (np.arange(steps) / (steps - 1))
    order, losses = np.empty(0, dtype=np.intp), []
    best = average = math.inf
    with np.errstate(over="ignore", invalid="ignore"):
        for i, alpha in enumerate(learning_rates):
            if len(order) < batch_size:                       # a new pass over the data
                order = np.concatenate([order, rng.permutation(len(x))])
            rows, order = order[:batch_size], order[batch_size:]
            copy.optimizer.learning_rate = float(alpha)
            loss = copy.train_step(x[rows], y[rows])
            if not math.isfinite(loss):
                break
            losses.append(loss)
            average = smooth(losses, smoothing)[-1]
            best = min(best, average)
            if average > DIVERGED * best:
                break
    if not losses:
        raise ValueError(f"min_lr: the loss was not finite at the first step (α = {min_lr}); "
                         f"the model or the data give an infinite loss")
    losses = np.array(losses)
    learning_rates = learning_rates[:len(losses)]
    suggested = float(learning_rates[np.argmin(smooth(losses, smoothing))] / 10)
    return LRRangeTest(learning_rates, losses, suggested)
