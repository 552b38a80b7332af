"""Accuracy, the one metric a model computes while it trains (chapter 6).

``compile(metrics=["accuracy"])`` picks one of the three accuracies below as Keras does,
from the shapes of the targets and the output: a single output unit → binary accuracy;
integer labels → sparse categorical accuracy; otherwise categorical accuracy. Each returns
the fraction of correct predictions in a batch; ``fit`` reports their mean over the epoch,
weighted by batch size, as Keras's ``history.history["accuracy"]``.

Every other metric (precision, recall, F1, confusion matrices, …) comes from
``sklearn.metrics`` applied to ``model.predict``: nnlib does not rewrite them.
"""

__all__ = ["binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy", "get"]


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """Fraction of entries with (ŷ > threshold) equal to y; y, ŷ of shape (m, n_L)."""
    return float(((y_pred > threshold) == y_true).mean())


def categorical_accuracy(y_true, y_pred):
    """Fraction of rows whose largest ŷ is at the largest y (one-hot rows), shapes (m, n_L)."""
    return float((y_true.argmax(axis=-1) == y_pred.argmax(axis=-1)).mean())


def sparse_categorical_accuracy(y_true, y_pred):
    """Fraction of rows whose largest ŷ is at the label y; y (m,) integers, ŷ (m, n_L)."""
    return float((y_true == y_pred.argmax(axis=-1)).mean())


_ACCURACY_NAMES = ("accuracy", "acc")


def get(identifier, sparse_labels, n_outputs):
    """The accuracy function for ``identifier`` ("accuracy" or "acc"), chosen as Keras's
    ``compile`` chooses it: by the output width ``n_outputs`` and whether the targets are
    integer labels (``sparse_labels``)."""
    if not (isinstance(identifier, str) and identifier.lower() in _ACCURACY_NAMES):
        raise ValueError(f"metrics: nnlib computes {list(_ACCURACY_NAMES)} while training; got "
                         f"{identifier!r}. Other metrics: sklearn.metrics on model.predict(x)")
    if n_outputs == 1:
        return binary_accuracy
    return sparse_categorical_accuracy if sparse_labels else categorical_accuracy
