"""nnlib's behaviour apart from parity and gradients: saving, checks, initializers, fit details."""
import io
import sys

import numpy as np
import pytest

import nnlib as nn


def small_model(dtype="float64", loss="categorical_crossentropy", optimizer="adam"):
    model = nn.Sequential([nn.Dense(5, activation="tanh", input_dim=4), nn.Dense(3, activation="softmax")],
                          seed=7, dtype=dtype)
    model.compile(optimizer=optimizer, loss=loss)
    return model


def data(m=20, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(m, 4)), np.eye(3)[rng.integers(0, 3, m)]


def test_import_does_not_import_tensorflow():
    import subprocess
    code = "import sys, nnlib; print('tensorflow' in sys.modules or 'keras' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_save_and_load_round_trip_bit_exactly(tmp_path, dtype):
    model = small_model(dtype)
    X, y = data()
    model.fit(X, y, epochs=2)
    model.save(tmp_path / "m.npz")
    loaded = nn.load_model(tmp_path / "m.npz")
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(model.predict(X), loaded.predict(X))
    assert loaded.loss.name == "categorical_crossentropy" and loaded.optimizer.name == "adam"
    assert [l.activation.name for l in loaded.layers] == ["tanh", "softmax"]


def test_saved_file_needs_no_pickle(tmp_path):
    small_model().save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as data_:
        assert all(data_[k].dtype != object for k in data_.files)


def test_same_seed_same_numbers_and_shuffle_uses_the_seed():
    X, y = data(50)
    runs = []
    for _ in range(2):
        model = small_model()
        runs.append(model.fit(X, y, epochs=3, batch_size=8, shuffle=True).history["loss"])
    assert runs[0] == runs[1]
    other = nn.Sequential([nn.Dense(5, activation="tanh", input_dim=4), nn.Dense(3, activation="softmax")],
                          seed=8, dtype="float64")
    assert not np.allclose(other.get_weights()[0], small_model().get_weights()[0])


def test_history_is_the_batch_weighted_mean_of_losses_before_each_step():
    X, y = data(10)
    model = small_model(optimizer=nn.optimizers.SGD(learning_rate=0.5))
    probe = small_model(optimizer=nn.optimizers.SGD(learning_rate=0.5))
    losses, sizes = [], []
    for start in range(0, 10, 4):                          # batches of 4, 4, 2
        Xb, yb = X[start:start + 4], y[start:start + 4]
        losses.append(probe.evaluate(Xb, yb)); sizes.append(len(Xb))
        probe.optimizer.apply(probe.gradients(Xb, yb), probe.weights)
    history = model.fit(X, y, epochs=1, batch_size=4, shuffle=False)
    assert history.history["loss"][0] == pytest.approx(np.average(losses, weights=sizes), rel=1e-14)
    for a, b in zip(model.get_weights(), probe.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-14)


def test_one_step_of_plain_sgd_is_theta_minus_alpha_gradient():
    X, y = data(6)
    model = small_model(optimizer=nn.optimizers.SGD(learning_rate=0.3))
    before, grads = model.get_weights(), model.gradients(X, y)
    model.fit(X, y, epochs=1, batch_size=6)
    for w0, g, w1 in zip(before, grads, model.get_weights()):
        np.testing.assert_allclose(w1, w0 - 0.3 * g, rtol=1e-14, atol=1e-16)


def test_float32_model_stays_float32():
    model = small_model("float32")
    X, y = data()
    model.fit(X, y, epochs=1)
    assert all(w.dtype == np.float32 for w in model.get_weights())
    assert model.predict(X).dtype == np.float32


def test_predict_y_1d_for_single_output_and_count_params():
    model = nn.Sequential([nn.Input(shape=(2,)), nn.Dense(1)], dtype="float64")
    model.compile(optimizer="sgd", loss="mse")
    X = np.ones((5, 2))
    model.fit(X, np.ones(5), epochs=1)                    # y of shape (m,) for one output
    assert model.predict(X).shape == (5, 1)
    assert model.count_params() == 3


def test_summary_lists_layers_and_total():
    out = io.StringIO()
    small_model().summary(file=out)
    text = out.getvalue()
    assert "dense_0 (Dense, tanh)" in text and "(None, 3)" in text and "Total params: 43" in text


def test_verbose_progress_goes_to_stdout_only(capsys):
    X, y = data()
    small_model().fit(X, y, epochs=2, verbose=1)
    out, err = capsys.readouterr()
    assert "2/2" in out and "loss=" in out and err == ""
    small_model().fit(X, y, epochs=2, verbose=2)
    out, err = capsys.readouterr()
    assert "Epoch 2/2  loss:" in out and err == ""


def test_initializers_have_the_right_scale():
    rng = np.random.default_rng(0)
    W = nn.initializers.glorot_uniform((400, 600), rng, "float64")
    limit = np.sqrt(6 / 1000)
    assert W.min() >= -limit and W.max() <= limit and W.var() == pytest.approx(limit ** 2 / 3, rel=0.02)
    W = nn.initializers.he_normal((500, 400), rng, "float64")
    assert W.var() == pytest.approx(2 / 500, rel=0.02)              # He: Var = 2 / fan_in
    assert np.abs(W).max() <= 2 * np.sqrt(2 / 500) / nn.initializers.TRUNCATED_NORMAL_STD
    assert not nn.initializers.zeros((3,)).any()


