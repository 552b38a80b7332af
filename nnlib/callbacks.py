"""Callbacks: code that ``fit`` calls at fixed points of training, as Keras's (chapter 6).

Subclass :class:`Callback` and override any hook; pass instances as ``fit(callbacks=[...])``.
Each hook receives ``logs``, a dict of the numbers so far: ``loss``, the compiled metrics
(``accuracy``) and, at the end of an epoch with validation data, ``val_loss`` and
``val_accuracy``. ``self.model`` is the model being trained; setting
``self.model.stop_training = True`` ends training after the current epoch.
"""

__all__ = ["Callback", "History"]


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
