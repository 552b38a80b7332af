"""Optimizers, learning-rate schedules and the LearningRateScheduler callback against Keras.

Float64 throughout, with hyper-parameters exact in float32 where Keras rounds them through
float32 (SGD's momentum, Adam's β's, AdamW's weight decay; see nnlib/optimizers.py), and
schedules given to Keras with ``np.float64`` numbers (a Python float makes Keras compute the
schedule in float32; see nnlib/schedules.py). Measured on the reference machine: every
comparison below agrees to the last bit (difference 0), so 1e-12 leaves room for other
BLAS/libm builds.
"""
import numpy as np
import pytest

import nnlib as nn
from nnlib.keras_bridge import keras_optimizer, keras_schedule, to_keras

S = nn.optimizers.schedules
RTOL = 1e-12

OPTIMIZERS = {
    "sgd": lambda lr=0.1: nn.optimizers.SGD(learning_rate=lr),
    "sgd_momentum": lambda lr=0.05: nn.optimizers.SGD(learning_rate=lr, momentum=0.875),
    "sgd_nesterov": lambda lr=0.05: nn.optimizers.SGD(learning_rate=lr, momentum=0.875,
                                                      nesterov=True),
    "rmsprop": lambda lr=0.01: nn.optimizers.RMSprop(learning_rate=lr),
    "rmsprop_momentum": lambda lr=0.01: nn.optimizers.RMSprop(learning_rate=lr, momentum=0.9),
    "rmsprop_centered": lambda lr=0.01: nn.optimizers.RMSprop(learning_rate=lr, centered=True),
    "rmsprop_centered_momentum": lambda lr=0.01: nn.optimizers.RMSprop(
        learning_rate=lr, rho=0.8, momentum=0.5, epsilon=1e-6, centered=True),
    "adam": lambda lr=0.01: nn.optimizers.Adam(learning_rate=lr, beta_1=0.875,
                                               beta_2=0.9990234375),
    "adamw": lambda lr=0.01: nn.optimizers.AdamW(learning_rate=lr, weight_decay=0.00390625,
                                                 beta_1=0.875, beta_2=0.9990234375),
    "adamw_strong_decay": lambda lr=0.01: nn.optimizers.AdamW(learning_rate=lr, weight_decay=0.5,
                                                              beta_1=0.875, beta_2=0.9990234375),
}

SCHEDULES = {
    "exponential": lambda: S.ExponentialDecay(0.1, decay_steps=7, decay_rate=0.5),
    "exponential_staircase": lambda: S.ExponentialDecay(0.1, 5, 0.875, staircase=True),
    "piecewise": lambda: S.PiecewiseConstantDecay([10, 30], [0.1, 0.05, 0.01]),
    "cosine": lambda: S.CosineDecay(0.1, decay_steps=40),
    "cosine_alpha": lambda: S.CosineDecay(0.1, decay_steps=25, alpha=0.125),
    "cosine_warmup": lambda: S.CosineDecay(0.0, decay_steps=30, alpha=0.25, warmup_target=0.2,
                                           warmup_steps=8),
}


def assert_close(a, b, rtol=RTOL):
    for i, (x, y) in enumerate(zip(a, b)):
        np.testing.assert_allclose(x, y, rtol=rtol, atol=rtol * np.abs(y).max(),
                                   err_msg=f"array {i}")


# ------------------------------------------------------------ the optimizer alone
def run_on_fixed_gradients(keras, optimizer, steps=40):
    """``steps`` updates of two arrays (a kernel and a bias) from the same gradients, by nnlib
    and by Keras; returns both final arrays."""
    import tensorflow as tf
    keras.config.set_floatx("float64")
    rng = np.random.default_rng(0)
    theta0 = [rng.normal(size=(3, 4)), rng.normal(size=4)]
    grads = [[rng.normal(size=t.shape) * (1 + 0.1 * k) for t in theta0] for k in range(steps)]
    keras_twin = keras_optimizer(optimizer)
    theta = [t.copy() for t in theta0]
    variables = [keras.Variable(t.copy(), dtype="float64") for t in theta0]
    for g in grads:
        optimizer.apply(g, theta)
        keras_twin.apply([tf.constant(x) for x in g], variables)
    assert optimizer.iterations == int(keras_twin.iterations.numpy()) == steps
    return theta, [v.numpy() for v in variables]


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_alone_matches_keras(keras, name):
    theta, theta_keras = run_on_fixed_gradients(keras, OPTIMIZERS[name]())
    assert_close(theta, theta_keras)


