"""Bad input gets a clear ValueError/TypeError naming the argument, and changes nothing."""
import numpy as np
import pytest

import nnlib as nn


def compiled_model(loss="categorical_crossentropy", output="softmax"):
    model = nn.Sequential([nn.Dense(4, activation="relu", input_dim=3), nn.Dense(3, activation=output)],
                          seed=0, dtype="float64")
    model.compile(optimizer=nn.optimizers.SGD(learning_rate=0.1, momentum=0.5), loss=loss)
    return model


def data(m=8):
    rng = np.random.default_rng(0)
    return rng.normal(size=(m, 3)), np.eye(3)[rng.integers(0, 3, m)]


def snapshot(model):
    opt = model.optimizer
    return ([w.copy() for w in model.get_weights()], opt and opt.iterations,
            opt and {k: v.copy() for k, v in getattr(opt, "velocities", {}).items()}, model.history)


def assert_unchanged(model, before):
    after = snapshot(model)
    for a, b in zip(before[0], after[0]):
        np.testing.assert_array_equal(a, b)
    assert before[1:2] == after[1:2] and before[3] is after[3]
    assert before[2].keys() == after[2].keys()


X, Y = data()
nan_X = X.copy(); nan_X[1, 1] = np.nan
inf_Y = Y.copy(); inf_Y[0, 0] = np.inf

BAD_CALLS = {
    # name: (call, exception, words the message must contain)
    "X 1-D": (lambda m: m.predict(X[0]), ValueError, ["x", "2-D", "reshape"]),
    "X wrong width": (lambda m: m.predict(X[:, :2]), ValueError, ["x", "3 features"]),
    "X empty": (lambda m: m.predict(np.zeros((0, 3))), ValueError, ["x", "at least one"]),
    "X NaN in predict": (lambda m: m.predict(nan_X), ValueError, ["x", "NaN"]),
    "X NaN in fit": (lambda m: m.fit(nan_X, Y), ValueError, ["x", "NaN"]),
    "y inf in fit": (lambda m: m.fit(X, inf_Y), ValueError, ["y", "NaN or infinite"]),
    "y NaN in evaluate": (lambda m: m.evaluate(X, np.full_like(Y, np.nan)), ValueError, ["y", "NaN"]),
    "X NaN in gradients": (lambda m: m.gradients(nan_X, Y), ValueError, ["x", "NaN"]),
    "X strings": (lambda m: m.fit(np.array([["a", "b", "c"]] * 8), Y), TypeError, ["x", "numeric"]),
    "X ragged": (lambda m: m.predict([[1, 2, 3], [1, 2]]), TypeError, ["x", "numeric"]),
    "sample counts differ": (lambda m: m.fit(X, Y[:5]), ValueError, ["y", "8 samples"]),
    "y wrong width": (lambda m: m.fit(X, Y[:, :2]), ValueError, ["y", "(8, 3)"]),
    "targets outside [0, 1]": (lambda m: m.fit(X, 2 * Y), ValueError, ["y", "[0, 1]"]),
    "epochs 0": (lambda m: m.fit(X, Y, epochs=0), ValueError, ["epochs", "positive integer"]),
    "epochs float": (lambda m: m.fit(X, Y, epochs=2.5), ValueError, ["epochs"]),
    "batch_size negative": (lambda m: m.fit(X, Y, batch_size=-1), ValueError, ["batch_size"]),
    "shuffle not bool": (lambda m: m.fit(X, Y, shuffle="yes"), TypeError, ["shuffle"]),
    "verbose 3": (lambda m: m.fit(X, Y, verbose=3), ValueError, ["verbose"]),
    "validation_data not a pair": (lambda m: m.fit(X, Y, validation_data=X), ValueError, ["validation_data"]),
    "validation_data wrong width": (lambda m: m.fit(X, Y, validation_data=(X[:, :2], Y)), ValueError,
                                    ["validation_data[0]"]),
    "set_weights count": (lambda m: m.set_weights(m.get_weights()[:2]), ValueError, ["weights", "4 arrays"]),
    "set_weights shape": (lambda m: m.set_weights([w.T for w in m.get_weights()]), ValueError,
                          ["weights[0]", "(3, 4)"]),
    "set_weights NaN": (lambda m: m.set_weights([w * np.nan for w in m.get_weights()]), ValueError,
                        ["weights[0]", "NaN"]),
}


@pytest.mark.parametrize("name", BAD_CALLS)
def test_bad_call_is_rejected_cleanly(name):
    call, exc, words = BAD_CALLS[name]
    model = compiled_model()
    model.fit(X, Y, epochs=1)                   # some optimizer state and a history exist
    before = snapshot(model)
    with pytest.raises(exc) as info:
        call(model)
    for word in words:
        assert word in str(info.value), f"{word!r} not in {info.value}"
    assert_unchanged(model, before)


SPARSE = [(np.array([0, 1, 3, 0, 1, 2, 0, 1]), "0..2"),
          (np.array([0, 1, -1, 0, 1, 2, 0, 1]), "0..2"),
          (np.array([0, 1, 1.5, 0, 1, 2, 0, 1]), "non-integer"),
          (np.zeros((8, 3)), "shape (m,)")]