def test_activations_are_stable_and_correct_at_extremes():
    z = np.array([[-1000.0, -30.0, 0.0, 30.0, 1000.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):   # underflow to 0 is fine
        s = nn.activations.sigmoid(z)
        p = nn.activations.softmax(z)
    np.testing.assert_allclose(s, [[0.0, 9.357622968840175e-14, 0.5, 1 - 9.357622968840175e-14, 1.0]], rtol=1e-12)
    assert p[0, -1] == 1.0 and np.isclose(p.sum(), 1.0)
    assert nn.activations.relu.derivative(np.array([0.0]))[0] == 0.0   # TensorFlow's choice at the kink


class TestChecks:
    """nn.checks: a right function passes, a wrong one fails with a helpful line, never a traceback."""

    def test_right_functions_pass(self, capsys):
        assert nn.checks.check_activation(lambda z: np.maximum(z, 0), "relu")
        assert nn.checks.check_activation_derivative(lambda z: (1 - np.tanh(z) ** 2), "tanh")
        assert nn.checks.check_loss(lambda y, p: np.mean((p - y) ** 2), "mse")
        assert nn.checks.check_dense_forward(lambda a, W, b: np.maximum(a @ W + b, 0), activation="relu")
        assert nn.checks.check_dense_backward(lambda a, W, d: (a.T @ d, d.sum(axis=0), d @ W.T))
        assert nn.checks.check_gradient(lambda x: 2 * x, lambda x: np.sum(x ** 2), np.array([1.0, -2.0]))
        assert capsys.readouterr().out.count("✓") == 6

    def test_textbook_losses_pass(self, capsys):
        """A learner's plain formula of each loss passes (no clipping needed at the test points)."""
        textbook = {
            "mse": lambda y, p: np.mean((p - y) ** 2),
            "binary_crossentropy": lambda y, p: np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))),
            "categorical_crossentropy": lambda y, p: np.mean(-np.sum(y * np.log(p), axis=1)),
            "sparse_categorical_crossentropy": lambda y, p: np.mean(-np.log(p[np.arange(len(y)), y])),
        }
        for name, fn in textbook.items():
            assert nn.checks.check_loss(fn, name), name
        summed = lambda y, p: np.sum(-np.sum(y * np.log(p), axis=1))      # noqa: E731 - no 1/m
        assert not nn.checks.check_loss(summed, "categorical_crossentropy")
        assert "mean over the batch" in capsys.readouterr().out

    def test_wrong_functions_fail_with_the_first_wrong_input(self, capsys):
        assert not nn.checks.check_activation(lambda z: np.maximum(z, 0.1), "relu")
        out = capsys.readouterr().out
        assert out.startswith("✗") and "expected" in out and "got" in out and "for z = " in out
        naive_sigmoid = lambda z: 1 / (1 + np.exp(-z))          # noqa: E731 - overflows at -1000
        with np.errstate(over="ignore"):
            assert nn.checks.check_activation(naive_sigmoid, "sigmoid")   # overflow gives 0, still right
        assert not nn.checks.check_dense_forward(lambda a, W, b: a @ W.T + b if W.shape[0] == W.shape[1] else a @ W)
        assert not nn.checks.check_dense_backward(lambda a, W, d: (a.T @ d, d.mean(axis=0), d @ W.T))
        assert "db" in capsys.readouterr().out
        assert not nn.checks.check_gradient(lambda x: x, lambda x: np.sum(x ** 2), np.array([1.0]))

    def test_errors_and_stubs_are_reported_not_raised(self, capsys):
        def stub(z):
            raise NotImplementedError

        assert not nn.checks.check_activation(stub, "sigmoid")
        assert "not implemented yet" in capsys.readouterr().out
        assert not nn.checks.check_loss(lambda y, p: 1 / 0, "binary_crossentropy")
        assert "ZeroDivisionError" in capsys.readouterr().out
        assert not nn.checks.check_dense_backward(lambda a, W, d: a.T @ d)
        assert "tuple" in capsys.readouterr().out
        assert not nn.checks.check_activation(lambda z: np.tanh(z)[:, :1], "tanh")
        assert "shape" in capsys.readouterr().out


def test_keras_bridge_is_reachable_as_an_attribute_without_importing_keras():
    import subprocess
    code = ("import sys, nnlib as nn; bridge = nn.keras_bridge; "
            "print(callable(bridge.to_keras), 'tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False"]


def test_plotting_helpers_draw_labelled_figures():
    import matplotlib
    matplotlib.use("Agg")                       # no screen in tests
    import matplotlib.pyplot as plt
    model = small_model()
    ax = nn.plotting.draw_network(model)
    assert len(ax.collections) == 3             # one column of circles per layer
    assert [t.get_text() for t in ax.texts][0].startswith("input")
    with pytest.raises(ValueError, match="model_or_sizes"):
        nn.plotting.draw_network([3])
    X, y = data()
    ax = nn.plotting.plot_history(model.fit(X, y, epochs=3, validation_data=(X, y)))
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "loss"
    assert [line.get_label() for line in ax.get_lines()] == ["loss", "val_loss"]
    assert len(ax.get_lines()[0].get_xdata()) == 3
    plt.close("all")
