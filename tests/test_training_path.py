"""One training path: ``fit`` runs ``train_step`` on every batch, and that equals chapter 5's
loop written with the public API — the loss by ``evaluate``, the gradients by ``gradients``,
then θ ← θ − α g (or ``optimizer.apply``) — to 1e-14 in float64. The layers reuse their own
arrays, and no array the user was given changes behind their back. (Speed: benchmarks/.)"""
import inspect

import numpy as np
import pytest

import nnlib as nn

HIDDEN = ["linear", "sigmoid", "tanh", "relu", "leaky_relu"]
OUTPUT_LOSS = [("softmax", "categorical_crossentropy"), ("softmax", "sparse_categorical_crossentropy"),
               ("sigmoid", "binary_crossentropy"), ("linear", "mean_squared_error"),
               ("softmax", "mean_squared_error"),
               ("linear", nn.losses.CategoricalCrossentropy(from_logits=True))]


def make(hidden="tanh", output="softmax", loss="categorical_crossentropy", optimizer=None,
         dtype="float64", seed=0):
    model = nn.Sequential([nn.Input(shape=(5,)), nn.Dense(7, activation=hidden),
                           nn.Dense(6, activation=hidden), nn.Dense(4, activation=output)],
                          seed=seed, dtype=dtype)
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
            total += model.evaluate(Xb, yb, batch_size=len(rows)) * len(rows)
            grads = model.gradients(Xb, yb)
            if optimizer is None:
                alpha = model.optimizer.learning_rate
                model.set_weights([w - alpha * g for w, g in zip(model.get_weights(), grads)])
            else:
                optimizer.apply(grads, model.weights)
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
    history = fast.fit(X, y, epochs=3, batch_size=8, shuffle=shuffle, verbose=0).history["loss"]
    expected = reference_fit(slow, X, y, epochs=3, batch_size=8, shuffle=shuffle)
    assert_weights_equal(fast.get_weights(), slow.get_weights())
    np.testing.assert_allclose(history, expected, rtol=1e-14)
    assert fast.optimizer.iterations == 9


@pytest.mark.parametrize("name,optimizer", [
    ("momentum", lambda: nn.optimizers.SGD(learning_rate=0.05, momentum=0.875)),
    ("nesterov", lambda: nn.optimizers.SGD(learning_rate=0.05, momentum=0.875, nesterov=True)),
    ("adam", lambda: nn.optimizers.Adam(learning_rate=0.01, beta_1=0.875, beta_2=0.9990234375)),
    ("rmsprop", lambda: nn.optimizers.RMSprop(learning_rate=0.01, rho=0.875, momentum=0.5,
                                              centered=True))])
def test_fit_with_stateful_optimizers_equals_the_plain_loop(name, optimizer):
    """Momentum, Nesterov, Adam and RMSprop through ``optimizer.apply``: same numbers."""
    X, y = data()
    fast, slow = make("relu", optimizer=optimizer), make("relu", optimizer=optimizer)
    fast.fit(X, y, epochs=3, batch_size=8, shuffle=True, verbose=0)
    reference_fit(slow, X, y, epochs=3, batch_size=8, shuffle=True, optimizer=slow.optimizer)
    assert_weights_equal(fast.get_weights(), slow.get_weights())
    assert fast.optimizer.iterations == slow.optimizer.iterations == 9


def test_changing_the_batch_size_between_fits():
    """Batch sizes 8, then 5, then 4 (m a multiple), then one batch larger than the data."""
    X, y = data()
    fast, slow = make("relu"), make("relu")
    for batch_size in (8, 5, 4, 100):
        fast.fit(X, y, epochs=2, batch_size=batch_size, shuffle=True, verbose=0)
        reference_fit(slow, X, y, epochs=2, batch_size=batch_size, shuffle=True)
    assert_weights_equal(fast.get_weights(), slow.get_weights())


def test_float32_fit_stays_float32_and_close_to_the_plain_loop():
    X, y = data(m=40)
    fast, slow = make("relu", dtype="float32"), make("relu", dtype="float32")
    history = fast.fit(X, y, epochs=3, batch_size=16, shuffle=True, verbose=0).history["loss"]
    expected = reference_fit(slow, X.astype("float32"), y.astype("float32"), epochs=3,
                             batch_size=16, shuffle=True)
    assert all(w.dtype == np.float32 for w in fast.get_weights())
    assert all(layer.z.dtype == layer.a.dtype == np.float32 for layer in fast.layers)
    assert_weights_equal(fast.get_weights(), slow.get_weights(), rtol=1e-6)
    np.testing.assert_allclose(history, expected, rtol=1e-6)


