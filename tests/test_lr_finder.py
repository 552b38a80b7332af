"""The learning-rate range test (nnlib.lr_finder, chapter 8): α grows exponentially over the
steps; the recorded losses are those of plain SGD steps at those α, recomputed by hand; the
model's weights and optimizer state are unchanged afterwards; the suggestion follows its
stated rule; divergence ends the run; bad input is refused. Keras has no range test."""
import numpy as np
import pytest

import nnlib as nn
from nnlib.lr_finder import DIVERGED, lr_range_test, smooth


def model_for(digits, optimizer=None, dropout=False, seed=0):
    layers = [nn.Input(shape=(64,)), nn.Dense(32, activation="relu"),
              nn.Dense(10, activation="softmax")]
    if dropout:
        layers.insert(2, nn.Dropout(0.2))
    model = nn.Sequential(layers, seed=seed, dtype="float64")
    model.compile(optimizer=optimizer or nn.optimizers.SGD(learning_rate=0.01),
                  loss="categorical_crossentropy")
    return model


def test_learning_rates_grow_exponentially_from_min_to_max(digits):
    X, labels, onehot = digits
    result = lr_range_test(model_for(digits), X, onehot, min_lr=1e-4, max_lr=1e-1, steps=31)
    lrs = result.learning_rates
    assert len(lrs) == len(result.losses) == 31                 # no divergence up to 0.1
    assert lrs[0] == pytest.approx(1e-4, rel=1e-14) and lrs[-1] == pytest.approx(1e-1, rel=1e-14)
    np.testing.assert_allclose(lrs[1:] / lrs[:-1], 10 ** (3 / 30), rtol=1e-13)


def test_losses_are_those_of_sgd_steps_at_the_growing_rates(digits):
    """Recomputed with the public API: the batch rows from the same generator, the loss by
    ``evaluate`` before each step, θ ← θ − α_i g with ``gradients``."""
    X, labels, onehot = digits
    model = model_for(digits)
    result = lr_range_test(model, X, onehot, min_lr=1e-3, max_lr=1.0, steps=12, batch_size=50,
                           seed=4)
    rng = np.random.default_rng(4)
    order = np.concatenate([rng.permutation(len(X)) for _ in range(3)])     # 600 rows > 2·256
    probe = model_for(digits)
    probe.set_weights(model.get_weights())
    for i, alpha in enumerate(result.learning_rates):
        rows = order[50 * i:50 * (i + 1)]
        loss = probe.evaluate(X[rows], onehot[rows], batch_size=50, verbose=0)
        assert result.losses[i] == pytest.approx(loss, rel=1e-12)
        grads = probe.gradients(X[rows], onehot[rows])
        probe.set_weights([w - alpha * g for w, g in zip(probe.get_weights(), grads)])
    assert 50 * 12 > len(X)                                   # the data was passed over again


@pytest.mark.parametrize("optimizer", [
    lambda: nn.optimizers.SGD(learning_rate=0.05, momentum=0.9),
    lambda: nn.optimizers.Adam(learning_rate=0.002),
    lambda: nn.optimizers.SGD(learning_rate=nn.optimizers.schedules.ExponentialDecay(0.1, 5, 0.5))],
    ids=["momentum", "adam", "schedule"])
@pytest.mark.parametrize("dropout", [False, True])
def test_weights_and_optimizer_state_are_unchanged(digits, optimizer, dropout):
    """After two epochs, one model runs the range test and its twin does not; both then train
    one more epoch: the same weights (so the same optimizer state: momentum, Adam's moments and
    step count), and the same weights right after the test."""
    X, labels, onehot = digits
    tested, twin = (model_for(digits, optimizer(), dropout) for _ in range(2))
    for model in (tested, twin):
        model.fit(X, onehot, batch_size=32, epochs=2, verbose=0)
    before = tested.get_weights()
    iterations = tested.optimizer.iterations
    lr_range_test(tested, X, onehot, min_lr=1e-5, max_lr=10.0, steps=60)
    for a, b in zip(before, tested.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert tested.optimizer.iterations == iterations
    assert tested.optimizer.learning_rate == twin.optimizer.learning_rate
    for model in (tested, twin):
        model.fit(X, onehot, batch_size=32, epochs=1, verbose=0, shuffle=False)
    for a, b in zip(tested.get_weights(), twin.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_smooth_is_the_bias_corrected_moving_average():
    """s_i = Σ_j (1 − β) β^{i−j} C_j / (1 − β^{i+1}), written as a sum."""
    losses = np.random.default_rng(2).uniform(1, 3, size=15)
    beta = 0.8
    expected = [sum((1 - beta) * beta ** (i - j) * losses[j] for j in range(i + 1))
                / (1 - beta ** (i + 1)) for i in range(15)]
    np.testing.assert_allclose(smooth(losses, beta), expected, rtol=1e-13)
    np.testing.assert_array_equal(smooth(losses, 0.0), losses)


def test_the_run_stops_at_divergence_and_the_suggestion_follows_its_rule(digits):
    """Up to α = 100 the loss explodes: the run stops early, every recorded loss is finite;
    the suggestion is a tenth of the α at the smoothed minimum, and training at it lowers the
    loss more than at the smallest α."""
    X, labels, onehot = digits
    model = model_for(digits)
    result = lr_range_test(model, X, onehot, min_lr=1e-5, max_lr=100.0, steps=100)
    smoothed = smooth(result.losses)
    assert len(result.losses) < 100 and np.all(np.isfinite(result.losses))
    assert smoothed[-1] > DIVERGED * smoothed.min() or not np.isfinite(smoothed[-1])
    assert result.suggested == pytest.approx(result.learning_rates[np.argmin(smoothed)] / 10)
    scores = []
    for alpha in (result.suggested, 1e-5):
        trial = model_for(digits, nn.optimizers.SGD(learning_rate=alpha))
        scores.append(trial.fit(X, onehot, batch_size=32, epochs=3, verbose=0).history["loss"][-1])
    assert scores[0] < scores[1] - 0.1


def test_bad_input_is_refused_naming_the_argument(digits):
    X, labels, onehot = digits
    model = model_for(digits)
    uncompiled = nn.Sequential([nn.Input(shape=(64,)), nn.Dense(10, activation="softmax")])
    cases = [(dict(model=uncompiled), "model"), (dict(min_lr=0), "min_lr"),
             (dict(min_lr=1.0, max_lr=0.1), "max_lr"), (dict(steps=1), "steps"),
             (dict(batch_size=0), "batch_size"), (dict(smoothing=1.0), "smoothing"),
             (dict(x=X[:, :10]), "x"), (dict(y=onehot[:, :3]), "y")]
    for overrides, name in cases:
        arguments = {**dict(model=model, x=X, y=onehot), **overrides}
        with pytest.raises(ValueError, match=name):
            lr_range_test(**arguments)
