"""nnlib.sklearn: NNClassifier and NNRegressor follow scikit-learn's estimator rules.

scikit-learn's own estimator checks (``parametrize_with_checks``, every check that
``check_estimator`` runs) run on both classes, one test each. None is expected to fail:
``EXPECTED_FAILED_CHECKS`` is empty. scikit-learn itself skips (pytest reports "skipped")
the checks in ``SKIPPED_BY_SCIKIT_LEARN``, for the reasons given there; a test below makes
sure no other check is skipped, so that this list stays the whole truth.
"""
import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits, make_regression
from sklearn.model_selection import (GridSearchCV, cross_val_score, learning_curve,
                                     train_test_split, validation_curve)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator, parametrize_with_checks

import nnlib as nn
from nnlib.sklearn import NNClassifier, NNRegressor

ESTIMATORS = [NNClassifier(), NNRegressor()]

# Checks that must fail for a reason of nnlib's: none.
EXPECTED_FAILED_CHECKS = {}

# Checks scikit-learn skips (raises SkipTest) in this environment, and why none is a gap.
SKIPPED_BY_SCIKIT_LEARN = {
    "check_array_api_input": (
        "Runs only with SCIPY_ARRAY_API=1 set. nnlib computes with NumPy alone and does not "
        "claim array-API support (the estimators' array_api_support tag is False), so "
        "scikit-learn would only check NumPy input, which every other check already does."),
    "check_classifier_data_not_an_array": (
        "Skipped only in its second half, which needs pandas (not a dependency of the book): "
        "its first half, array-like objects that are not ndarrays, runs and passes before "
        "the skip."),
    "check_regressor_data_not_an_array": (
        "As check_classifier_data_not_an_array: the pandas half needs pandas; the "
        "non-ndarray half runs and passes."),
}


def _expected_failed_checks(estimator):
    return EXPECTED_FAILED_CHECKS


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed_checks)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_only_the_documented_checks_are_skipped(estimator):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(estimator, on_skip=None, on_fail=None)
    failed = [r["check_name"] for r in results if r["status"] == "failed"]
    skipped = {r["check_name"] for r in results if r["status"] == "skipped"}
    assert failed == []
    assert skipped <= set(SKIPPED_BY_SCIKIT_LEARN), skipped - set(SKIPPED_BY_SCIKIT_LEARN)
    assert len(results) > 40                 # the checks did run


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X, y


def test_the_defaults_learn_standardised_digits(digits):
    """Out of the box, as MLPClassifier: a scaler in front, no tuning, over 95 % accuracy."""
    X_train, X_test, y_train, y_test = train_test_split(*digits, test_size=0.25,
                                                        random_state=0, stratify=digits[1])
    model = make_pipeline(StandardScaler(), NNClassifier(random_state=0))
    assert model.fit(X_train, y_train).score(X_test, y_test) > 0.95


