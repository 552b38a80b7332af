"""nnlib against Keras: same weights in, same numbers out (issue: nnlib parity)."""
import numpy as np
import pytest

import nnlib as nn
from nnlib.keras_bridge import to_keras

HIDDEN = ["linear", "sigmoid", "tanh", "relu", "leaky_relu"]
# (output activation, loss, how the targets are given): the four pairs a task uses ...
OUTPUT_LOSS = [("softmax", "categorical_crossentropy", "one_hot"),
               ("softmax", "sparse_categorical_crossentropy", "labels"),
               ("sigmoid", "binary_crossentropy", "one_hot"),
               ("linear", "mean_squared_error", "one_hot")]
# ... and two unusual ones: softmax's full Jacobian (no fusing), and logits given to the loss.
UNUSUAL_OUTPUT_LOSS = [("softmax", "mean_squared_error", "one_hot"),
                       ("linear", nn.losses.CategoricalCrossentropy(from_logits=True), "one_hot")]
OPTIMIZERS = {
    "sgd": lambda: nn.optimizers.SGD(learning_rate=0.1),
    "sgd_momentum": lambda: nn.optimizers.SGD(learning_rate=0.05, momentum=0.875, nesterov=True),
    # β's exactly representable in float32: Keras's TensorFlow backend rounds them through float32.
    "adam": lambda: nn.optimizers.Adam(learning_rate=0.01, beta_1=0.875, beta_2=0.9990234375),
}


def mlp(hidden, output, dtype, seed=0):
    return nn.Sequential([nn.Dense(32, activation=hidden, input_dim=64),
                          nn.Dense(16, activation=hidden),
                          nn.Dense(10, activation=output)], seed=seed, dtype=dtype)


def assert_weights_close(a, b, rtol):
    """Element-wise: |a − b| ≤ rtol·|b| + rtol·max|b| for every weight array."""
    for i, (x, y) in enumerate(zip(a, b)):
        np.testing.assert_allclose(x, y, rtol=rtol, atol=rtol * np.abs(y).max(),
                                   err_msg=f"weight array {i}")


def assert_weights_close_in_norm(a, b, rtol):
    """‖a − b‖ ≤ rtol·‖b‖ for every weight array (float32: a weight whose Adam step is
    ±α·sign(g) for g ≈ 0 may flip on a rounding, so element-wise is too strict there)."""
    for i, (x, y) in enumerate(zip(a, b)):
        error = np.linalg.norm(x.astype(np.float64) - y) / np.linalg.norm(y)
        assert error <= rtol, f"weight array {i}: relative error {error:.2e} > {rtol:g}"


def train_both(keras, digits, hidden, output, loss, targets, optimizer, dtype, epochs):
    X, labels, onehot = digits
    y = labels if targets == "labels" else onehot
    model = mlp(hidden, output, dtype)
    model.compile(optimizer=OPTIMIZERS[optimizer](), loss=loss)
    keras_model = to_keras(model)                  # same weights, same settings
    X = X.astype(dtype)
    h_nn = model.fit(X, y, epochs=epochs, batch_size=32, shuffle=False)
    h_k = keras_model.fit(X, y, epochs=epochs, batch_size=32, shuffle=False, verbose=0)
    return model, keras_model, h_nn, h_k


def case_id(output, loss):
    return f"{output}-{getattr(loss, 'name', loss)}{'-logits' if getattr(loss, 'from_logits', 0) else ''}"


CASES = ([(h, *ol, opt) for h in HIDDEN for ol in OUTPUT_LOSS for opt in ("sgd", "adam")]
         + [("relu", *ol, opt) for ol in UNUSUAL_OUTPUT_LOSS for opt in ("sgd", "adam")]
         + [("tanh", *OUTPUT_LOSS[0], "sgd_momentum")])


@pytest.mark.parametrize("hidden,output,loss,targets,optimizer", CASES,
                         ids=[f"{h}-{case_id(o, l)}-{opt}" for h, o, l, _, opt in CASES])
def test_float64_training_matches_keras(keras, digits, hidden, output, loss, targets, optimizer):
    """20 epochs, float64: weights and the loss history agree to 1e-12 relative."""
    model, keras_model, h_nn, h_k = train_both(keras, digits, hidden, output, loss, targets,
                                                optimizer, "float64", epochs=20)
    assert_weights_close(model.get_weights(), keras_model.get_weights(), rtol=1e-12)
    np.testing.assert_allclose(h_nn.history["loss"], h_k.history["loss"], rtol=1e-12)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("hidden", ["sigmoid", "relu"])