@pytest.mark.parametrize("name,schedule", [
    ("sgd_momentum", "exponential"), ("rmsprop_centered", "exponential_staircase"),
    ("adam", "piecewise"), ("sgd", "cosine"), ("rmsprop_momentum", "cosine_alpha"),
    ("adamw", "cosine_warmup")])
def test_optimizer_with_schedule_alone_matches_keras(keras, name, schedule):
    """α = schedule(iterations) before each step, as Keras: the same 40 updates."""
    theta, theta_keras = run_on_fixed_gradients(keras, OPTIMIZERS[name](SCHEDULES[schedule]()))
    assert_close(theta, theta_keras)


def test_adamw_is_adam_after_a_decoupled_shrink():
    """AdamW's step: θ ← θ − θλα, then Adam's step from the gradient alone (Keras 3's order).
    With λ = 0 it is Adam; one step by hand otherwise."""
    rng = np.random.default_rng(1)
    theta0, g = rng.normal(size=5), rng.normal(size=5)
    a, b = theta0.copy(), theta0.copy()
    nn.optimizers.AdamW(0.1, weight_decay=0.0).apply([g], [a])
    nn.optimizers.Adam(0.1).apply([g], [b])
    np.testing.assert_array_equal(a, b)
    alpha, lam, beta_1, beta_2, eps = 0.1, 0.25, 0.9, 0.999, 1e-7
    c = theta0.copy()
    nn.optimizers.AdamW(alpha, weight_decay=lam).apply([g], [c])
    shrunk = theta0 - theta0 * lam * alpha
    m, v = (1 - beta_1) * g, (1 - beta_2) * g * g
    alpha_1 = alpha * np.sqrt(1 - beta_2) / (1 - beta_1)
    np.testing.assert_allclose(c, shrunk - alpha_1 * m / (np.sqrt(v) + eps), rtol=1e-14)


# ------------------------------------------------------------ the schedules
@pytest.mark.parametrize("name", SCHEDULES)
def test_schedule_matches_keras_step_by_step(keras, name):
    schedule = SCHEDULES[name]()
    twin = keras_schedule(schedule)
    steps = range(0, 70)
    ours = [schedule(t) for t in steps]
    theirs = [float(twin(t)) for t in steps]
    np.testing.assert_allclose(ours, theirs, rtol=1e-14, atol=1e-17)


def test_to_keras_carries_a_schedule(keras):
    """A model compiled with a scheduled optimizer has a Keras twin whose optimizer follows the
    same schedule (to_keras once refused it: Keras takes no schedule config dict)."""
    model = nn.Sequential([nn.Input(shape=(3,)), nn.Dense(2)], seed=0, dtype="float64")
    model.compile(optimizer=nn.optimizers.SGD(S.PiecewiseConstantDecay([2], [0.5, 0.25])),
                  loss="mse")
    config = to_keras(model).optimizer.get_config()["learning_rate"]
    assert config["class_name"] == "PiecewiseConstantDecay"
    twin = keras.optimizers.schedules.deserialize(config)
    assert [float(twin(t)) for t in (0, 2, 3, 9)] == [0.5, 0.5, 0.25, 0.25]


def test_keras_schedules_from_python_floats_are_float32(keras):
    """Why the tests give Keras np.float64: from a Python float, Keras computes in float32."""
    keras.config.set_floatx("float64")
    twin = keras.optimizers.schedules.ExponentialDecay(0.1, 7, 0.5)
    assert "float32" in str(twin(3).dtype)
    ours = S.ExponentialDecay(0.1, 7, 0.5)(3)
    assert 1e-12 < abs(float(twin(3)) - ours) / ours < 1e-6


