"""A Keras user's habits work in nnlib and give Keras's numbers (float64), or are refused
clearly: signatures and defaults, metrics, validation, callbacks, identifiers, saving; and
the defects a review found, each with a test that failed before its fix."""
import numpy as np
import pytest

import nnlib as nn
from nnlib.keras_bridge import to_keras


def digits_model(output="softmax", units=10, hidden="relu", optimizer=None, seed=0):
    model = nn.Sequential([nn.Input(shape=(64,)), nn.Dense(16, activation=hidden),
                           nn.Dense(units, activation=output)], seed=seed, dtype="float64")
    return model


TASKS = {   # output activation, units, loss, targets: one per accuracy Keras picks
    "categorical": ("softmax", 10, "categorical_crossentropy", "one_hot"),
    "sparse": ("softmax", 10, "sparse_categorical_crossentropy", "labels"),
    "binary": ("sigmoid", 1, "binary_crossentropy", "is_even"),
}


def targets(digits, kind):
    X, labels, onehot = digits
    return {"one_hot": onehot, "labels": labels, "is_even": (labels % 2 == 0) * 1.0}[kind]


def allclose(a, b, rtol=1e-12):
    np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("task", TASKS)
def test_fit_with_accuracy_and_validation_split_equals_keras(keras, digits, task):
    output, units, loss, kind = TASKS[task]
    X, y = digits[0], targets(digits, kind)
    model = digits_model(output, units)
    model.compile(optimizer=nn.optimizers.SGD(learning_rate=0.125), loss=loss,
                  metrics=["accuracy"])
    keras_model = to_keras(model)
    h_nn = model.fit(X, y, 32, 3, verbose=0, validation_split=0.25, shuffle=False)
    h_k = keras_model.fit(X, y, 32, 3, verbose=0, validation_split=0.25, shuffle=False)
    assert set(h_nn.history) == set(h_k.history) == {"loss", "accuracy", "val_loss",
                                                       "val_accuracy"}
    for key in h_k.history:
        allclose(h_nn.history[key], h_k.history[key])
    for a, b in zip(model.get_weights(), keras_model.get_weights()):
        allclose(a, b)
    allclose(model.evaluate(X, y, batch_size=50, verbose=0),
             keras_model.evaluate(X, y, batch_size=50, verbose=0))
    allclose(model.predict(X, batch_size=64, verbose=0),
             keras_model.predict(X, batch_size=64, verbose=0))


def test_validation_data_and_return_dict_equal_keras(keras, digits):
    X, labels, onehot = digits
    model = digits_model()
    model.compile(optimizer=nn.optimizers.Adam(learning_rate=0.01, beta_1=0.875,
                                               beta_2=0.9990234375),
                  loss="categorical_crossentropy", metrics=["acc"])
    keras_model = to_keras(model)
    data = dict(x=X[:192], y=onehot[:192], batch_size=20, epochs=2, verbose=0, shuffle=False,
                validation_data=(X[192:], onehot[192:]))
    h_nn, h_k = model.fit(**data), keras_model.fit(**data)
    for key in h_k.history:
        allclose(h_nn.history[key], h_k.history[key])
    got = model.evaluate(X, onehot, verbose=0, return_dict=True)
    want = keras_model.evaluate(X, onehot, verbose=0, return_dict=True)
    assert set(got) == set(want) == {"loss", "acc"}
    for key in want:
        allclose(got[key], want[key])


def test_positional_order_is_keras_batch_size_then_epochs(digits):
    X, _, onehot = digits
    model = digits_model()
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    history = model.fit(X, onehot, 32, 3, 0)                # batch 32, 3 epochs, silent
    assert history.epoch == [0, 1, 2]
    assert model.optimizer.iterations == 3 * 8              # 256 samples / 32
    model.fit(X, onehot, verbose=0)                         # batch_size=None: Keras's 32
    assert model.optimizer.iterations == 4 * 8


def test_validation_split_holds_out_the_last_samples_before_shuffling(digits):
    X, _, onehot = digits
    split, held = digits_model(), digits_model()
    for model in (split, held):
        model.compile(optimizer="sgd", loss="categorical_crossentropy")
    h1 = split.fit(X, onehot, batch_size=32, epochs=2, verbose=0, validation_split=0.2)
    cut = int(np.floor(len(X) * 0.8))                       # Keras's floor
    h2 = held.fit(X[:cut], onehot[:cut], batch_size=32, epochs=2, verbose=0,
                  validation_data=(X[cut:], onehot[cut:]))
    assert h1.history == h2.history


