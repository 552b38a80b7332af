"""nnlib.saliency: ∂(class score)/∂x by nnlib's backward pass, against TensorFlow's
GradientTape (float64, 1e-10), central differences and closed forms."""
import numpy as np
import pytest

import nnlib as nn
from nnlib.gradcheck import numerical_gradient, relative_error
from nnlib.saliency import saliency


def network(hidden=("tanh", "relu"), output="softmax", n_in=6, n_out=3, seed=1):
    layers = [nn.Input(shape=(n_in,))]
    layers += [nn.Dense(7 - i, activation=f) for i, f in enumerate(hidden)]
    layers += [nn.Dense(n_out, activation=output)]
    return nn.Sequential(layers, seed=seed, dtype="float64")


def logits(model, x):
    """Z^{[L]} written out from the weights, independently of nnlib's forward pass."""
    a = x
    for layer in model.layers[:-1]:
        a = layer.activation(a @ layer.W + layer.b)
    return a @ model.layers[-1].W + model.layers[-1].b


def numeric_saliency(score_of, x, classes):
    """Central differences of score_of(x)[k, c_k], row by row."""
    result = np.zeros_like(x)
    for k, c in enumerate(classes):
        result[k] = numerical_gradient(lambda: score_of(x)[k, c], x)[k]
    return result


@pytest.mark.parametrize("hidden", [("tanh", "relu"), ("sigmoid", "leaky_relu"), ("linear",), ()])
@pytest.mark.parametrize("output", ["softmax", "sigmoid", "linear"])
def test_logit_saliency_equals_central_differences(hidden, output):
    rng = np.random.default_rng(0)
    model = network(hidden, output)
    x, classes = rng.normal(size=(5, 6)), rng.integers(0, 3, size=5)
    expected = numeric_saliency(lambda v: logits(model, v), x, classes)
    assert relative_error(saliency(model, x, classes), expected) < 1e-7


@pytest.mark.parametrize("output", ["softmax", "sigmoid", "linear"])
def test_output_saliency_equals_central_differences(output):
    rng = np.random.default_rng(1)
    model = network(output=output)
    x, classes = rng.normal(size=(4, 6)), rng.integers(0, 3, size=4)
    expected = numeric_saliency(lambda v: model.predict(v, verbose=0), x, classes)
    assert relative_error(saliency(model, x, classes, score="output"), expected) < 1e-7


def test_saliency_equals_gradient_tape_in_float64(keras):
    """The same network in Keras (nn.keras_bridge.to_keras), differentiated by TensorFlow."""
    import tensorflow as tf
    rng = np.random.default_rng(2)
    model = network(("relu", "tanh"), "softmax", n_in=64, n_out=10)
    x, classes = rng.normal(size=(16, 64)), rng.integers(0, 10, size=16)
    keras_model = nn.keras_bridge.to_keras(model)
    x_tf = tf.constant(x)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x_tf)
        a = x_tf
        for layer in keras_model.layers[:-1]:
            a = layer(a)
        last = keras_model.layers[-1]
        z = tf.matmul(a, last.kernel) + last.bias           # the logits Z^{[L]}
        p = tf.nn.softmax(z)
        logit_score = tf.reduce_sum(tf.gather(z, classes, axis=1, batch_dims=1))
        output_score = tf.reduce_sum(tf.gather(p, classes, axis=1, batch_dims=1))
    tape_logit = tape.gradient(logit_score, x_tf).numpy()
    tape_output = tape.gradient(output_score, x_tf).numpy()
    assert tape_logit.dtype == np.float64
    np.testing.assert_allclose(keras_model(x).numpy(), model.predict(x, verbose=0), rtol=1e-12)
    for ours, theirs in [(saliency(model, x, classes), tape_logit),
                         (saliency(model, x, classes, score="output"), tape_output)]:
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-10 * np.abs(theirs).max())


def test_linear_model_saliency_is_the_weight_column():
    """With no hidden layer z_c = x · W[:, c] + b_c, so ∂z_c/∂x = W[:, c] for every sample."""
    rng = np.random.default_rng(3)
    model = network(hidden=(), output="softmax", n_in=6, n_out=3)
    x = rng.normal(size=(4, 6))
    np.testing.assert_allclose(saliency(model, x, 2), np.tile(model.layers[0].W[:, 2], (4, 1)),
                               rtol=1e-15)


def test_probability_saliency_mixes_the_classes():
    """∂p_c/∂x = p_c (∂z_c/∂x − Σ_j p_j ∂z_j/∂x), from the logit saliencies of every class."""
    rng = np.random.default_rng(4)
    model = network()
    x = rng.normal(size=(3, 6))
    p = model.predict(x, verbose=0)
    logit_maps = np.stack([saliency(model, x, j) for j in range(3)], axis=1)   # (m, n_L, n_0)
    mixed = logit_maps[:, 1] - np.einsum("kj,kji->ki", p, logit_maps)
    np.testing.assert_allclose(saliency(model, x, 1, score="output"), p[:, [1]] * mixed,
                               rtol=1e-10, atol=1e-15)


def test_saliency_leaves_the_layers_as_they_were():
    rng = np.random.default_rng(5)
    model = network()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x, y = rng.normal(size=(8, 6)), rng.integers(0, 3, size=8)
    model.gradients(x, y)
    kept = [(layer.z.copy(), layer.a.copy(), layer.dW.copy()) for layer in model.layers]
    weights = model.get_weights()
    saliency(model, rng.normal(size=(8, 6)), 0)
    for layer, (z, a, dW) in zip(model.layers, kept):
        np.testing.assert_array_equal(layer.z, z)
        np.testing.assert_array_equal(layer.a, a)
        np.testing.assert_array_equal(layer.dW, dW)
    for w, w0 in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(w, w0)


def test_one_class_index_for_all_samples_or_one_per_sample():
    rng = np.random.default_rng(6)
    model = network()
    x = rng.normal(size=(5, 6))
    np.testing.assert_array_equal(saliency(model, x, 1), saliency(model, x, [1] * 5))
    rows = saliency(model, x, [0, 1, 2, 0, 1])
    np.testing.assert_allclose(rows[2], saliency(model, x[2:3], 2)[0], rtol=1e-12)


@pytest.mark.parametrize("kwargs, match", [
    ({"class_index": 3}, "class_index"),
    ({"class_index": -1}, "class_index"),
    ({"class_index": [0, 1]}, "class_index"),
    ({"class_index": 0.5}, "class_index"),
    ({"class_index": 0, "score": "probability"}, "score"),
    ({"class_index": 0, "x": np.zeros((2, 5))}, "x"),
    ({"class_index": 0, "x": np.zeros(6)}, "x"),
])
def test_bad_arguments_are_named(kwargs, match):
    model = network()
    args = {"x": np.zeros((4, 6)), **kwargs}
    with pytest.raises(ValueError, match=match):
        saliency(model, **args)


def test_an_unbuilt_model_is_refused():
    with pytest.raises(ValueError, match="model"):
        saliency(nn.Sequential([nn.Dense(3)]), np.zeros((2, 4)), 0)


def test_dropout_layers_are_the_identity_outside_training():
    rng = np.random.default_rng(7)
    model = nn.Sequential([nn.Input(shape=(5,)), nn.Dense(6, activation="tanh"),
                           nn.layers.Dropout(0.5), nn.Dense(3, activation="softmax")],
                          seed=0, dtype="float64")
    x, classes = rng.normal(size=(3, 5)), [0, 1, 2]
    expected = numeric_saliency(lambda v: model.predict(v, verbose=0), x, classes)
    assert relative_error(saliency(model, x, classes, score="output"), expected) < 1e-7