def test_layers_hold_the_last_batch_after_fit():
    """After fit each layer's a_prev, z, a, dW and db are the last batch's, as after a plain loop."""
    X, y = data()
    model, probe = make("tanh"), make("tanh")
    model.fit(X, y, epochs=1, batch_size=8, shuffle=False, verbose=0)
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
    model.fit(X, y, epochs=1, batch_size=8, verbose=0)
    kept = [model.predict(X), *model.get_weights(), *model.gradients(X, y)]
    copies = [np.copy(k) for k in kept]
    model.fit(X, y, epochs=2, batch_size=5, verbose=0)
    for k, c in zip(kept, copies):
        np.testing.assert_array_equal(k, c)


def test_fit_runs_train_step_and_nothing_else():
    """The loop of fit calls train_step on each batch; no other forward or backward pass."""
    source = inspect.getsource(nn.Sequential._train)
    assert source.count("self.train_step(") == 1
    assert "forward(" not in source and "backward(" not in source


def test_fit_equals_train_step_on_the_same_batches():
    """fit with shuffling = train_step on the rows of the same permutation (model.rng)."""
    X, y = data()
    fitted, stepped = make("relu"), make("relu")
    history = fitted.fit(X, y, batch_size=8, epochs=2, verbose=0).history["loss"]
    expected = []
    for _ in range(2):
        order = stepped.rng.permutation(len(X))
        batches = [order[start:start + 8] for start in range(0, len(X), 8)]
        losses = [stepped.train_step(X[rows], y[rows]) * len(rows) for rows in batches]
        expected.append(sum(losses) / len(X))
    np.testing.assert_allclose(history, expected, rtol=1e-14)
    assert_weights_equal(fitted.get_weights(), stepped.get_weights())


def test_one_layer_network_equals_the_plain_loop():
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(12, 5)), rng.normal(size=(12, 1))
    fast, slow = [nn.Sequential([nn.Input(shape=(5,)), nn.Dense(1)], dtype="float64")
                  for _ in range(2)]
    for model in (fast, slow):
        model.compile(optimizer=nn.optimizers.SGD(learning_rate=0.05), loss="mse")
    history = fast.fit(X, y, batch_size=4, epochs=3, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(history, reference_fit(slow, X, y, 3, 4, False), rtol=1e-14)
    assert_weights_equal(fast.get_weights(), slow.get_weights())


def test_layers_hold_the_last_training_batch_after_validation():
    """The validation pass of fit changes no layer: afterwards they hold the last training
    batch, here 7 rows, not the 10 validation rows."""
    X, y = data()
    model, probe = make("tanh"), make("tanh")
    X_val, y_val = data(m=10, seed=5)
    model.fit(X, y, epochs=1, batch_size=8, shuffle=False, validation_data=(X_val, y_val),
              verbose=0)
    reference_fit(probe, X[:16], y[:16], epochs=1, batch_size=8, shuffle=False)
    probe.gradients(X[16:], y[16:])
    assert model.layers[0].a_prev.shape == (7, 5)
    for layer, expected in zip(model.layers, probe.layers):
        for name in ("a_prev", "z", "a", "dW", "db"):
            np.testing.assert_allclose(getattr(layer, name), getattr(expected, name), rtol=1e-14,
                                       atol=1e-15, err_msg=name)


def test_layer_reuses_its_arrays_only_while_the_batch_size_is_unchanged():
    layer = nn.Dense(3, activation="relu")
    layer.build(4, np.random.default_rng(0), "float64")
    rng = np.random.default_rng(1)
    first = layer.forward(rng.normal(size=(6, 4)))
    assert layer.forward(rng.normal(size=(6, 4))) is first          # same m: same array
    assert layer.forward(rng.normal(size=(2, 4))) is not first      # new m: a new one
    inference = layer.forward(rng.normal(size=(6, 4)), training=False)
    assert inference is not first and layer.z.shape == (2, 3)       # inference keeps nothing


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