def test_random_state_is_the_seed_of_the_model(digits):
    """NNClassifier(random_state=s) trains exactly as Sequential(..., seed=s) by hand."""
    X, y = digits[0][:300] / 16, digits[1][:300]
    clf = NNClassifier(hidden_layer_sizes=(16,), optimizer="sgd", learning_rate=0.05,
                       batch_size=20, epochs=3, random_state=7).fit(X, y)
    by_hand = nn.Sequential([nn.Input(shape=(64,)), nn.Dense(16, activation="relu"),
                             nn.Dense(10, activation="softmax")], seed=7, dtype="float64")
    by_hand.compile(optimizer=nn.optimizers.SGD(learning_rate=0.05),
                    loss="sparse_categorical_crossentropy")
    history = by_hand.fit(X, y, batch_size=20, epochs=3, verbose=0)
    for w, w_hand in zip(clf.model_.get_weights(), by_hand.get_weights()):
        np.testing.assert_allclose(w, w_hand, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(clf.history_["loss"], history.history["loss"], rtol=1e-13)
    np.testing.assert_array_equal(clf.classes_, np.arange(10))


def test_l2_is_a_keras_l2_penalty_on_every_kernel():
    """NNRegressor(l2=λ) trains exactly as a Sequential whose Dense layers all carry L2(λ)."""
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(40, 3)), rng.normal(size=40)
    reg = NNRegressor(hidden_layer_sizes=(8,), activation="tanh", optimizer="sgd",
                      learning_rate=0.05, l2=0.125, batch_size=40, epochs=20,
                      random_state=3).fit(X, y)
    penalty = nn.regularizers.L2(0.125)
    by_hand = nn.Sequential([nn.Input(shape=(3,)),
                             nn.Dense(8, activation="tanh", kernel_regularizer=penalty),
                             nn.Dense(1, kernel_regularizer=penalty)], seed=3, dtype="float64")
    by_hand.compile(optimizer=nn.optimizers.SGD(learning_rate=0.05), loss="mse")
    history = by_hand.fit(X, y, batch_size=40, epochs=20, verbose=0, shuffle=True)
    for w, w_hand in zip(reg.model_.get_weights(), by_hand.get_weights()):
        np.testing.assert_allclose(w, w_hand, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(reg.history_["loss"], history.history["loss"], rtol=1e-13)
    # and the penalty acts: without it the first kernel ends larger
    plain = NNRegressor(hidden_layer_sizes=(8,), activation="tanh", optimizer="sgd",
                        learning_rate=0.05, batch_size=40, epochs=20, random_state=3).fit(X, y)
    assert np.abs(plain.model_.get_weights()[0]).sum() > np.abs(reg.model_.get_weights()[0]).sum()


def test_same_random_state_same_model_other_state_other_model(digits):
    X, y = digits[0][:200] / 16, digits[1][:200]
    fit = lambda seed: NNClassifier(hidden_layer_sizes=(8,), epochs=2,  # noqa: E731
                                    random_state=seed).fit(X, y)
    first, again, other = fit(3), fit(3), fit(4)
    for a, b in zip(first.model_.get_weights(), again.model_.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not np.allclose(first.model_.get_weights()[0], other.model_.get_weights()[0])
    # a RandomState draws the seed, as scikit-learn's estimators do
    drawn = NNClassifier(hidden_layer_sizes=(8,), epochs=1,
                         random_state=np.random.RandomState(0)).fit(X, y)
    assert drawn.model_.seed == np.random.RandomState(0).randint(np.iinfo(np.int32).max)


def test_clone_and_get_params_keep_the_hyper_parameters_only():
    clf = NNClassifier(hidden_layer_sizes=(32, 16), activation="tanh", learning_rate=0.01,
                       random_state=3)
    copy = clone(clf)
    assert copy.get_params() == clf.get_params()
    assert copy.get_params()["hidden_layer_sizes"] == (32, 16)
    assert not hasattr(copy, "model_")
    assert set(NNRegressor().get_params()) == set(clf.get_params())


def test_model_selection_tools_run_on_nnlib_models(digits):
    X, y = digits[0][:400], digits[1][:400]
    small = dict(hidden_layer_sizes=(16,), learning_rate=0.01, epochs=5, random_state=0)
    pipe = make_pipeline(StandardScaler(), NNClassifier(**small))
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.shape == (3,) and np.all(scores > 0.5)
    sizes, train, test = learning_curve(pipe, X, y, cv=3, train_sizes=[0.3, 1.0])
    assert test.shape == (2, 3) and test[1].mean() > test[0].mean() - 0.1
    train_scores, test_scores = validation_curve(pipe, X, y, cv=3,
                                                 param_name="nnclassifier__epochs",
                                                 param_range=[1, 3])
    assert test_scores.shape == (2, 3)
    search = GridSearchCV(pipe, {"nnclassifier__hidden_layer_sizes": [(4,), (16,)]}, cv=3)
    search.fit(X, y)
    assert search.best_params_["nnclassifier__hidden_layer_sizes"] in [(4,), (16,)]
    assert search.best_estimator_.score(X, y) > 0.5


def test_regressor_one_and_several_targets():
    X, y = make_regression(n_samples=120, n_features=5, n_targets=2, random_state=0)
    y = y / y.std(axis=0)
    reg = NNRegressor(hidden_layer_sizes=(16,), epochs=50, random_state=0)
    assert reg.fit(X, y).predict(X).shape == (120, 2)
    assert reg.n_outputs_ == 2 and reg.model_.output_dim == 2
    assert reg.fit(X, y[:, 0]).predict(X).shape == (120,)
    assert reg.score(X, y[:, 0]) > 0.8


def test_string_labels_and_probabilities(digits):
    X, y = digits[0][:300] / 16, np.where(digits[1][:300] % 2 == 0, "even", "odd")
    clf = NNClassifier(hidden_layer_sizes=(16,), epochs=5, random_state=0).fit(X, y)
    assert list(clf.classes_) == ["even", "odd"]
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])


def test_a_fitted_estimator_pickles(digits):
    X, y = digits[0][:100] / 16, digits[1][:100]
    clf = NNClassifier(hidden_layer_sizes=(8,), epochs=1, random_state=0).fit(X, y)
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(again.predict_proba(X), clf.predict_proba(X))


@pytest.mark.parametrize("params, name", [
    ({"hidden_layer_sizes": (0,)}, "hidden_layer_sizes"),
    ({"hidden_layer_sizes": "big"}, "hidden_layer_sizes"),
    ({"activation": "swish"}, "activation"),
    ({"optimizer": "lbfgs"}, "optimizer"),
    ({"optimizer": nn.optimizers.SGD()}, "optimizer"),
    ({"learning_rate": -1.0}, "learning_rate"),
    ({"l2": -0.1}, "l2"),
    ({"batch_size": 0}, "batch_size"),
    ({"epochs": 2.5}, "epochs"),
    ({"random_state": -1}, "random_state"),
    ({"random_state": "seed"}, "random_state"),
    ({"dtype": "int8"}, "dtype"),
])
def test_bad_hyper_parameters_are_named_in_fit_not_in_init(params, name):
    clf = NNClassifier(**params)               # __init__ checks nothing (scikit-learn's rule)
    with pytest.raises(ValueError, match=name):
        clf.fit(np.zeros((4, 2)), [0, 1, 0, 1])
    assert not hasattr(clf, "model_")


def test_one_class_is_refused_with_a_clear_message():
    with pytest.raises(ValueError, match="at least 2 classes, got 1 class"):
        NNClassifier().fit(np.zeros((4, 2)), [1, 1, 1, 1])