class Recorder(nn.callbacks.Callback):
    def __init__(self, stop_after=None):
        super().__init__()
        self.calls, self.stop_after = [], stop_after

    def on_train_begin(self, logs=None):
        self.calls.append(("train_begin",))

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append(("epoch_begin", epoch))

    def on_train_batch_end(self, batch, logs=None):
        self.calls.append(("batch_end", batch, dict(logs)))

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(("epoch_end", epoch, dict(logs)))
        if epoch == self.stop_after:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        self.calls.append(("train_end", dict(logs)))


def test_callbacks_are_called_as_keras_calls_them(digits):
    X, labels, _ = digits
    model = digits_model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    recorder = Recorder(stop_after=1)
    history = model.fit(X[:100], labels[:100], batch_size=40, epochs=5, verbose=0,
                        callbacks=[recorder], validation_data=(X[100:], labels[100:]))
    kinds = [call[0] for call in recorder.calls]
    assert kinds == ["train_begin", "epoch_begin", "batch_end", "batch_end", "batch_end",
                     "epoch_end", "epoch_begin", "batch_end", "batch_end", "batch_end",
                     "epoch_end", "train_end"]                 # stop_training after epoch 1
    epoch_logs = recorder.calls[5][2]
    assert set(epoch_logs) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert recorder.calls[4][2]["loss"] == pytest.approx(epoch_logs["loss"], rel=1e-12)
    assert history.history["loss"][0] == epoch_logs["loss"] and len(history.epoch) == 2
    # a batch's logs are the running means so far, weighted by batch size: 40, 40, 20 rows
    first, second = recorder.calls[2][2]["loss"], recorder.calls[3][2]["loss"]
    third = recorder.calls[4][2]["loss"]
    batch_3 = (third * 100 - second * 80) / 20
    assert third == pytest.approx((first * 40 + (second * 80 - first * 40) + batch_3 * 20) / 100)


def test_callbacks_must_be_callbacks():
    model = digits_model()
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(TypeError, match=r"callbacks\[0\]"):
        model.fit(np.zeros((4, 64)), np.zeros((4, 10)), callbacks=[print], verbose=0)


@pytest.mark.parametrize("name,keras_name", [
    ("mse", "mse"), ("MSE", "MSE"), ("MeanSquaredError", "MeanSquaredError"),
    ("mean_squared_error", "mean_squared_error"), ("bce", "bce"),
    ("BinaryCrossentropy", "BinaryCrossentropy"),
    ("CategoricalCrossentropy", "CategoricalCrossentropy"),
    ("SparseCategoricalCrossentropy", "sparse_categorical_crossentropy")])
def test_loss_identifiers_are_keras_identifiers(keras, name, keras_name):
    """Each name Keras takes for a loss nnlib has gives the same value on the same data."""
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(3), size=5)
    y = rng.integers(0, 3, 5) if "parse" in name else np.eye(3)[rng.integers(0, 3, 5)]
    ours = nn.losses.get(name)(y, p)
    theirs = keras.losses.get(keras_name)(y, p)       # a Loss (the mean) or a function (per sample)
    allclose(ours, float(np.mean(np.asarray(theirs))), rtol=1e-6)


@pytest.mark.parametrize("name", ["sgd", "SGD", "adam", "Adam", "rmsprop", "RMSprop", "RMSProp"])
def test_optimizer_identifiers_are_keras_identifiers(keras, name):
    assert type(nn.optimizers.get(name)).__name__ == type(keras.optimizers.get(name)).__name__


@pytest.mark.parametrize("name", nn.activations.names())
def test_activation_names_are_keras_names(keras, name):
    z = np.linspace(-3, 3, 12).reshape(3, 4)
    allclose(nn.activations.get(name)(z), np.asarray(keras.activations.get(name)(z)), 1e-6)


