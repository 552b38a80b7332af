"""Dropout (nnlib.layers.Dropout, chapter 8): inverted dropout, identity at inference.

Keras draws its masks with TensorFlow's random generator, which nnlib does not reproduce, so
parity with Keras is tested on the same mask: (1) Keras's own Dropout layer in training
mode, its mask read off its output, against nnlib's layer given that mask; (2) whole
training runs in which Keras's dropout is fed, step by step, the masks nnlib drew (Keras's
``backend.random.dropout`` replaced by TensorFlow's formula on a given mask). The random
masks themselves are tested statistically, with tolerances derived from their variance."""
import numpy as np
import pytest

import nnlib as nn
from nnlib.gradcheck import numerical_gradient, relative_error
from nnlib.keras_bridge import to_keras


def allclose(a, b, rtol=1e-12):
    np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * max(1.0, np.abs(b).max()))


def layer(rate, n=6, seed=0, dtype="float64"):
    d = nn.Dropout(rate, seed=seed)
    d.build(n, np.random.default_rng(0), dtype)
    return d


def net(rate=0.25, seed=0, penalty=None, second_dropout=False):
    layers = [nn.Input(shape=(64,)), nn.Dense(32, activation="relu", kernel_regularizer=penalty),
              nn.Dropout(rate), nn.Dense(16, activation="tanh"), nn.Dense(10, activation="softmax")]
    if second_dropout:
        layers.insert(4, nn.Dropout(0.5))
    model = nn.Sequential(layers, seed=seed, dtype="float64")
    model.compile(optimizer=nn.optimizers.SGD(learning_rate=0.25), loss="categorical_crossentropy")
    return model


# ------------------------------------------------------------------ one layer
@pytest.mark.parametrize("dtype,rtol", [("float64", 1e-15), ("float32", 1e-7)])
@pytest.mark.parametrize("rate", [0.1, 0.5, 0.8])
def test_training_output_equals_keras_dropout_on_its_own_mask(keras, rate, dtype, rtol):
    """Keras's Dropout layer in training mode (TensorFlow's random mask); its mask is where the
    output is not 0 (the input has no zero). nnlib's layer given that mask gives the same
    output, and every kept entry is the input times 1/(1 − rate)."""
    x = np.random.default_rng(3).uniform(0.5, 2.0, size=(40, 30)).astype(dtype)
    keras_layer = keras.layers.Dropout(rate, seed=7, dtype=dtype)
    expected = np.asarray(keras_layer(x, training=True))
    mask = expected != 0
    assert 0 < mask.mean() < 1
    d = layer(rate, n=30, dtype=dtype)
    got = d.forward(x, mask=mask)
    allclose(got, expected, rtol=rtol)
    allclose(got[mask], x[mask] / (1 - rate), rtol=rtol)     # Keras's scaling 1/(1 − rate)
    assert np.all(got[~mask] == 0)
    np.testing.assert_array_equal(d.mask, mask)               # the mask used, readable


def test_inference_is_the_identity_as_keras(keras):
    x = np.random.default_rng(4).normal(size=(5, 6))
    d = layer(0.5)
    assert d.forward(x, training=False) is x
    np.testing.assert_array_equal(np.asarray(keras.layers.Dropout(0.5, dtype="float64")(x, training=False)), x)


def test_backward_multiplies_delta_by_the_mask_over_1_minus_rate():
    rng = np.random.default_rng(5)
    x, delta = rng.normal(size=(8, 6)), rng.normal(size=(8, 6))
    mask = rng.random((8, 6)) < 0.7
    d = layer(0.3)
    d.forward(x, mask=mask)
    allclose(d.backward(delta), np.where(mask, delta / 0.7, 0.0), rtol=1e-15)
    assert d.backward(delta, input_gradient=False) is None


def test_the_mean_over_many_masks_is_the_input():
    """Each output entry is x·B/(1 − p), B ~ Bernoulli(1 − p): mean x, variance x² p/(1 − p).
    Over N masks, the mean's standard error is |x|·√(p / ((1 − p) N)); every entry must lie
    within 5 standard errors (for 60 entries, a chance of ~3e-5 of a false alarm), and the
    standardised errors must have a variance near 1 (χ² with 60 degrees of freedom: within
    [0.4, 1.8] but for a chance of ~1e-4)."""
    p, N = 0.3, 4000
    x = np.random.default_rng(6).uniform(-2, 2, size=(6, 10))
    d = layer(p, n=10, seed=11)
    total = np.zeros_like(x)
    kept = 0
    for _ in range(N):
        total += d.forward(x)
        kept += d.mask.sum()
    standard_error = np.abs(x) * np.sqrt(p / ((1 - p) * N))
    z = (total / N - x) / standard_error
    assert np.abs(z).max() < 5
    assert 0.4 < np.mean(z ** 2) < 1.8
    # the fraction kept: binomial, mean 1 − p, standard error √(p(1 − p)/(N·60))
    n = N * x.size
    assert abs(kept / n - (1 - p)) < 5 * np.sqrt(p * (1 - p) / n)


