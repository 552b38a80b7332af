"""The bridge to Keras: the same model, the same weights, both ways (every chapter's
"nnlib and Keras side by side").

TensorFlow is imported here only, lazily, inside the functions, after quietening it
(CONVENTIONS: Testing), so ``import nnlib`` stays light.
"""
import os

import numpy as np

from . import schedules

__all__ = ["keras", "to_keras", "from_keras", "keras_loss", "keras_optimizer", "keras_schedule",
           "keras_regularizer"]


def keras(dtype=None):
    """Import and return Keras quietly; with ``dtype``, make it Keras's default float type.

    Keras builds optimizer variables and losses in ``floatx`` and layers in the global
    dtype policy, which it fixes when the first layer is built: float64 parity needs both
    set before the Keras model and optimizer are made."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    import keras as keras_module
    if dtype is not None:
        keras_module.config.set_floatx(dtype)
        keras_module.config.set_dtype_policy(dtype)
    return keras_module


def keras_loss(loss):
    """The Keras loss object equal to an nnlib loss."""
    k = keras()
    classes = {"mean_squared_error": k.losses.MeanSquaredError,
               "binary_crossentropy": k.losses.BinaryCrossentropy,
               "categorical_crossentropy": k.losses.CategoricalCrossentropy,
               "sparse_categorical_crossentropy": k.losses.SparseCategoricalCrossentropy}
    cls = classes[loss.name]
    return cls() if loss.name == "mean_squared_error" else cls(from_logits=loss.from_logits)


def keras_schedule(schedule):
    """Keras's twin of an nnlib learning-rate schedule. Its rates are passed as ``np.float64``:
    Keras computes a schedule given Python floats in float32 (chapter 5, §Learning-rate
    schedules), one given float64 numbers in float64, as nnlib does."""
    config = dict(schedule.get_config())
    for key in ("initial_learning_rate", "warmup_target"):
        if config.get(key) is not None:
            config[key] = np.float64(config[key])
    if "values" in config:
        config["values"] = [np.float64(v) for v in config["values"]]
    return getattr(keras().optimizers.schedules, type(schedule).__name__)(**config)


def keras_optimizer(optimizer):
    """The Keras optimizer with the same settings as an nnlib optimizer, a schedule included."""
    config = optimizer.get_config()
    del config["name"]
    if isinstance(config["learning_rate"], dict):
        config["learning_rate"] = keras_schedule(schedules.deserialize(config["learning_rate"]))
    return getattr(keras().optimizers, type(optimizer).__name__)(**config)


def keras_regularizer(regularizer):
    """The Keras regularizer equal to an nnlib one (None for None)."""
    if regularizer is None:
        return None
    return getattr(keras().regularizers, type(regularizer).__name__)(**regularizer.get_config())


def _keras_layer(layer, dtype):
    from .layers import Dropout
    k = keras()
    if isinstance(layer, Dropout):
        return k.layers.Dropout(layer.rate, seed=layer.seed, dtype=dtype)
    return k.layers.Dense(layer.units, activation=layer.activation.name, dtype=dtype,
                          kernel_regularizer=keras_regularizer(layer.kernel_regularizer))


def to_keras(model):
    """A ``keras.Sequential`` with the same layers (Dense, with their kernel regularizers, and
    Dropout), activations, dtype and weights as the nnlib ``model``; compiled with the same
    loss and optimizer settings if ``model`` is. Makes the model's dtype Keras's default
    (``keras.config.floatx`` and dtype policy). Dropout layers get the same rate and seed,
    but Keras draws its masks with TensorFlow's generator: not nnlib's masks."""
    k = keras(model.dtype)
    keras_model = k.Sequential([k.Input(shape=(model.input_dim,), dtype=model.dtype)]
                               + [_keras_layer(layer, model.dtype) for layer in model.layers])
    keras_model.set_weights(model.get_weights())
    if model.loss is not None:
        keras_model.compile(optimizer=keras_optimizer(model.optimizer), loss=keras_loss(model.loss),
                            metrics=[name for name, _ in model.metrics] or None)
    return keras_model


def from_keras(keras_model):
    """An nnlib ``Sequential`` equal to a Keras Sequential of Dense layers (with L1, L2 or
    L1L2 kernel regularizers) and Dropout layers: same weights, rates and penalties."""
    from . import regularizers
    from .layers import Dense, Dropout, Input
    from .model import Sequential

    layers = []
    for layer in keras_model.layers:
        kind = type(layer).__name__
        if kind == "Dropout":
            layers.append(Dropout(layer.rate, seed=layer.seed))
            continue
        if kind != "Dense":
            raise ValueError(f"keras_model: only Dense and Dropout layers can be converted, "
                             f"found {kind}")
        penalty = layer.kernel_regularizer
        if penalty is not None:
            if type(penalty).__name__ not in ("L1", "L2", "L1L2"):
                raise ValueError(f"keras_model: only L1, L2 and L1L2 kernel regularizers can be "
                                 f"converted, found {type(penalty).__name__}")
            penalty = regularizers.from_config({"class_name": type(penalty).__name__,
                                                "config": penalty.get_config()})
        layers.append(Dense(layer.units, activation=layer.activation.__name__,
                            kernel_regularizer=penalty))
    weights = keras_model.get_weights()
    dtype = str(weights[0].dtype)
    model = Sequential([Input(shape=(weights[0].shape[0],))] + layers, dtype=dtype)
    model.set_weights(weights)
    return model
