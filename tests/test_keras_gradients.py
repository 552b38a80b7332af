"""nnlib's gradients and losses against TensorFlow's (same weights, float64, 1e-12)."""
import numpy as np
import pytest

import nnlib as nn
from nnlib.keras_bridge import to_keras
from test_keras_parity import HIDDEN, OUTPUT_LOSS, UNUSUAL_OUTPUT_LOSS, case_id, mlp


@pytest.mark.parametrize("output,loss,targets", OUTPUT_LOSS + UNUSUAL_OUTPUT_LOSS,
                         ids=[case_id(o, l) for o, l, _ in OUTPUT_LOSS + UNUSUAL_OUTPUT_LOSS])
@pytest.mark.parametrize("hidden", HIDDEN)
def test_gradients_match_gradient_tape(keras, digits, hidden, output, loss, targets):
    """model.gradients equals tf.GradientTape's gradient of Keras's loss, float64, 1e-12."""
    import tensorflow as tf
    X, labels, onehot = digits
    y = labels if targets == "labels" else onehot
    model = mlp(hidden, output, "float64")
    model.compile(optimizer="sgd", loss=loss)
    keras_model = to_keras(model)
    with tf.GradientTape() as tape:
        value = keras_model.loss(y[:64], keras_model(X[:64]))
    expected = tape.gradient(value, keras_model.trainable_weights)
    got = model.gradients(X[:64], y[:64])
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e.numpy(), rtol=1e-12, atol=1e-12 * np.abs(e.numpy()).max())
    np.testing.assert_allclose(model.evaluate(X[:64], y[:64]), float(value), rtol=1e-12)


def test_extreme_logits_give_finite_losses_and_keras_gradients(keras):
    """Logits of ±1e4: the fused softmax/sigmoid cross-entropies stay finite and equal Keras's."""
    import tensorflow as tf
    keras.config.set_floatx("float64")
    z = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 5.0]])
    y = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    cases = [(nn.losses.CategoricalCrossentropy(from_logits=True), keras.losses.CategoricalCrossentropy(from_logits=True)),
             (nn.losses.BinaryCrossentropy(from_logits=True), keras.losses.BinaryCrossentropy(from_logits=True))]
    for ours, theirs in cases:
        zt = tf.Variable(z)
        with tf.GradientTape() as tape:
            value = theirs(y, zt)
        expected = tape.gradient(value, zt).numpy()
        assert np.isfinite(ours(y, z)) and np.all(np.isfinite(ours.gradient(y, z)))
        np.testing.assert_allclose(ours(y, z), float(value), rtol=1e-12)
        np.testing.assert_allclose(ours.gradient(y, z), expected, rtol=1e-12, atol=1e-300)
    # and through a model whose output layer produces such logits
    model = nn.Sequential([nn.Dense(3, activation="softmax", input_dim=2)], dtype="float64")
    model.set_weights([np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0]]), np.zeros(3)])
    model.compile(loss="categorical_crossentropy")
    X = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert np.isfinite(model.evaluate(X, y))
    assert all(np.all(np.isfinite(g)) for g in model.gradients(X, y))


def test_bridge_round_trip(keras):
    model = mlp("relu", "softmax", "float32", seed=3)
    back = nn.keras_bridge.from_keras(to_keras(model))
    for a, b in zip(model.get_weights(), back.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert [l.activation.name for l in back.layers] == ["relu", "relu", "softmax"]
    assert back.dtype == "float32"


def test_count_params_matches_keras(keras):
    model = mlp("relu", "softmax", "float32")
    assert model.count_params() == to_keras(model).count_params() == (64 + 1) * 32 + (32 + 1) * 16 + (16 + 1) * 10


@pytest.mark.parametrize("name", ["glorot_uniform", "he_normal"])
def test_initializers_draw_from_keras_distributions(keras, name):
    """Not the same numbers (different generators), the same distribution: the same bound
    and, on 500 000 draws, the same standard deviation to 1 %."""
    shape = (1000, 500)
    ours = nn.initializers.get(name)(shape, np.random.default_rng(0), "float64")
    theirs = keras.initializers.get(name)(shape).numpy()
    assert ours.std() == pytest.approx(theirs.std(), rel=0.01)
    assert np.abs(ours).max() == pytest.approx(np.abs(theirs).max(), rel=0.01)