def test_masks_are_reproducible_and_differ_from_step_to_step():
    x = np.ones((4, 6))
    a, b = layer(0.5, seed=3), layer(0.5, seed=3)
    first = [a.forward(x).copy() for _ in range(3)]
    second = [b.forward(x).copy() for _ in range(3)]
    for u, v in zip(first, second):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(first[0], first[1])


def test_bad_input_is_refused_naming_the_argument():
    for bad in (1.0, -0.1, 1.5, "0.5", None, float("nan")):
        with pytest.raises(ValueError, match="rate"):
            nn.Dropout(bad)
    with pytest.raises(ValueError, match="seed"):
        nn.Dropout(0.5, seed=-1)
    d = layer(0.5)
    with pytest.raises(ValueError, match="backward"):
        d.backward(np.ones((2, 6)))
    with pytest.raises(ValueError, match="a_prev"):
        d.forward(np.ones((2, 5)))
    with pytest.raises(ValueError, match="mask"):
        d.forward(np.ones((2, 6)), mask=np.ones((2, 5)))
    with pytest.raises(ValueError, match="mask"):
        d.forward(np.ones((2, 6)), mask=np.full((2, 6), 0.5))
    with pytest.raises(ValueError, match="not built"):
        nn.Dropout(0.5).forward(np.ones((2, 6)))


# ------------------------------------------------------------------ in a Sequential
def test_sequential_with_dropout_builds_counts_and_summarises_as_keras(keras):
    model = net(second_dropout=True)
    keras_model = to_keras(model)
    assert [type(l).__name__ for l in keras_model.layers] == [
        "Dense", "Dropout", "Dense", "Dropout", "Dense"]
    assert [l.rate for l in keras_model.layers if type(l).__name__ == "Dropout"] == [0.25, 0.5]
    assert len(model.weights) == len(keras_model.weights) == 6       # Dense layers only
    assert model.count_params() == keras_model.count_params()
    import io
    text = io.StringIO()
    model.summary(file=text)
    assert "Dropout" in text.getvalue() and f"{model.count_params():,}" in text.getvalue()


def test_dropout_changes_neither_the_initial_weights_nor_the_shuffling(digits):
    """The masks have a generator of their own: the same model without Dropout starts from the
    same weights, and fit shuffles the same way (the model's generator is in the same state)."""
    plain = nn.Sequential([nn.Input(shape=(64,)), nn.Dense(32, activation="relu"),
                           nn.Dense(16, activation="tanh"), nn.Dense(10, activation="softmax")],
                          seed=0, dtype="float64")
    dropped = net(second_dropout=True)
    for a, b in zip(plain.get_weights(), dropped.get_weights()):
        np.testing.assert_array_equal(a, b)
    plain.compile(optimizer="sgd", loss="categorical_crossentropy")
    X, labels, onehot = digits
    plain.fit(X, onehot, batch_size=32, epochs=2, verbose=0)
    dropped.fit(X, onehot, batch_size=32, epochs=2, verbose=0)
    assert plain.rng.random() == dropped.rng.random()


def test_predict_and_evaluate_ignore_dropout(keras, digits):
    """At inference the network is the same network without its Dropout layers: equal to
    the plain model with the same weights, and to Keras's predict and evaluate."""
    X, labels, onehot = digits
    model = net(second_dropout=True)
    model.fit(X, onehot, batch_size=32, epochs=1, verbose=0)
    plain = nn.Sequential([nn.Input(shape=(64,)), nn.Dense(32, activation="relu"),
                           nn.Dense(16, activation="tanh"), nn.Dense(10, activation="softmax")],
                          dtype="float64")
    plain.set_weights(model.get_weights())
    plain.compile(optimizer="sgd", loss="categorical_crossentropy")
    np.testing.assert_array_equal(model.predict(X, verbose=0), plain.predict(X, verbose=0))
    assert model.evaluate(X, onehot, verbose=0) == plain.evaluate(X, onehot, verbose=0)
    keras_model = to_keras(model)
    allclose(model.predict(X, verbose=0), keras_model.predict(X, verbose=0))
    allclose(model.evaluate(X, onehot, verbose=0), keras_model.evaluate(X, onehot, verbose=0))


class FixedMask(nn.Dropout):
    """A Dropout layer that always uses the same mask (for central differences)."""

    def __init__(self, rate, mask):
        super().__init__(rate)
        self.fixed = mask

    def forward(self, a_prev, training=True, mask=None):
        return super().forward(a_prev, training, self.fixed if training else None)


