"""The bridge to Keras: the same model, the same weights, both ways (every chapter's
"nnlib and Keras side by side").

TensorFlow is imported here only, lazily, inside the functions, after quietening it
(CONVENTIONS: Testing), so ``import nnlib`` stays light.
"""
import os

__all__ = ["keras", "to_keras", "from_keras", "keras_loss", "keras_optimizer"]


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


def keras_optimizer(optimizer):
    """The Keras optimizer with the same settings as an nnlib optimizer."""
    k = keras()
    config = optimizer.get_config()
    del config["name"]
    return getattr(k.optimizers, type(optimizer).__name__)(**config)


def to_keras(model):
    """A ``keras.Sequential`` with the same layers, activations, dtype and weights as the
    nnlib ``model``; compiled with the same loss and optimizer settings if ``model`` is.
    Makes the model's dtype Keras's default (``keras.config.floatx`` and dtype policy)."""
    k = keras(model.dtype)
    keras_model = k.Sequential([k.Input(shape=(model.input_dim,), dtype=model.dtype)]
                               + [k.layers.Dense(layer.units, activation=layer.activation.name,
                                                 dtype=model.dtype) for layer in model.layers])
    keras_model.set_weights(model.get_weights())
    if model.loss is not None:
        keras_model.compile(optimizer=keras_optimizer(model.optimizer), loss=keras_loss(model.loss),
                            metrics=[name for name, _ in model.metrics] or None)
    return keras_model


def from_keras(keras_model):
    """An nnlib ``Sequential`` equal to a Keras Sequential of Dense layers (same weights)."""
    from .layers import Dense, Input
    from .model import Sequential

    dense = [layer for layer in keras_model.layers]
    for layer in dense:
        if type(layer).__name__ != "Dense":
            raise ValueError(f"keras_model: only Dense layers can be converted, found {type(layer).__name__}")
    weights = keras_model.get_weights()
    dtype = str(weights[0].dtype)
    model = Sequential([Input(shape=(weights[0].shape[0],))]
                       + [Dense(layer.units, activation=layer.activation.__name__) for layer in dense],
                       dtype=dtype)
    model.set_weights(weights)
    return model
