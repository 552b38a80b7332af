"""Callbacks: code that ``fit`` calls at fixed points of training, as Keras's (chapter 6).

Subclass :class:`Callback` and override any hook; pass instances as ``fit(callbacks=[...])``.
Each hook receives ``logs``, a dict of the numbers so far: ``loss``, the compiled metrics
(``accuracy``) and, at the end of an epoch with validation data, ``val_loss`` and
``val_accuracy``. ``self.model`` is the model being trained; setting
``self.model.stop_training = True`` ends training after the current epoch.
"""

import inspect
import numbers
import warnings

import numpy as np

__all__ = ["Callback", "History", "LearningRateScheduler", "EarlyStopping"]


class Callback:
    """Base class with Keras's hooks; each does nothing until overridden."""

    def __init__(self):
        self.model = None

    def set_model(self, model):
        self.model = model

    def on_train_begin(self, logs=None):
        """Before the first epoch."""

    def on_train_end(self, logs=None):
        """After the last epoch; ``logs`` are the last epoch's."""

    def on_epoch_begin(self, epoch, logs=None):
        """Before epoch ``epoch`` (counted from 0)."""

    def on_epoch_end(self, epoch, logs=None):
        """After epoch ``epoch``, with the epoch's loss, metrics and validation numbers."""

    def on_train_batch_end(self, batch, logs=None):
        """After step ``batch`` of the epoch (from 0), with the epoch's running means so far."""


class History(Callback):
    """What ``fit`` returns: ``history["loss"]`` (and every other number of ``logs``) per
    epoch, and ``epoch``, the epochs run, as Keras's ``History``."""

    def on_train_begin(self, logs=None):
        self.history, self.epoch = {}, []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)

    def __repr__(self):
        return f"<History of {len(self.epoch)} epochs: {sorted(self.history)}>"