def test_schedule_formulas_by_hand():
    assert S.ExponentialDecay(0.1, 10, 0.5)(20) == pytest.approx(0.025, rel=1e-15)
    assert S.ExponentialDecay(0.1, 10, 0.5, staircase=True)(19) == pytest.approx(0.05, rel=1e-15)
    pw = S.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.25])
    assert [pw(t) for t in (0, 10, 11, 20, 21, 1000)] == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    cos = S.CosineDecay(0.2, 100, alpha=0.1)
    assert cos(0) == pytest.approx(0.2) and cos(50) == pytest.approx(0.2 * (0.9 * 0.5 + 0.1))
    assert cos(100) == cos(500) == pytest.approx(0.02)
    warm = S.CosineDecay(0.0, 100, warmup_target=0.4, warmup_steps=10)
    assert warm(5) == pytest.approx(0.2) and warm(10) == pytest.approx(0.4)
    assert warm(110) == warm(1000) == pytest.approx(0.0, abs=1e-18)


def test_optimizer_reads_the_schedule_at_its_step_count():
    schedule = S.ExponentialDecay(0.5, 1, 0.5)
    optimizer = nn.optimizers.SGD(schedule)
    theta = np.array([0.0])
    rates = []
    for _ in range(4):
        rates.append(optimizer.learning_rate)
        optimizer.apply([np.array([1.0])], [theta])     # θ ← θ − α_t · 1
    assert rates == [0.5, 0.25, 0.125, 0.0625]
    assert theta[0] == -sum(rates)


# ------------------------------------------------------------ fit against Keras's fit
def small_model(seed=0):
    return nn.Sequential([nn.Input(shape=(5,)), nn.Dense(6, activation="tanh"),
                          nn.Dense(3, activation="softmax")], seed=seed, dtype="float64")


def small_data():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(46, 5))
    return X, np.eye(3)[rng.integers(0, 3, 46)]


def fit_both(keras, optimizer, epochs=10, callbacks=()):
    """The same model trained by nnlib's fit and Keras's: 46 samples, batch 10 (four of 10 and
    a last one of 6), no shuffling: 5 steps an epoch, 50 in 10 epochs."""
    X, Y = small_data()
    model = small_model()
    keras_model = to_keras(model)                       # same weights, not compiled yet
    model.compile(optimizer=optimizer, loss="categorical_crossentropy")
    keras_model.compile(optimizer=keras_optimizer(optimizer),
                        loss="categorical_crossentropy")
    settings = dict(epochs=epochs, batch_size=10, shuffle=False, verbose=0)
    h_nn = model.fit(X, Y, callbacks=[c[0] for c in callbacks] or None, **settings)
    h_k = keras_model.fit(X, Y, callbacks=[c[1] for c in callbacks] or None, **settings)
    assert model.optimizer.iterations == int(keras_model.optimizer.iterations.numpy()) == 5 * epochs
    return model, keras_model, h_nn, h_k


FIT_CASES = ["sgd_nesterov", "rmsprop_centered_momentum", "adam", "adamw"]


@pytest.mark.parametrize("name", FIT_CASES)
def test_fit_matches_keras(keras, name):
    model, keras_model, h_nn, h_k = fit_both(keras, OPTIMIZERS[name]())
    assert_close(model.get_weights(), keras_model.get_weights())
    np.testing.assert_allclose(h_nn.history["loss"], h_k.history["loss"], rtol=RTOL)


@pytest.mark.parametrize("name,schedule", [("sgd_momentum", "exponential_staircase"),
                                           ("rmsprop", "piecewise"),
                                           ("adamw", "cosine_warmup")])
def test_fit_with_a_schedule_matches_keras(keras, name, schedule):
    model, keras_model, h_nn, h_k = fit_both(keras, OPTIMIZERS[name](SCHEDULES[schedule]()))
    assert_close(model.get_weights(), keras_model.get_weights())
    np.testing.assert_allclose(h_nn.history["loss"], h_k.history["loss"], rtol=RTOL)