@pytest.mark.parametrize("file_name", ["m.keras", "model", "weights.npz", "m.h5"])
def test_save_keeps_the_path_as_given_and_load_model_reads_it(tmp_path, digits, file_name):
    X, _, onehot = digits
    model = digits_model()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.fit(X, onehot, epochs=1, verbose=0)
    path = tmp_path / file_name
    model.save(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [file_name]
    loaded = nn.load_model(path)
    np.testing.assert_array_equal(loaded.predict(X, verbose=0), model.predict(X, verbose=0))
    assert loaded.evaluate(X, onehot, verbose=0) == model.evaluate(X, onehot, verbose=0)


# ------------------------------------------------------------------ the review's defects
def test_loss_aligns_y_of_shape_m_with_predictions_of_shape_m_1_as_keras(keras):
    y, y_pred = np.array([0.0, 1.0, 2.0, 3.0]), np.array([[0.5], [1.0], [1.0], [5.0]])
    loss = nn.losses.MeanSquaredError()
    allclose(loss(y, y_pred), float(keras.losses.MeanSquaredError()(y, y_pred)), 1e-6)
    assert loss(y, y_pred) == pytest.approx((0.25 + 0 + 1 + 4) / 4)   # by hand: not a (4, 4) mean
    assert loss.gradient(y, y_pred).shape == (4, 1)
    with pytest.raises(ValueError, match="y_true, y_pred"):
        loss(y, np.ones((4, 3)))


def test_one_optimizer_for_two_models_is_refused_before_anything_changes(digits):
    X, _, onehot = digits
    optimizer = nn.optimizers.SGD(learning_rate=0.1, momentum=0.5)
    first, second = digits_model(seed=1), digits_model(seed=2)
    for model in (first, second):
        model.compile(optimizer=optimizer, loss="categorical_crossentropy")
    first.fit(X, onehot, epochs=1, verbose=0)
    before = second.get_weights()
    with pytest.raises(ValueError, match="optimizer: this SGD"):
        second.fit(X, onehot, epochs=1, verbose=0)
    for a, b in zip(before, second.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_adam_computes_float32_in_float32():
    """Adam's step in float32 equals the formula evaluated in float32 (it did not before:
    α_t was an np.float64, so m·α_t was computed in float64 and rounded afterwards)."""
    rng = np.random.default_rng(0)
    theta = rng.normal(size=1000).astype(np.float32)
    g = rng.normal(size=1000).astype(np.float32)
    optimizer = nn.optimizers.Adam(learning_rate=0.001)
    expected, m, v = theta.copy(), np.zeros_like(theta), np.zeros_like(theta)
    for t in (1, 2, 3):
        optimizer.apply([g], [theta])
        alpha_t = 0.001 * np.sqrt(1 - 0.999 ** t) / (1 - 0.9 ** t)      # float64 scalar
        m += (g - m) * np.float32(1 - 0.9)
        v += (g * g - v) * np.float32(1 - 0.999)
        expected -= (m * np.float32(alpha_t)) / (np.sqrt(v) + np.float32(1e-7))
    assert theta.dtype == np.float32
    np.testing.assert_array_equal(theta, expected)


def test_a_fresh_softmax_object_is_fused_with_cross_entropy_like_the_name():
    """±1e4 logits: the fused loss is exact and finite, with gradients, for Softmax() too."""
    X = np.array([[1.0, 0.0], [0.0, 1.0]])
    Y = np.array([[1.0, 0.0], [1.0, 0.0]])
    losses, grads = [], []
    for activation in ("softmax", nn.activations.Softmax()):
        model = nn.Sequential([nn.Input(shape=(2,)), nn.Dense(2, activation=activation)],
                              dtype="float64")
        model.set_weights([np.array([[1e4, -1e4], [-1e4, 1e4]]), np.zeros(2)])
        model.compile(optimizer="sgd", loss="categorical_crossentropy")
        losses.append(model.evaluate(X, Y, verbose=0))
        grads.append(model.gradients(X, Y)[0])
    assert losses[0] == losses[1] == pytest.approx(2e4 / 2)     # log-sum-exp by hand: 0 and 2e4
    np.testing.assert_array_equal(grads[0], grads[1])
    assert np.abs(grads[1]).max() > 0.1


def test_dense_errors_name_what_is_wrong():
    layer = nn.Dense(3)
    with pytest.raises(ValueError, match="layer: .* is not built yet"):
        layer.forward(np.ones((2, 4)))
    layer.build(4, np.random.default_rng(0), "float64")
    with pytest.raises(ValueError, match="forward pass first"):
        layer.backward(np.ones((2, 3)))
    layer.forward(np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"delta: expected shape \(2, 3\)"):
        layer.backward(np.ones((5, 3)))


def test_load_model_refuses_incomplete_and_foreign_files(tmp_path):
    model = digits_model()
    model.save(tmp_path / "good.npz")
    with np.load(tmp_path / "good.npz") as data:
        arrays = {k: data[k] for k in data.files if k != "weight_3"}
    np.savez(tmp_path / "incomplete.npz", **arrays)
    np.savez(tmp_path / "foreign.npz", something=np.ones(3))
    (tmp_path / "text.npz").write_text("not a model")
    for name in ("incomplete.npz", "foreign.npz", "text.npz"):
        with pytest.raises(ValueError, match="path: .* is not a complete model saved by nnlib"):
            nn.load_model(tmp_path / name)


def test_check_activation_derivative_of_softmax_reports_instead_of_raising(capsys):
    assert nn.checks.check_activation_derivative(lambda z: z, "softmax") is False
    assert "not element-wise" in capsys.readouterr().out


def test_metrics_other_than_accuracy_are_refused_with_a_pointer_to_sklearn():
    model = digits_model()
    with pytest.raises(ValueError, match="sklearn.metrics"):
        model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
