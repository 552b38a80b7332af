"""Every gradient nnlib computes, against central differences (float64, relative error < 1e-7)."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import nnlib as nn
from nnlib.gradcheck import check_gradients, numerical_gradient, relative_error

TOLERANCE = 1e-7
ELEMENTWISE = ["linear", "sigmoid", "tanh", "relu", "leaky_relu"]


def away_from_kinks(shape, rng):
    """Values with |z| ≥ 0.1, so that ReLU's kink at 0 is never inside the ±ε stencil."""
    z = rng.normal(size=shape)
    return np.where(np.abs(z) < 0.1, np.sign(z + 1e-12) * 0.1 + z, z)


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_activation_derivative(name):
    act = nn.activations.get(name)
    z = away_from_kinks((4, 5), np.random.default_rng(0))
    weights = np.random.default_rng(1).normal(size=z.shape)      # C = Σ w ⊙ f(z)
    numeric = numerical_gradient(lambda: np.sum(weights * act(z)), z)
    assert relative_error(weights * act.derivative(z), numeric) < TOLERANCE
    assert relative_error(act.backward(z, act(z), weights), numeric) < TOLERANCE


def test_softmax_backward_is_its_jacobian_vector_product():
    z = np.random.default_rng(0).normal(size=(3, 4))
    g = np.random.default_rng(1).normal(size=z.shape)
    numeric = numerical_gradient(lambda: np.sum(g * nn.activations.softmax(z)), z)
    assert relative_error(nn.activations.softmax.backward(z, nn.activations.softmax(z), g), numeric) < TOLERANCE
    with pytest.raises(ValueError, match="softmax"):
        nn.activations.softmax.derivative(z)


def loss_cases():
    rng = np.random.default_rng(0)
    m, n = 5, 4
    onehot = np.eye(n)[rng.integers(0, n, m)]
    probs = rng.dirichlet(np.ones(n), size=m)
    yield "mse", nn.losses.MeanSquaredError(), rng.normal(size=(m, n)), rng.normal(size=(m, n))
    yield "bce", nn.losses.BinaryCrossentropy(), rng.integers(0, 2, (m, n)) * 1.0, rng.uniform(0.05, 0.95, (m, n))
    yield "bce-soft-targets", nn.losses.BinaryCrossentropy(), rng.uniform(0, 1, (m, n)), rng.uniform(0.05, 0.95, (m, n))
    yield "bce-logits", nn.losses.BinaryCrossentropy(from_logits=True), rng.integers(0, 2, (m, n)) * 1.0, rng.normal(size=(m, n)) * 3
    yield "cce", nn.losses.CategoricalCrossentropy(), onehot, probs
    yield "cce-unnormalised", nn.losses.CategoricalCrossentropy(), onehot, probs * 2.5
    yield "cce-logits", nn.losses.CategoricalCrossentropy(from_logits=True), onehot, rng.normal(size=(m, n)) * 3
    labels = rng.integers(0, n, m)
    yield "sparse", nn.losses.SparseCategoricalCrossentropy(), labels, probs
    yield "sparse-logits", nn.losses.SparseCategoricalCrossentropy(from_logits=True), labels, rng.normal(size=(m, n))


@pytest.mark.parametrize("name,loss,y_true,y_pred", list(loss_cases()), ids=[c[0] for c in loss_cases()])
def test_loss_gradient(name, loss, y_true, y_pred):
    numeric = numerical_gradient(lambda: loss(y_true, y_pred), y_pred)
    assert relative_error(loss.gradient(y_true, y_pred), numeric) < TOLERANCE


def test_dense_layer_gradients():
    rng = np.random.default_rng(0)
    layer = nn.Dense(3, activation="tanh")
    layer.build(4, rng, "float64")
    a_prev = rng.normal(size=(6, 4))
    g = rng.normal(size=(6, 3))                          # C = Σ g ⊙ A
    cost = lambda: np.sum(g * layer.forward(a_prev))     # noqa: E731
    layer.forward(a_prev)
    grad_a_prev = layer.backward(layer.activation.backward(layer.z, layer.a, g))
    dW, db = layer.dW.copy(), layer.db.copy()
    assert relative_error(dW, numerical_gradient(cost, layer.W)) < TOLERANCE
    assert relative_error(db, numerical_gradient(cost, layer.b)) < TOLERANCE
    assert relative_error(grad_a_prev, numerical_gradient(cost, a_prev)) < TOLERANCE


