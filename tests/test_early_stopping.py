"""EarlyStopping (nnlib.callbacks, chapter 8) against Keras 3's: both callbacks are fed the same
sequence of logs through their hooks, each with a tiny model whose weights are set to a value
of their own before every epoch's end; they must stop after the same epoch, keep the same best
value and epoch, and leave the same weights. Then in a real ``fit``, and bad input."""
import warnings

import numpy as np
import pytest

import nnlib as nn

LOSS = [1.0, 0.8, 0.7, 0.72, 0.69, 0.71, 0.73, 0.75, 0.6, 0.61, 0.62, 0.63, 0.64, 0.65]
ACC = [0.5, 0.6, 0.65, 0.64, 0.66, 0.66, 0.655, 0.7, 0.69, 0.68, 0.68, 0.67]
SCENARIOS = {   # kwargs, the monitored sequence, the other entry of the logs
    "defaults (patience 0)": (dict(), LOSS, None),
    "patience 2": (dict(patience=2), LOSS, None),
    "patience 3": (dict(patience=3), LOSS, None),
    "min_delta 0.015": (dict(patience=1, min_delta=0.015), LOSS, None),
    "negative min_delta is its absolute value": (dict(patience=1, min_delta=-0.015), LOSS, None),
    "monitor loss": (dict(monitor="loss", patience=1), LOSS, None),
    "mode max, val_accuracy": (dict(monitor="val_accuracy", mode="max", patience=2), ACC, None),
    "mode auto, val_accuracy": (dict(monitor="val_accuracy", patience=2), ACC, None),
    "mode min on an accuracy": (dict(monitor="val_accuracy", mode="min", patience=1), ACC, None),
    "restore_best_weights, stopped": (dict(patience=2, restore_best_weights=True), LOSS, None),
    "restore_best_weights, never stopped": (dict(patience=20, restore_best_weights=True),
                                            LOSS, None),
    "restore_best_weights, max": (dict(monitor="val_accuracy", mode="max", patience=3,
                                       restore_best_weights=True), ACC, None),
    "start_from_epoch 4": (dict(patience=1, start_from_epoch=4), LOSS, None),
    "start_from_epoch 4, restore": (dict(patience=1, start_from_epoch=4,
                                         restore_best_weights=True), LOSS, None),
    "baseline never beaten": (dict(patience=3, baseline=0.5, restore_best_weights=True),
                              LOSS, None),
    "baseline beaten": (dict(patience=1, baseline=0.75), LOSS, None),
    "baseline, mode max": (dict(monitor="val_accuracy", mode="max", patience=2, baseline=0.69),
                           ACC, None),
    "ties below float32 resolution": (dict(patience=1),
                                      [1.0, 0.5, 0.5 - 1e-10, 0.5 - 2e-10, 0.4], None),
    "an exact tie with min_delta": (dict(patience=1, min_delta=0.25),
                                    [1.0, 0.75, 0.5, 0.25, 0.0], None),
    "monitor missing from the logs": (dict(monitor="val_loss", patience=0), LOSS, "no val"),
}


def tiny_weights(epoch):
    """A recognisable set of weights for the end of each epoch."""
    return [np.full((2, 1), float(epoch + 1)), np.full((1,), -float(epoch + 1))]