def test_float32_training_matches_keras(keras, digits, hidden, optimizer):
    """5 epochs, float32: agree to 1e-6 relative (rounding, not formulas, differs).
    Measured: ≤ 2e-7 (SGD), ≤ 4e-7 (Adam) in norm."""
    model, keras_model, h_nn, h_k = train_both(keras, digits, hidden, "softmax",
                                                "categorical_crossentropy", "one_hot",
                                                optimizer, "float32", epochs=5)
    assert model.get_weights()[0].dtype == np.float32
    assert_weights_close_in_norm(model.get_weights(), keras_model.get_weights(), rtol=1e-6)
    np.testing.assert_allclose(h_nn.history["loss"], h_k.history["loss"], rtol=1e-6)


def test_adam_at_keras_defaults_differs_only_by_float32_rounding(keras, digits):
    """At β₁ = 0.9, β₂ = 0.999 Keras's TensorFlow backend computes β₁ᵗ and β₂ᵗ from
    float32(0.9) = 0.8999999761581421 (and float32(0.999)) even in float64, while nnlib keeps
    the exact values: the runs differ at ~1e-7, not at 1e-15. At values exact in float32
    (the parity tests above) they agree to 1e-12."""
    X, labels, onehot = digits
    model = mlp("relu", "softmax", "float64")
    model.compile(optimizer=nn.optimizers.Adam(learning_rate=0.01), loss="categorical_crossentropy")
    keras_model = to_keras(model)
    model.fit(X, onehot, epochs=3, shuffle=False)
    keras_model.fit(X, onehot, epochs=3, shuffle=False, verbose=0)
    difference = max(np.linalg.norm(a - b) / np.linalg.norm(b)
                     for a, b in zip(model.get_weights(), keras_model.get_weights()))
    assert 1e-12 < difference < 1e-5


def test_source_article_example_matches_keras(keras):
    """The article's example: X = rand(100, 1), y = 3X + rand(100, 1), seed 1, Dense(1), SGD
    (learning rate 0.01), MSE, batch 32, 1000 epochs, float32. Same weights as Keras.

    Keras's ``fit(X, y, epochs=1000, batch_size=32, shuffle=False)`` takes the batches
    32, 32, 32, 4 in order, 1000 times; to spare the test ~25 s of Keras's per-epoch
    overhead, Keras is given exactly that sequence of 4000 batches as one tf.data epoch
    (the same updates in the same order; ``benchmarks/`` times the plain ``fit``)."""
    import tensorflow as tf
    np.random.seed(1)
    X = np.random.rand(100, 1)
    y = 3 * X + np.random.rand(100, 1)
    model = nn.Sequential([nn.Dense(1, input_dim=1)], seed=1)
    model.compile(optimizer="sgd", loss="mse")
    keras_model = to_keras(model)
    keras_model.compile(optimizer=keras.optimizers.SGD(), loss="mse", steps_per_execution=100)
    batches = tf.data.Dataset.from_tensor_slices((X.astype("float32"), y.astype("float32")))
    h_nn = model.fit(X, y, epochs=1000, shuffle=False)
    h_k = keras_model.fit(batches.batch(32).repeat(1000), epochs=1, shuffle=False, verbose=0)
    assert_weights_close(model.get_weights(), keras_model.get_weights(), rtol=1e-6)
    np.testing.assert_allclose(np.mean(h_nn.history["loss"]), h_k.history["loss"][0], rtol=1e-5)
    W, b = model.get_weights()
    assert abs(W[0, 0] - 3) < 0.3 and abs(b[0] - 0.5) < 0.2   # slope ≈ 3, intercept ≈ E[rand] = 0.5


def test_validation_loss_matches_keras(keras, digits):
    X, labels, onehot = digits
    model = mlp("tanh", "softmax", "float64")
    model.compile(optimizer=nn.optimizers.SGD(learning_rate=0.1), loss="categorical_crossentropy")
    keras_model = to_keras(model)
    data = dict(epochs=3, batch_size=50, shuffle=False, validation_data=(X[200:], onehot[200:]))
    h_nn = model.fit(X[:200], onehot[:200], **data)
    h_k = keras_model.fit(X[:200], onehot[:200], verbose=0, **data)
    np.testing.assert_allclose(h_nn.history["val_loss"], h_k.history["val_loss"], rtol=1e-12)
    np.testing.assert_allclose(model.evaluate(X, onehot), keras_model.evaluate(X, onehot, verbose=0),
                               rtol=1e-12)
    np.testing.assert_allclose(model.predict(X), keras_model.predict(X, verbose=0), rtol=1e-12)