MODELS = {
    "1 hidden, tanh, softmax+cce": ([5], "tanh", "softmax", "categorical_crossentropy"),
    "2 hidden, sigmoid, sigmoid+bce": ([6, 4], "sigmoid", "sigmoid", "binary_crossentropy"),
    "3 hidden, relu, linear+mse": ([6, 5, 4], "relu", "linear", "mse"),
    "2 hidden, leaky_relu, softmax+sparse": ([5, 5], "leaky_relu", "softmax", "sparse_categorical_crossentropy"),
    "1 hidden, relu, softmax+mse": ([5], "relu", "softmax", "mse"),
}


def make_problem(hidden, activation, output, loss, seed=0, m=7, n_in=4, n_out=3):
    rng = np.random.default_rng(seed)
    model = nn.Sequential([nn.Input(shape=(n_in,))] + [nn.Dense(n, activation=activation) for n in hidden]
                          + [nn.Dense(n_out, activation=output)], seed=seed, dtype="float64")
    model.compile(loss=loss)
    X = rng.normal(size=(m, n_in))
    if "sparse" in str(loss):
        y = rng.integers(0, n_out, m)
    elif "crossentropy" in str(loss):
        y = np.eye(n_out)[rng.integers(0, n_out, m)]
    else:
        y = rng.normal(size=(m, n_out))
    return model, X, y


@pytest.mark.parametrize("name", MODELS)
def test_whole_model_gradients(name):
    model, X, y = make_problem(*MODELS[name])
    errors = check_gradients(model, X, y)
    assert len(errors) == 2 * len(model.layers)
    assert max(errors) < TOLERANCE, errors


def test_gradcheck_catches_a_wrong_gradient():
    """A check that cannot fail is no check: a sign error in one bias is found."""
    model, X, y = make_problem([5], "tanh", "softmax", "categorical_crossentropy")
    good = model.gradients(X, y)
    theta = model.weights[1]
    numeric = numerical_gradient(lambda: model.evaluate(X, y), theta)
    assert relative_error(good[1], numeric) < TOLERANCE
    assert relative_error(-good[1], numeric) > 0.5


def test_check_gradients_refuses_float32():
    model = nn.Sequential([nn.Dense(2, input_dim=2)])
    model.compile(loss="mse")
    with pytest.raises(ValueError, match="float64"):
        check_gradients(model, np.ones((2, 2)), np.ones((2, 2)))


@settings(max_examples=25, deadline=None, derandomize=True, database=None)   # the same cases every run
@given(m=st.integers(1, 6), n_in=st.integers(1, 5), hidden=st.lists(st.integers(1, 5), min_size=0, max_size=3),
       n_out=st.integers(1, 4), activation=st.sampled_from(["sigmoid", "tanh", "linear"]),
       seed=st.integers(0, 10_000))
def test_property_shapes_and_gradients(m, n_in, hidden, n_out, activation, seed):
    """For random shapes: forward/backward shapes are right and gradients pass the check.
    (Smooth activations only: a random ReLU input can sit on the kink.) A deep, narrow
    sigmoid network can have gradients of ~1e-10, below the ~1e-10·C round-off of the
    differences themselves, so the relative error is taken with that absolute floor."""
    model, X, y = make_problem(hidden, activation, "linear", "mse", seed=seed, m=m, n_in=n_in, n_out=n_out)
    assert model.predict(X).shape == (m, n_out)
    grads = model.gradients(X, y)
    assert [g.shape for g in grads] == [w.shape for w in model.get_weights()]
    floor = 1e-9 * max(1.0, model.evaluate(X, y))
    for theta, g in zip(model.weights, grads):
        numeric = numerical_gradient(lambda: model.evaluate(X, y), theta)
        assert np.linalg.norm(g - numeric) <= TOLERANCE * (np.linalg.norm(g) + np.linalg.norm(numeric)) + floor
