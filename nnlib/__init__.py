"""nnlib — a small NumPy neural-network library whose numbers equal Keras's.

Written for the book *Training Neural Networks with Python*: every line implements an
equation the book derives, and every feature Keras also has is tested against Keras.

>>> import nnlib as nn
>>> model = nn.Sequential([nn.Dense(32, activation="relu", input_dim=64),
...                        nn.Dense(10, activation="softmax")], seed=0)
>>> model.compile(optimizer="sgd", loss="categorical_crossentropy")
>>> history = model.fit(X, Y, epochs=10, batch_size=32)

Modules: activations, losses, initializers, layers, model, optimizers, gradcheck,
checks (for exercises), plotting, keras_bridge (the only one that imports Keras, lazily).
"""
from . import activations, checks, gradcheck, initializers, losses, optimizers, plotting
from .layers import Dense, Input
from .model import History, Sequential, TrainingDiverged, load_model

__version__ = "0.1.0"

__all__ = ["Dense", "Input", "Sequential", "History", "TrainingDiverged", "load_model",
           "activations", "losses", "initializers", "optimizers", "gradcheck", "checks",
           "plotting", "keras_bridge"]


def __getattr__(name):
    # nn.keras_bridge is imported on first use, so that `import nnlib` never imports TensorFlow.
    if name == "keras_bridge":
        import importlib
        return importlib.import_module(".keras_bridge", __name__)
    raise AttributeError(f"module 'nnlib' has no attribute {name!r}")
