"""nnlib — a small NumPy neural-network library whose numbers equal Keras's.

Written for the book *Training Neural Networks with Python*: every line implements an
equation the book derives, and every feature Keras also has is tested against Keras.

>>> import nnlib as nn
>>> model = nn.Sequential([nn.Input(shape=(64,)),
...                        nn.Dense(32, activation="relu"),
...                        nn.Dense(10, activation="softmax")], seed=0)
>>> model.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
>>> history = model.fit(X, Y, batch_size=32, epochs=10, verbose=0)

Modules, one idea each: activations, losses, initializers, regularizers, layers, model,
optimizers, schedules, metrics, callbacks, lr_finder, saliency, gradcheck, checks (for
exercises), plotting, validation (argument checks); keras_bridge (the only one that imports
Keras) and sklearn (scikit-learn estimators) are imported lazily, on first use.
"""
from . import (activations, callbacks, checks, gradcheck, initializers, losses, lr_finder,
               metrics, optimizers, plotting, regularizers, saliency, schedules)
from .callbacks import History
from .layers import Dense, Dropout, Input
from .model import Sequential, TrainingDiverged, load_model

__version__ = "0.2.0"

__all__ = ["Dense", "Dropout", "Input", "Sequential", "History", "TrainingDiverged", "load_model",
           "activations", "losses", "metrics", "initializers", "optimizers", "callbacks",
           "gradcheck", "checks", "plotting", "keras_bridge", "saliency", "sklearn",
           "regularizers", "lr_finder", "schedules"]


def __getattr__(name):
    # nn.keras_bridge is imported on first use, so that `import nnlib` never imports TensorFlow.
    # nn.sklearn likewise, so that `import nnlib` does not import scikit-learn.
    if name in ("keras_bridge", "sklearn"):
        import importlib
        return importlib.import_module("." + name, __name__)
    raise AttributeError(f"module 'nnlib' has no attribute {name!r}")
