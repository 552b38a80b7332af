"""Kernel regularizers (nnlib.regularizers, chapter 8): the penalty joins the loss and its
gradient joins ∂C/∂W exactly as Keras adds ``model.losses`` to every batch's loss — loss
history, val_loss, evaluate, gradients and final weights equal to Keras in float64 (1e-12);
central differences of the penalised cost; identifiers, saving and bad input."""
import numpy as np
import pytest

import nnlib as nn
from nnlib import regularizers
from nnlib.gradcheck import numerical_gradient, relative_error
from nnlib.keras_bridge import from_keras, to_keras

# λ exactly representable in float32: Keras rounds λ through float32 (see the module).
PENALTIES = {
    "l2": lambda: regularizers.L2(2.0 ** -7),
    "l1": lambda: regularizers.L1(2.0 ** -7),
    "l1l2": lambda: regularizers.L1L2(l1=2.0 ** -8, l2=2.0 ** -5),
}


def allclose(a, b, rtol=1e-12):
    np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * max(1.0, np.abs(b).max()))


def model_with(penalty, dropout=False, seed=0, loss="categorical_crossentropy"):
    """64-16-(Dropout)-8-10 on the digits, a penalty on the first two kernels only."""
    layers = [nn.Input(shape=(64,)), nn.Dense(16, activation="tanh", kernel_regularizer=penalty()),
              nn.Dense(8, activation="relu", kernel_regularizer=penalty()),
              nn.Dense(10, activation="softmax")]
    if dropout:
        layers.insert(2, nn.Dropout(0.25))
    model = nn.Sequential(layers, seed=seed, dtype="float64")
    model.compile(optimizer=nn.optimizers.SGD(learning_rate=0.25), loss=loss)
    return model


@pytest.mark.parametrize("name", PENALTIES)
def test_penalty_and_its_gradient_are_the_formulas(name):
    """Ω(W) and ∂Ω/∂W against the hand-written formulas, and Ω's gradient against central
    differences."""
    W = np.random.default_rng(1).normal(size=(5, 3))
    reg = PENALTIES[name]()
    l1, l2 = (reg.get_config().get(k, 0.0) for k in ("l1", "l2"))
    assert reg(W) == pytest.approx(l1 * np.abs(W).sum() + l2 * (W ** 2).sum(), rel=1e-14)
    allclose(reg.gradient(W), l1 * np.sign(W) + 2 * l2 * W, rtol=1e-15)
    assert relative_error(reg.gradient(W), numerical_gradient(lambda: reg(W), W)) < 1e-7


@pytest.mark.parametrize("name", PENALTIES)
def test_penalty_value_equals_keras(keras, name):
    k = keras
    k.config.set_floatx("float64")
    reg = PENALTIES[name]()
    W = np.random.default_rng(2).normal(size=(6, 4))
    keras_reg = getattr(k.regularizers, type(reg).__name__)(**reg.get_config())
    allclose(reg(W), float(keras_reg(W)), rtol=1e-14)


@pytest.mark.parametrize("name", PENALTIES)
def test_fit_with_penalties_equals_keras(keras, digits, name):
    """3 epochs of batches of 32, shuffle off, with validation data: loss (penalty included),
    val_loss, evaluate and the final weights equal Keras's to 1e-12."""
    X, labels, onehot = digits
    model = model_with(PENALTIES[name])
    keras_model = to_keras(model)
    data = dict(x=X[:200], y=onehot[:200], batch_size=32, epochs=3, verbose=0, shuffle=False,
                validation_data=(X[200:], onehot[200:]))
    h_nn, h_k = model.fit(**data), keras_model.fit(**data)
    for key in ("loss", "val_loss"):
        allclose(h_nn.history[key], h_k.history[key])
    for a, b in zip(model.get_weights(), keras_model.get_weights()):
        allclose(a, b)
    allclose(model.evaluate(X, onehot, verbose=0), keras_model.evaluate(X, onehot, verbose=0))
    allclose(sum(model.losses), float(sum(keras_model.losses)))
    penalty = sum(model.losses)
    assert penalty > 0.01 * h_nn.history["loss"][-1]          # the penalty is not negligible


@pytest.mark.parametrize("name", PENALTIES)
def test_gradients_equal_keras_gradient_tape(keras, digits, name):
    """∂(C + Σ Ω)/∂θ: nnlib's backward pass against TensorFlow's automatic differentiation of
    Keras's loss plus ``model.losses``."""
    import tensorflow as tf
    X, labels, onehot = digits
    model = model_with(PENALTIES[name])
    keras_model = to_keras(model)
    x, y = tf.constant(X[:40]), tf.constant(onehot[:40])
    with tf.GradientTape() as tape:
        cost = keras_model.loss(y, keras_model(x, training=True)) + tf.add_n(keras_model.losses)
    expected = tape.gradient(cost, keras_model.trainable_weights)
    for got, want in zip(model.gradients(X[:40], onehot[:40]), expected):
        allclose(got, want.numpy())