def test_learning_rate_scheduler_matches_keras(keras):
    """Keras's semantics: schedule(epoch, lr) at the start of each epoch; the rate in use is
    logged as "learning_rate"; the histories are equal."""
    def halve_after_3(epoch, lr):
        return lr if epoch < 3 else lr * 0.5

    callbacks = [(nn.callbacks.LearningRateScheduler(halve_after_3),
                  keras.callbacks.LearningRateScheduler(halve_after_3))]
    model, keras_model, h_nn, h_k = fit_both(keras, OPTIMIZERS["sgd_momentum"](lr=0.25),
                                             epochs=6, callbacks=callbacks)
    assert sorted(h_nn.history) == sorted(h_k.history) == ["learning_rate", "loss"]
    assert h_nn.history["learning_rate"] == [0.25, 0.25, 0.25, 0.125, 0.0625, 0.03125]
    np.testing.assert_allclose(h_nn.history["learning_rate"], h_k.history["learning_rate"],
                               rtol=0)
    np.testing.assert_allclose(h_nn.history["loss"], h_k.history["loss"], rtol=RTOL)
    assert_close(model.get_weights(), keras_model.get_weights())


def test_learning_rate_scheduler_one_argument_and_verbose(capsys):
    X, Y = small_data()
    model = small_model()
    model.compile(optimizer=nn.optimizers.SGD(0.1), loss="categorical_crossentropy")
    callback = nn.callbacks.LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1), verbose=1)
    history = model.fit(X, Y, epochs=3, batch_size=10, verbose=0, callbacks=[callback])
    np.testing.assert_allclose(history.history["learning_rate"], [0.1, 0.05, 0.1 / 3],
                               rtol=1e-15)
    assert "Epoch 3: LearningRateScheduler setting learning rate to" in capsys.readouterr().out


# ------------------------------------------------------------ configs and saving
@pytest.mark.parametrize("schedule", SCHEDULES)
def test_config_round_trip_keeps_the_schedule(schedule):
    original = SCHEDULES[schedule]()
    optimizer = nn.optimizers.AdamW(original, weight_decay=0.0625)
    config = optimizer.get_config()
    again = nn.optimizers.from_config(config)
    assert again.get_config() == config and isinstance(again, nn.optimizers.AdamW)
    rebuilt = S.deserialize(config["learning_rate"])
    assert type(rebuilt) is type(original)
    assert [rebuilt(t) for t in range(50)] == [original(t) for t in range(50)]
    rates = []
    for _ in range(50):                          # the rebuilt optimizer follows the schedule
        rates.append(again.learning_rate)
        again.iterations += 1
    assert rates == [original(t) for t in range(50)]


def test_save_and_load_with_a_schedule_continues_identically(tmp_path):
    X, Y = small_data()
    model = small_model()
    model.compile(optimizer=nn.optimizers.SGD(S.ExponentialDecay(0.2, 4, 0.5)),
                  loss="categorical_crossentropy")
    model.save(tmp_path / "m.npz")
    loaded = nn.load_model(tmp_path / "m.npz")
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    h1 = model.fit(X, Y, epochs=3, batch_size=10, shuffle=False, verbose=0)
    h2 = loaded.fit(X, Y, epochs=3, batch_size=10, shuffle=False, verbose=0)
    assert h1.history["loss"] == h2.history["loss"]


def test_names_and_setting_the_rate():
    assert isinstance(nn.optimizers.get("AdamW"), nn.optimizers.AdamW)
    assert nn.optimizers.AdamW().weight_decay == 0.004       # Keras 3's default
    optimizer = nn.optimizers.RMSprop(0.01)
    optimizer.learning_rate = 0.5                            # what a callback does
    assert optimizer.learning_rate == 0.5 and optimizer.get_config()["learning_rate"] == 0.5
    assert "ExponentialDecay" in repr(nn.optimizers.SGD(S.ExponentialDecay(0.1, 2, 0.5)))