class LearningRateScheduler(Callback):
    """Set the optimizer's learning rate at the start of every epoch, as Keras's callback
    (chapter 5, §Learning-rate schedules).

    ``schedule(epoch, lr)`` receives the epoch (from 0) and the current learning rate and
    returns the new one (a ``schedule(epoch)`` of one argument is accepted too, as in Keras).
    At the end of each epoch the rate in use is added to the logs as ``"learning_rate"``,
    so ``history.history["learning_rate"]`` lists it per epoch. ``verbose=1`` prints each
    change. The optimizer must have been made with a number, not a schedule.
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(f"schedule: expected a function schedule(epoch, lr), got {schedule!r}")
        if isinstance(verbose, bool) or verbose not in (0, 1):
            raise ValueError(f"verbose: expected 0 or 1, got {verbose!r}")
        self.schedule, self.verbose = schedule, verbose
        self._two_arguments = _takes_two_arguments(schedule)

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        old = float(optimizer.learning_rate)
        new = self.schedule(epoch, old) if self._two_arguments else self.schedule(epoch)
        if isinstance(new, bool) or not isinstance(new, numbers.Real):
            raise ValueError(f"schedule: should return the learning rate as a float, "
                             f"returned {new!r} at epoch {epoch}")
        optimizer.learning_rate = float(new)
        if self.verbose:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to "
                  f"{float(new)}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        logs["learning_rate"] = float(self.model.optimizer.learning_rate)   # History records it


def _takes_two_arguments(function):
    """Does ``function`` accept (epoch, lr)? (Keras tries and catches a TypeError; checking the
    signature instead never hides a TypeError raised inside the user's function.)"""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return True
    try:
        signature.bind(0, 0.0)
        return True
    except TypeError:
        return False


class EarlyStopping(Callback):
    """Stop training when a monitored number has stopped improving, as Keras 3's
    ``keras.callbacks.EarlyStopping`` (chapter 8, §Early stopping).

    At the end of each epoch from ``start_from_epoch`` on (epochs count from 0), the value
    ``logs[monitor]`` is compared with the best so far. It is an improvement when it is lower
    by more than ``min_delta`` (mode "min"; higher by more than ``min_delta`` in mode "max";
    "auto" takes "max" for accuracy and "min" for a loss). ``wait`` counts the monitored epochs
    since the last improvement; training stops after the epoch at which ``wait`` reaches
    ``patience`` (never after epoch 0). With a ``baseline``, an improvement resets ``wait``
    only if it also beats the baseline. With ``restore_best_weights``, the weights at the end
    of the best epoch are put back when training ends, stopped early or not (the first
    monitored epoch is the best until another improves on it).

    After ``fit``: ``stopped_epoch`` (0 if training was not stopped), ``best``, ``best_epoch``.
    As Keras, a ``monitor`` missing from the logs gives a warning and is skipped, and values
    are compared as float32 numbers (Keras turns them into float32 tensors), so that ties are
    judged alike (tests/test_early_stopping.py).
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        if not isinstance(monitor, str):
            raise TypeError(f"monitor: expected the name of a logged number such as "
                            f"'val_loss', got {monitor!r}")
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode: expected 'auto', 'min' or 'max', got {mode!r}")
        for name, value in (("min_delta", min_delta), ("baseline", baseline)):
            if value is not None and (isinstance(value, bool)
                                      or not isinstance(value, numbers.Real)):
                raise TypeError(f"{name}: expected a number, got {value!r}")
        for name, value in (("patience", patience), ("start_from_epoch", start_from_epoch)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
                raise ValueError(f"{name}: expected a non-negative integer, got {value!r}")
        if isinstance(verbose, bool) or verbose not in (0, 1):
            raise ValueError(f"verbose: expected 0 or 1, got {verbose!r}")
        if not isinstance(restore_best_weights, bool):
            raise TypeError(f"restore_best_weights: expected True or False, "
                            f"got {restore_best_weights!r}")
        self.monitor, self.mode, self.min_delta = monitor, mode, abs(min_delta)
        self.patience, self.verbose, self.baseline = int(patience), verbose, baseline
        self.restore_best_weights, self.start_from_epoch = restore_best_weights, start_from_epoch
        self.wait = self.stopped_epoch = self.best_epoch = 0
        self.best = self.best_weights = None
        self._direction = None                        # +1: higher is better; −1: lower

    def _set_direction(self):
        """Mode "auto", as Keras: a loss is minimised, an accuracy maximised."""
        if self.mode != "auto":
            self._direction = 1 if self.mode == "max" else -1
            return
        name = self.monitor.removeprefix("val_")
        compiled = [metric for metric, _ in getattr(self.model, "metrics", [])]
        if name == "loss":
            self._direction = -1
        elif name in compiled and name.lower() in ("accuracy", "acc"):
            self._direction = 1
        else:
            raise ValueError(f"mode: with mode='auto', EarlyStopping cannot tell whether "
                             f"monitor={self.monitor!r} should go up or down; pass mode='max' "
                             f"or mode='min'")

    def _is_improvement(self, value, reference):
        """value beats reference by more than min_delta (compared in float32, as Keras)."""
        if reference is None:
            return True
        shifted = np.float32(value - self._direction * self.min_delta)
        return bool(shifted > np.float32(reference) if self._direction > 0
                    else shifted < np.float32(reference))

    def on_train_begin(self, logs=None):
        self.wait = self.stopped_epoch = self.best_epoch = 0
        self.best = self.best_weights = None
        if self._direction is None:
            self._set_direction()

    def on_epoch_end(self, epoch, logs=None):
        current = (logs or {}).get(self.monitor)
        if current is None:
            warnings.warn(f"EarlyStopping: monitor={self.monitor!r} is not in the logs, whose "
                          f"keys are {sorted(logs or {})}", stacklevel=2)
            return
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights, self.best_epoch = self.model.get_weights(), epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose:
                print(f"Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)