def run(callback, model, set_weights, kwargs, values, other):
    """Feed ``callback`` the logs; returns (epochs run, final weights)."""
    key = kwargs.get("monitor", "val_loss")
    callback.set_model(model)
    model.stop_training = False
    callback.on_train_begin()
    epochs = 0
    for epoch, value in enumerate(values):
        callback.on_epoch_begin(epoch)
        set_weights(tiny_weights(epoch))
        logs = {"loss": value + 0.01, "accuracy": 0.5}
        if other != "no val":
            logs[key] = value
        if key == "loss":
            logs["loss"] = value
        callback.on_epoch_end(epoch, logs)
        epochs += 1
        if model.stop_training:
            break
    callback.on_train_end()
    return epochs, model.get_weights()


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_early_stopping_stops_and_restores_as_keras(keras, scenario):
    kwargs, values, other = SCENARIOS[scenario]
    keras.config.set_floatx("float64")
    keras.config.set_dtype_policy("float64")
    keras_model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1)])
    keras_model.compile(optimizer="sgd", loss="mse", metrics=["accuracy"])
    keras_model.evaluate(np.zeros((2, 2)), np.zeros((2, 1)), verbose=0)   # builds the metrics
    model = nn.Sequential([nn.Input(shape=(2,)), nn.Dense(1)], dtype="float64")
    model.compile(optimizer="sgd", loss="mse", metrics=["accuracy"])
    ours = nn.callbacks.EarlyStopping(**kwargs)
    theirs = keras.callbacks.EarlyStopping(**kwargs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        n_ours, w_ours = run(ours, model, model.set_weights, kwargs, values, other)
        n_theirs, w_theirs = run(theirs, keras_model, keras_model.set_weights, kwargs, values,
                                 other)
    assert n_ours == n_theirs
    assert ours.stopped_epoch == theirs.stopped_epoch
    assert ours.best_epoch == theirs.best_epoch
    assert ours.wait == theirs.wait
    assert ours.best == (None if theirs.best is None else float(theirs.best))
    for a, b in zip(w_ours, w_theirs):
        np.testing.assert_array_equal(a, b)
    if other == "no val":
        messages = [str(w.message) for w in caught]
        assert sum("val_loss" in m and "EarlyStopping" in m for m in messages) == len(values)


def test_scenarios_cover_stopping_and_not_stopping():
    """The table above is not vacuous: most scenarios stop early, two do not, and the
    restoring ones end with weights other than the last epoch's."""
    stopped, restored = [], []
    for kwargs, values, other in SCENARIOS.values():
        model = nn.Sequential([nn.Input(shape=(2,)), nn.Dense(1)], dtype="float64")
        model.compile(optimizer="sgd", loss="mse", metrics=["accuracy"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            n, weights = run(nn.callbacks.EarlyStopping(**kwargs), model, model.set_weights,
                             kwargs, values, other)
        stopped.append(n < len(values))
        if kwargs.get("restore_best_weights"):
            restored.append(weights[0][0, 0] != n)            # tiny_weights(n - 1) is n
    assert sum(stopped) == len(stopped) - 2
    assert len(restored) == 5 and all(restored)


def test_in_fit_it_stops_after_patience_and_restores_the_best_weights(digits):
    """A model that overfits 40 samples: val_loss rises; fit stops `patience` epochs after
    the best epoch and the weights are those recorded at the end of that epoch."""
    X, labels, onehot = digits
    model = nn.Sequential([nn.Input(shape=(64,)), nn.Dense(64, activation="relu"),
                           nn.Dense(10, activation="softmax")], seed=1, dtype="float64")
    model.compile(optimizer=nn.optimizers.SGD(learning_rate=0.5), loss="categorical_crossentropy")
    snapshots = []

    class Snapshot(nn.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            snapshots.append(self.model.get_weights())

    stop = nn.callbacks.EarlyStopping(patience=3, restore_best_weights=True)
    history = model.fit(X[:40], onehot[:40], batch_size=8, epochs=200, verbose=0,
                        validation_data=(X[40:], onehot[40:]), callbacks=[Snapshot(), stop])
    val = history.history["val_loss"]
    best = int(np.argmin(val))
    assert len(val) == best + 3 + 1 < 200                  # stopped 3 epochs after the best
    assert stop.stopped_epoch == best + 3 and stop.best_epoch == best
    for a, b in zip(model.get_weights(), snapshots[best]):
        np.testing.assert_array_equal(a, b)


def test_bad_arguments_are_refused_naming_them():
    cases = [(dict(mode="minimum"), ValueError, "mode"), (dict(patience=-1), ValueError, "patience"),
             (dict(patience=1.5), ValueError, "patience"),
             (dict(start_from_epoch=-2), ValueError, "start_from_epoch"),
             (dict(min_delta="0.1"), TypeError, "min_delta"),
             (dict(baseline="low"), TypeError, "baseline"),
             (dict(monitor=None), TypeError, "monitor"), (dict(verbose=3), ValueError, "verbose"),
             (dict(restore_best_weights=1), TypeError, "restore_best_weights")]
    for kwargs, error, name in cases:
        with pytest.raises(error, match=name):
            nn.callbacks.EarlyStopping(**kwargs)


def test_auto_mode_on_an_unknown_monitor_is_refused_before_training(digits):
    """Keras cannot tell the direction of 'val_f1' either; nnlib says so before the first step."""
    X, labels, onehot = digits
    model = nn.Sequential([nn.Input(shape=(64,)), nn.Dense(10, activation="softmax")])
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    before = model.get_weights()
    with pytest.raises(ValueError, match="mode='max' or mode='min'"):
        model.fit(X, onehot, batch_size=32, epochs=2, verbose=0,
                  callbacks=[nn.callbacks.EarlyStopping(monitor="val_f1")])
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
