"""fit's fast path (buffers allocated once per fit, in-place activations, plain SGD's learning
rate folded into δ^{[L]}) computes the plain formulas: it equals chapter 5's loop written with
the public API — forward/backward through ``model.gradients`` and θ ← θ − α g — to 1e-14 in
float64, and no buffer ever reaches the user. (Speed is measured in benchmarks/, never here.)"""
import numpy as np
import pytest

import nnlib as nn
import nnlib.model as model_module

HIDDEN = ["linear", "sigmoid", "tanh", "relu", "leaky_relu"]
OUTPUT_LOSS = [("softmax", "categorical_crossentropy"), ("softmax", "sparse_categorical_crossentropy"),
               ("sigmoid", "binary_crossentropy"), ("linear", "mean_squared_error"),
               ("softmax", "mean_squared_error"),
               ("linear", nn.losses.CategoricalCrossentropy(from_logits=True))]


def make(hidden="tanh", output="softmax", loss="categorical_crossentropy", optimizer=None,
         dtype="float64", seed=0):
    model = nn.Sequential([nn.Dense(7, activation=hidden, input_dim=5), nn.Dense(6, activation=hidden),
                           nn.Dense(4, activation=output)], seed=seed, dtype=dtype)
    model.compile(optimizer=optimizer() if optimizer else nn.optimizers.SGD(learning_rate=0.1), loss=loss)
    return model


def data(m=23, loss="categorical_crossentropy", seed=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, 5))
    labels = rng.integers(0, 4, m)
    return X, (labels if loss == "sparse_categorical_crossentropy" else np.eye(4)[labels])


def reference_fit(model, X, y, epochs, batch_size, shuffle, optimizer=None):
    """Chapter 5's loop with the public API: per batch the loss before the step, the gradients
    (forward and backward through the layers), then θ ← θ − α g (or ``optimizer.apply``)."""
    m, history = X.shape[0], []
    for _ in range(epochs):
        order = model.rng.permutation(m) if shuffle else np.arange(m)
        total = 0.0
        for start in range(0, m, batch_size):
            rows = order[start:start + batch_size]
            Xb, yb = X[rows], y[rows]
            total += model.evaluate(Xb, yb) * len(rows)
            grads = model.gradients(Xb, yb)
            if optimizer is None:
                alpha = model.optimizer.learning_rate
                model.set_weights([w - alpha * g for w, g in zip(model.get_weights(), grads)])
            else:
                optimizer.apply(model._parameters(), grads)
        history.append(total / m)
    return history


def assert_weights_equal(a, b, rtol=1e-14):
    for i, (x, y) in enumerate(zip(a, b)):
        np.testing.assert_allclose(x, y, rtol=rtol, atol=rtol * np.abs(y).max(), err_msg=f"weight array {i}")


@pytest.mark.parametrize("output,loss", OUTPUT_LOSS,
                         ids=[f"{o}-{getattr(l, 'name', l)}" for o, l in OUTPUT_LOSS])
@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("shuffle", [False, True])
def test_fit_equals_the_plain_loop(hidden, output, loss, shuffle):
    """3 epochs, batches 8, 8, 7 (the last one smaller): same weights and history to 1e-14."""
    loss_name = getattr(loss, "name", loss)
    X, y = data(loss=loss_name)
    fast, slow = make(hidden, output, loss), make(hidden, output, loss)
    history = fast.fit(X, y, epochs=3, batch_size=8, shuffle=shuffle).history["loss"]
    expected = reference_fit(slow, X, y, epochs=3, batch_size=8, shuffle=shuffle)
    assert_weights_equal(fast.get_weights(), slow.get_weights())
    np.testing.assert_allclose(history, expected, rtol=1e-14)
    assert fast.optimizer.iterations == 9


@pytest.mark.parametrize("name,optimizer", [
    ("momentum", lambda: nn.optimizers.SGD(learning_rate=0.05, momentum=0.875)),
    ("nesterov", lambda: nn.optimizers.SGD(learning_rate=0.05, momentum=0.875, nesterov=True)),
    ("adam", lambda: nn.optimizers.Adam(learning_rate=0.01, beta_1=0.875, beta_2=0.9990234375))])