def test_gradients_through_dropout_by_central_differences(digits):
    """With a fixed mask the training-mode cost is a smooth function of the weights: nnlib's
    gradients (δ ⊙ M/(1 − p) through the layer) against central differences, < 1e-7."""
    X, labels, onehot = digits
    X, y = X[:20], onehot[:20]
    mask = np.random.default_rng(8).random((20, 12)) >= 0.4
    model = nn.Sequential([nn.Input(shape=(64,)), nn.Dense(12, activation="tanh"),
                           FixedMask(0.4, mask), nn.Dense(10, activation="softmax")],
                          dtype="float64")
    model.compile(optimizer="sgd", loss="mse")
    analytic = model.gradients(X, y)

    def cost():
        return model.loss(y, model.forward(X))

    for W, g in zip(model.weights, analytic):
        assert relative_error(g, numerical_gradient(cost, W)) < 1e-7


def record_masks(model):
    """A callback keeping a copy of every Dropout mask nnlib draws, in the order drawn."""
    masks = []
    dropouts = [layer for layer in model.layers if isinstance(layer, nn.Dropout)]

    class Recorder(nn.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            masks.extend(d.mask.copy() for d in dropouts)
    return masks, Recorder()


def feed_keras(monkeypatch, masks):
    """Make Keras's dropout use ``masks`` in order: TensorFlow's formula (x · 1/(1 − rate)
    where the mask keeps, else 0), the mask given instead of drawn."""
    import tensorflow as tf
    from keras.src.backend.tensorflow import random as keras_random
    queue = iter(masks)

    def dropout(inputs, rate, noise_shape=None, seed=None):
        scale = tf.constant(1 / (1 - rate), dtype=inputs.dtype)
        return tf.where(tf.constant(next(queue)), inputs * scale, tf.zeros_like(inputs))
    monkeypatch.setattr(keras_random, "dropout", dropout)
    return queue


@pytest.mark.parametrize("penalty", [None, "l2"])
def test_training_with_dropout_equals_keras_given_the_same_masks(keras, digits, monkeypatch,
                                                                 penalty):
    """3 epochs, batches of 32 (the last one 8), shuffle off, two Dropout layers (and an L2
    penalty): Keras, fed nnlib's masks, gives the same loss history, val_loss and weights."""
    X, labels, onehot = digits
    penalty = penalty and nn.regularizers.L2(2.0 ** -7)
    model = net(penalty=penalty, second_dropout=True)
    keras_model = to_keras(model)
    masks, recorder = record_masks(model)
    data = dict(x=X[:200], y=onehot[:200], batch_size=32, epochs=3, verbose=0, shuffle=False,
                validation_data=(X[200:], onehot[200:]))
    h_nn = model.fit(**data, callbacks=[recorder])
    assert len(masks) == 2 * 3 * 7
    queue = feed_keras(monkeypatch, masks)
    keras_model.compile(optimizer=keras_model.optimizer, loss=keras_model.loss, run_eagerly=True)
    h_k = keras_model.fit(**data)
    assert next(queue, None) is None                   # Keras used every mask, no more
    for key in ("loss", "val_loss"):
        allclose(h_nn.history[key], h_k.history[key])
    for a, b in zip(model.get_weights(), keras_model.get_weights()):
        allclose(a, b)


def test_save_and_load_keep_dropout(tmp_path, digits):
    X, labels, onehot = digits
    model = nn.Sequential([nn.Input(shape=(64,)), nn.Dense(16, activation="relu"),
                           nn.Dropout(0.3, seed=4), nn.Dense(10, activation="softmax")],
                          dtype="float64")
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    model.save(tmp_path / "d.npz")
    loaded = nn.load_model(tmp_path / "d.npz")
    assert repr(loaded.layers[1]) == "Dropout(0.3, seed=4)"
    np.testing.assert_array_equal(loaded.predict(X, verbose=0), model.predict(X, verbose=0))
    model.fit(X, onehot, batch_size=32, epochs=1, verbose=0, shuffle=False)
    loaded.fit(X, onehot, batch_size=32, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(model.get_weights(), loaded.get_weights()):    # same seed: same masks
        np.testing.assert_array_equal(a, b)


def test_dropout_as_the_last_layer_is_refused_before_anything_changes(digits):
    X, labels, onehot = digits
    model = nn.Sequential([nn.Input(shape=(64,)), nn.Dense(10, activation="softmax"),
                           nn.Dropout(0.5)])
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    before = model.get_weights()
    with pytest.raises(ValueError, match="last layer must be Dense"):
        model.fit(X, onehot, batch_size=32, epochs=1, verbose=0)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