@pytest.mark.parametrize("name", PENALTIES)
def test_gradients_of_the_penalised_cost_by_central_differences(digits, name):
    """J = C + Σ Ω, as ``evaluate`` returns it, differentiated numerically: < 1e-7."""
    X, labels, onehot = digits
    model = model_with(PENALTIES[name], loss="mse")
    X, y = X[:30], onehot[:30]
    analytic = model.gradients(X, y)
    for W, g in zip(model.weights[:4], analytic[:4]):
        numeric = numerical_gradient(lambda: model.evaluate(X, y, batch_size=30, verbose=0), W)
        assert relative_error(g, numeric) < 1e-7


def test_training_step_adds_the_penalty_to_the_loss_and_2_lambda_w_to_the_gradient(digits):
    """One SGD step on a one-layer model by hand: W ← W − α (Aᵀδ + 2λW)."""
    X, labels, onehot = digits
    model = nn.Sequential([nn.Input(shape=(64,)),
                           nn.Dense(10, activation="softmax", kernel_regularizer="l2")],
                          dtype="float64")
    model.compile(optimizer=nn.optimizers.SGD(learning_rate=0.5),
                  loss="categorical_crossentropy")
    W, b = model.get_weights()
    x, y = X[:16], onehot[:16]
    logits = x @ W + b
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    data_loss = -np.mean(np.sum(y * np.log(p), axis=1))
    loss = model.train_step(x, y)
    assert loss == pytest.approx(data_loss + 0.01 * np.sum(W ** 2), rel=1e-13)
    allclose(model.get_weights()[0], W - 0.5 * (x.T @ (p - y) / 16 + 2 * 0.01 * W))
    allclose(model.get_weights()[1], b - 0.5 * (p - y).sum(axis=0) / 16)   # no bias penalty


def test_keras_rounds_lambda_through_float32_and_nnlib_does_not(keras):
    """The one documented difference: at λ = 0.01 Keras's penalty is ~2e-8 lower."""
    keras.config.set_floatx("float64")
    W = np.ones((4, 5))
    assert regularizers.L2(0.01)(W) == pytest.approx(0.2, rel=1e-15)
    assert float(keras.regularizers.L2(0.01)(W)) == pytest.approx(20 * float(np.float32(0.01)),
                                                                  rel=1e-15)


@pytest.mark.parametrize("identifier,expected", [("l2", {"l2": 0.01}), ("L2", {"l2": 0.01}),
                                                 ("l1", {"l1": 0.01}), ("L1", {"l1": 0.01}),
                                                 ("l1l2", {"l1": 0.0, "l2": 0.0}),
                                                 ("L1L2", {"l1": 0.0, "l2": 0.0})])
def test_string_identifiers_are_keras_identifiers(keras, identifier, expected):
    reg = nn.Dense(3, kernel_regularizer=identifier).kernel_regularizer
    keras_reg = keras.regularizers.get(identifier)
    assert type(reg).__name__ == type(keras_reg).__name__
    assert reg.get_config() == expected
    assert reg.get_config() == pytest.approx(keras_reg.get_config())


def test_unknown_identifier_and_bad_factors_are_refused():
    with pytest.raises(ValueError, match="kernel_regularizer"):
        nn.Dense(3, kernel_regularizer="l1_l2")          # Keras refuses it too
    with pytest.raises(ValueError, match="kernel_regularizer"):
        nn.Dense(3, kernel_regularizer=lambda W: 0.0)     # nnlib needs the gradient as well
    for bad in (-0.1, float("nan"), float("inf"), "0.1", True):
        with pytest.raises(ValueError, match="l2"):
            regularizers.L2(bad)
        with pytest.raises(ValueError, match="l1"):
            regularizers.L1L2(l1=bad)


def test_a_model_without_penalties_has_no_losses_and_trains_as_before(digits):
    X, labels, onehot = digits
    plain = nn.Sequential([nn.Input(shape=(64,)), nn.Dense(10, activation="softmax")],
                          dtype="float64")
    zero = nn.Sequential([nn.Input(shape=(64,)),
                          nn.Dense(10, activation="softmax", kernel_regularizer=regularizers.L2(0.0))],
                         dtype="float64")
    for model in (plain, zero):
        model.compile(optimizer="sgd", loss="categorical_crossentropy")
        model.fit(X, onehot, batch_size=32, epochs=1, shuffle=False, verbose=0)
    assert plain.losses == [] and zero.losses == [0.0]
    for a, b in zip(plain.get_weights(), zero.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_save_load_to_keras_and_from_keras_keep_the_penalties(keras, tmp_path, digits):
    X, labels, onehot = digits
    model = model_with(PENALTIES["l1l2"], dropout=True)
    model.save(tmp_path / "m.npz")
    loaded = nn.load_model(tmp_path / "m.npz")
    keras_model = to_keras(model)
    back = from_keras(keras_model)
    for other in (loaded, back):
        assert [getattr(layer, "kernel_regularizer", None) and layer.kernel_regularizer.get_config()
                for layer in other.layers] == [
            getattr(layer, "kernel_regularizer", None) and layer.kernel_regularizer.get_config()
            for layer in model.layers]
    penalties = [layer.kernel_regularizer for layer in keras_model.layers
                 if getattr(layer, "kernel_regularizer", None) is not None]
    assert [type(p).__name__ for p in penalties] == ["L1L2", "L1L2"]
    allclose(loaded.evaluate(X, onehot, verbose=0), model.evaluate(X, onehot, verbose=0),
             rtol=1e-15)