def test_fit_with_stateful_optimizers_equals_the_plain_loop(name, optimizer):
    """Momentum and Adam get the buffered gradients through ``optimizer.apply``: same numbers."""
    X, y = data()
    fast, slow = make("relu", optimizer=optimizer), make("relu", optimizer=optimizer)
    fast.fit(X, y, epochs=3, batch_size=8, shuffle=True)
    reference_fit(slow, X, y, epochs=3, batch_size=8, shuffle=True, optimizer=slow.optimizer)
    assert_weights_equal(fast.get_weights(), slow.get_weights())
    assert fast.optimizer.iterations == slow.optimizer.iterations == 9


def test_changing_the_batch_size_between_fits():
    """New buffers per fit: batch sizes 8, then 5, then 4, then one batch larger than the data."""
    X, y = data()
    fast, slow = make("relu"), make("relu")
    for batch_size in (8, 5, 4, 100):
        fast.fit(X, y, epochs=2, batch_size=batch_size, shuffle=True)
        reference_fit(slow, X, y, epochs=2, batch_size=batch_size, shuffle=True)
    assert_weights_equal(fast.get_weights(), slow.get_weights())


def test_float32_fit_stays_float32_and_close_to_the_plain_loop():
    X, y = data(m=40)
    fast, slow = make("relu", dtype="float32"), make("relu", dtype="float32")
    fast.fit(X, y, epochs=3, batch_size=16, shuffle=True)
    reference_fit(slow, X.astype("float32"), y.astype("float32"), epochs=3, batch_size=16, shuffle=True)
    assert all(w.dtype == np.float32 for w in fast.get_weights())
    assert_weights_equal(fast.get_weights(), slow.get_weights(), rtol=1e-6)


@pytest.fixture
def workspaces(monkeypatch):
    """Every _Workspace that fit creates, to check that none of its buffers reach the user."""
    made = []
    original = model_module._Workspace.__init__

    def recording_init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(model_module._Workspace, "__init__", recording_init)
    return made


def buffers_of(work):
    arrays = work.z + work.a + work.delta + work.dW + work.db + [work.X, work.y]
    return [a for a in arrays if a is not None]


@pytest.mark.parametrize("shuffle", [False, True])
def test_no_buffer_reaches_the_user(workspaces, shuffle):
    X, y = data()
    model = make("relu")
    history = model.fit(X, y, epochs=2, batch_size=8, shuffle=shuffle)
    assert len(workspaces) == 1
    returned = (model.get_weights() + model._parameters() + [model.predict(X)] + model.gradients(X, y)
                + [getattr(layer, name) for layer in model.layers for name in ("a_prev", "z", "a", "dW", "db")])
    for array in returned:
        for buffer in buffers_of(workspaces[0]):
            assert not np.shares_memory(array, buffer)
    assert all(isinstance(v, float) for v in history.history["loss"])


def test_layers_hold_the_last_batch_after_fit():
    """fit's last step goes through the layers' own forward and backward: afterwards each layer's
    a_prev, z, a, dW and db are the last batch's, as after a plain loop (fresh arrays)."""
    X, y = data()
    model, probe = make("tanh"), make("tanh")
    model.fit(X, y, epochs=1, batch_size=8, shuffle=False)
    reference_fit(probe, X[:16], y[:16], epochs=1, batch_size=8, shuffle=False)   # two full batches
    probe.gradients(X[16:], y[16:])                                                # the last, 7 rows
    for layer, expected in zip(model.layers, probe.layers):
        for name in ("a_prev", "z", "a", "dW", "db"):
            np.testing.assert_allclose(getattr(layer, name), getattr(expected, name), rtol=1e-14,
                                       atol=1e-15, err_msg=name)
    assert model.layers[0].a_prev.shape == (7, 5)