@pytest.mark.parametrize("labels,words", SPARSE)
def test_bad_sparse_labels(labels, words):
    model = compiled_model(loss="sparse_categorical_crossentropy")
    before = snapshot(model)
    with pytest.raises(ValueError, match="y") as info:
        model.fit(X, labels)
    assert words in str(info.value)
    assert_unchanged(model, before)


def test_binary_targets_outside_unit_interval():
    model = compiled_model(loss="binary_crossentropy", output="sigmoid")
    with pytest.raises(ValueError, match=r"y: binary_crossentropy needs targets in \[0, 1\]"):
        model.fit(X, Y - 0.5)


@pytest.mark.parametrize("make,words", [
    (lambda: nn.Dense(3, activation="swish"), ["activation", "swish", "relu"]),
    (lambda: nn.Dense(0), ["units"]),
    (lambda: nn.Dense(2.5), ["units"]),
    (lambda: nn.Dense(3, input_dim=-2), ["input_dim"]),
    (lambda: nn.Dense(3, kernel_initializer="ones"), ["initializer", "glorot_uniform"]),
    (lambda: nn.Input(shape=(3, 4)), ["shape"]),
    (lambda: nn.Sequential([], dtype="float16"), ["dtype", "float32"]),
    (lambda: nn.Sequential([], seed=-1), ["seed"]),
    (lambda: nn.Sequential([nn.Dense(2), nn.Input(shape=(3,))]), ["Input", "first"]),
    (lambda: nn.optimizers.SGD(learning_rate=0), ["learning_rate", "positive"]),
    (lambda: nn.optimizers.SGD(learning_rate=-0.1), ["learning_rate"]),
    (lambda: nn.optimizers.SGD(learning_rate=float("nan")), ["learning_rate"]),
    (lambda: nn.optimizers.SGD(momentum=1.5), ["momentum", "[0.0, 1.0]"]),
    (lambda: nn.optimizers.SGD(momentum=-0.1), ["momentum"]),
    (lambda: nn.optimizers.SGD(nesterov="yes"), ["nesterov"]),
    (lambda: nn.optimizers.Adam(beta_1=1.0), ["beta_1"]),
    (lambda: nn.optimizers.Adam(learning_rate=0), ["learning_rate"]),
    (lambda: nn.optimizers.get("adagrad"), ["optimizer", "adagrad", "sgd"]),
    (lambda: nn.losses.get("hinge"), ["loss", "hinge", "mse"]),
])
def test_bad_construction(make, words):
    with pytest.raises((ValueError, TypeError)) as info:
        make()
    for word in words:
        assert word in str(info.value), f"{word!r} not in {info.value}"


def test_compile_with_unknown_names_keeps_the_old_settings():
    model = compiled_model()
    optimizer, loss = model.optimizer, model.loss
    with pytest.raises(ValueError, match="loss"):
        model.compile(optimizer="adam", loss="nope")
    with pytest.raises(ValueError, match="optimizer"):
        model.compile(optimizer="nope", loss="mse")
    assert model.optimizer is optimizer and model.loss is loss


@pytest.mark.parametrize("call", [lambda m: m.fit(X, Y), lambda m: m.evaluate(X, Y), lambda m: m.gradients(X, Y)])
def test_fit_evaluate_gradients_before_compile(call):
    model = nn.Sequential([nn.Dense(3, input_dim=3)])
    with pytest.raises(ValueError, match="compile"):
        call(model)


def test_an_unbuilt_model_is_not_built_by_a_rejected_call():
    model = nn.Sequential([nn.Dense(3, activation="softmax")])
    model.compile(loss="categorical_crossentropy")
    with pytest.raises(ValueError, match="y"):
        model.fit(X, Y[:4])
    assert not model.built
    model.fit(X, Y)
    assert model.built and model.input_dim == 3


def test_divergence_stops_fit_with_a_clear_error_and_keeps_the_history():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3)) * 100
    y = X @ np.array([[1.0], [2.0], [3.0]])
    model = nn.Sequential([nn.Dense(1, input_dim=3)], dtype="float64")
    model.compile(optimizer=nn.optimizers.SGD(learning_rate=1.0), loss="mse")
    with pytest.raises(nn.TrainingDiverged) as info:
        model.fit(X, y, epochs=50, batch_size=16)
    message = str(info.value)
    assert "epoch" in message and "batch" in message and "lower learning rate" in message
    assert info.value.history is model.history
    assert all(np.isfinite(model.history.history["loss"]))       # the epochs that did finish
    assert isinstance(info.value, FloatingPointError)


@pytest.mark.parametrize("kind", ["not a zip", "truncated", "missing weight", "pickled object"])
def test_corrupt_model_files(tmp_path, kind):
    model = compiled_model()
    good = tmp_path / "good.npz"
    model.save(good)
    bad = tmp_path / "bad.npz"
    if kind == "not a zip":
        bad.write_bytes(b"this is not an npz file")
    elif kind == "truncated":
        bad.write_bytes(good.read_bytes()[:200])
    elif kind == "missing weight":
        with np.load(good) as d:
            arrays = {k: d[k] for k in d.files if k != "weight_3"}
        np.savez(bad, **arrays)
    else:
        np.savez(bad, config=np.array([{"evil": 1}], dtype=object))
    with pytest.raises(ValueError, match="path"):
        nn.load_model(bad)