# ------------------------------------------------------------ bad input
@pytest.mark.parametrize("make,words", [
    (lambda: S.ExponentialDecay(-0.1, 10, 0.5), ["initial_learning_rate", "positive"]),
    (lambda: S.ExponentialDecay(0.1, 0, 0.5), ["decay_steps", "positive"]),
    (lambda: S.ExponentialDecay(0.1, 10, -0.5), ["decay_rate"]),
    (lambda: S.ExponentialDecay(0.1, 10, 0.5, staircase="yes"), ["staircase"]),
    (lambda: S.PiecewiseConstantDecay([10, 5], [0.1, 0.05, 0.01]),
     ["boundaries", "strictly increasing"]),
    (lambda: S.PiecewiseConstantDecay([10, 10], [0.1, 0.05, 0.01]), ["boundaries"]),
    (lambda: S.PiecewiseConstantDecay([10, 20], [0.1, 0.05]), ["values", "one more", "3"]),
    (lambda: S.PiecewiseConstantDecay([], [0.1]), ["boundaries"]),
    (lambda: S.PiecewiseConstantDecay([10], [0.1, -0.05]), ["values[1]"]),
    (lambda: S.PiecewiseConstantDecay(10, [0.1, 0.05]), ["boundaries", "list"]),
    (lambda: S.CosineDecay(0.1, -5), ["decay_steps"]),
    (lambda: S.CosineDecay(0.1, 100, alpha=1.5), ["alpha", "[0, 1]"]),
    (lambda: S.CosineDecay(0.0, 100), ["initial_learning_rate"]),
    (lambda: S.CosineDecay(0.1, 100, warmup_steps=10), ["warmup_steps", "warmup_target"]),
    (lambda: S.CosineDecay(0.0, 100, warmup_target=-1.0, warmup_steps=10), ["warmup_target"]),
    (lambda: S.ExponentialDecay(0.1, 10, 0.5)(-1), ["step"]),
    (lambda: S.deserialize({"class_name": "Nope", "config": {}}), ["config", "ExponentialDecay"]),
    (lambda: nn.optimizers.AdamW(weight_decay=-0.1), ["weight_decay"]),
    (lambda: nn.optimizers.AdamW(weight_decay=None), ["weight_decay"]),
    (lambda: nn.optimizers.AdamW(learning_rate=-1e-3), ["learning_rate"]),
    (lambda: nn.optimizers.RMSprop(rho=1.0), ["rho"]),
    (lambda: nn.optimizers.RMSprop(momentum=-0.5), ["momentum"]),
    (lambda: nn.optimizers.RMSprop(epsilon=0), ["epsilon"]),
    (lambda: nn.optimizers.RMSprop(centered=1), ["centered"]),
    (lambda: nn.optimizers.SGD(learning_rate=lambda: 0.1), ["learning_rate", "schedule"]),
    (lambda: nn.callbacks.LearningRateScheduler(0.1), ["schedule"]),
    (lambda: nn.callbacks.LearningRateScheduler(lambda e, lr: lr, verbose=2), ["verbose"]),
])
def test_bad_construction(make, words):
    with pytest.raises((ValueError, TypeError)) as info:
        make()
    for word in words:
        assert word in str(info.value), f"{word!r} not in {info.value}"


def test_a_keras_schedule_is_refused_by_name(keras):
    with pytest.raises(TypeError, match="learning_rate.*nnlib.optimizers.schedules"):
        nn.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5))


def test_bad_learning_rates_set_later():
    optimizer = nn.optimizers.SGD(0.1)
    for bad in (-0.1, float("nan"), "0.1", True):
        with pytest.raises(ValueError, match="learning_rate"):
            optimizer.learning_rate = bad
    assert optimizer.learning_rate == 0.1
    scheduled = nn.optimizers.SGD(S.ExponentialDecay(0.1, 10, 0.5))
    with pytest.raises(TypeError, match="learning_rate.*schedule"):
        scheduled.learning_rate = 0.05


def test_learning_rate_scheduler_bad_return_stops_before_the_step():
    X, Y = small_data()
    model = small_model()
    model.compile(optimizer=nn.optimizers.SGD(0.1), loss="categorical_crossentropy")
    before = model.get_weights()
    for schedule, error in [(lambda epoch, lr: "fast", "schedule"),
                            (lambda epoch, lr: -lr, "learning_rate")]:
        with pytest.raises(ValueError, match=error):
            model.fit(X, Y, epochs=2, verbose=0,
                      callbacks=[nn.callbacks.LearningRateScheduler(schedule)])
        assert_close(model.get_weights(), before, rtol=0)
        assert model.optimizer.learning_rate == 0.1
    scheduled = small_model()
    scheduled.compile(optimizer=nn.optimizers.SGD(S.ExponentialDecay(0.1, 10, 0.5)),
                      loss="categorical_crossentropy")
    with pytest.raises(TypeError, match="schedule"):
        scheduled.fit(X, Y, epochs=1, verbose=0,
                      callbacks=[nn.callbacks.LearningRateScheduler(lambda e, lr: lr)])