def test_a_second_fit_changes_no_array_the_first_returned():
    X, y = data()
    model = make("relu")
    model.fit(X, y, epochs=1, batch_size=8)
    kept = [model.predict(X), *model.get_weights(), *[layer.z for layer in model.layers]]
    copies = [k.copy() for k in kept]
    model.fit(X, y, epochs=2, batch_size=5)
    for k, c in zip(kept, copies):
        np.testing.assert_array_equal(k, c)


def test_shuffled_batches_are_gathered_rows():
    """With shuffle=True the batch buffers receive exactly X[rows] and y[rows] (np.take)."""
    X, y = data(m=10)
    work = model_module._Workspace(make("relu"), X, y, batch_size=4, shuffle=True)
    for rows in (np.array([9, 0, 3, 3]), np.array([5, 1])):
        Xb, yb = work.gather(X, y, rows)
        np.testing.assert_array_equal(Xb, X[rows])
        np.testing.assert_array_equal(yb, y[rows])
        assert Xb.shape == (len(rows), 5) and np.shares_memory(Xb, work.X)


def test_dense_into_methods_are_forward_and_backward():
    rng = np.random.default_rng(0)
    layer = nn.Dense(3, activation="relu")
    layer.build(4, rng, "float64")
    layer.b[:] = rng.normal(size=3)
    a_prev, delta = rng.normal(size=(6, 4)), rng.normal(size=(6, 3))
    z, a = np.empty((6, 3)), np.empty((6, 3))
    dW, db, grad = np.empty((4, 3)), np.empty(3), np.empty((6, 4))
    out = layer._forward_into(a_prev, z, a)
    expected = layer.forward(a_prev)
    assert out is a
    np.testing.assert_array_equal(z, layer.z)
    np.testing.assert_array_equal(a, expected)
    layer._backward_into(a_prev, delta, dW, db, grad)
    np.testing.assert_array_equal(grad, layer.backward(delta))
    np.testing.assert_array_equal(dW, layer.dW)
    np.testing.assert_array_equal(db, layer.db)


@pytest.mark.parametrize("name", nn.activations.names())
def test_activation_out_arguments_give_the_same_numbers(name):
    act = nn.activations.get(name)
    rng = np.random.default_rng(0)
    z = rng.normal(size=(5, 4)) * 3
    z[0, 0] = 0.0
    a = act(z)
    grad = rng.normal(size=z.shape)
    out = np.empty_like(z)
    assert act(z, out=out) is out
    np.testing.assert_array_equal(out, a)
    expected = act.backward(z, a, grad)
    out = np.empty_like(z)
    assert act.backward(z, a, grad, out=out) is out
    np.testing.assert_array_equal(out, expected)
    in_place = grad.copy()                          # out may be grad_a itself
    act.backward(z, a, in_place, out=in_place)
    np.testing.assert_array_equal(in_place, expected)


@pytest.mark.parametrize("loss", [nn.losses.MeanSquaredError(), nn.losses.BinaryCrossentropy(),
                                  nn.losses.BinaryCrossentropy(from_logits=True),
                                  nn.losses.CategoricalCrossentropy(),
                                  nn.losses.CategoricalCrossentropy(from_logits=True),
                                  nn.losses.SparseCategoricalCrossentropy(from_logits=True)],
                         ids=repr)
def test_value_and_gradient_is_the_loss_and_its_gradient(loss):
    rng = np.random.default_rng(0)
    y_pred = rng.uniform(0.05, 0.95, size=(6, 4))
    y_pred = y_pred / y_pred.sum(axis=1, keepdims=True) if loss.name == "categorical_crossentropy" else y_pred
    labels = rng.integers(0, 4, 6)
    y_true = labels if loss.name.startswith("sparse") else np.eye(4)[labels]
    out = np.empty_like(y_pred)
    value, gradient = loss.value_and_gradient(y_true, y_pred, out=out)
    assert gradient is out
    np.testing.assert_allclose(value, loss(y_true, y_pred), rtol=1e-15)
    np.testing.assert_allclose(gradient, loss.gradient(y_true, y_pred), rtol=1e-15, atol=1e-17)
