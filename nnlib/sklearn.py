"""scikit-learn estimators that train an nnlib network: :class:`NNClassifier`, :class:`NNRegressor`.

They follow scikit-learn's estimator rules, so that everything scikit-learn builds on those
rules works on nnlib models: ``cross_val_score``, ``learning_curve``, ``validation_curve``,
``GridSearchCV``, ``Pipeline(StandardScaler(), NNClassifier())``, ``permutation_importance``,
``clone``. k-fold splits, scaling and searches are never rewritten by hand (chapter 7).

>>> from sklearn.pipeline import make_pipeline
>>> from sklearn.preprocessing import StandardScaler
>>> from sklearn.model_selection import cross_val_score
>>> from nnlib.sklearn import NNClassifier
>>> cross_val_score(make_pipeline(StandardScaler(), NNClassifier(random_state=0)), X, y, cv=5)

The rules, and how these classes keep them:

- ``__init__`` only stores its arguments, the hyper-parameters, unchanged and unchecked;
  ``get_params``/``set_params``/``clone`` therefore work. They are checked in ``fit``.
- ``fit(X, y)`` builds a new ``Sequential`` every time (``Input`` → one ``Dense`` per entry of
  ``hidden_layer_sizes`` → output layer), compiles and trains it with ``Sequential.fit``,
  and returns ``self``. What it learns ends in ``_``: ``model_`` (the trained
  :class:`~nnlib.Sequential`), ``history_`` (``History.history``: the loss per epoch),
  ``n_features_in_`` (and ``feature_names_in_`` for a DataFrame), ``classes_``
  (classifier), ``n_outputs_`` (regressor).
- Inputs are checked by scikit-learn's own ``validate_data``: NaN, infinity, sparse
  matrices, complex numbers, 1-D X, no samples, or a different number of features at
  predict time give scikit-learn's usual errors.
- Seeds: an integer ``random_state`` is the model's ``seed`` (initial weights and the
  shuffling of every epoch), so two fits with the same ``random_state`` give the same
  model, weight for weight, and ``NNClassifier(random_state=3)`` trains exactly as
  ``Sequential(..., seed=3)`` compiled and fitted by hand. ``None`` or a
  ``numpy.random.RandomState`` draws the seed from it, as scikit-learn's estimators do.

The classifier: a softmax output layer of one unit per class (two for a binary problem),
the sparse categorical cross-entropy on the class indices of ``classes_``; labels may be
any type ``numpy.unique`` sorts (integers, strings). ``predict_proba`` is the softmax
output, ``predict`` the class of its largest entry, ``score`` the accuracy. The regressor:
a linear output layer of one unit per target column, the mean squared error, ``score``
R²; ``predict`` returns shape (m,) for one target, (m, n_outputs) for several.

Defaults work out of the box, as ``MLPClassifier``'s do: one hidden layer of 100 ReLU
units, Adam with learning rate 0.001 (Keras's and scikit-learn's default), batches of
32, 30 epochs, float64. On standardised inputs (``StandardScaler``) the classifier reaches
about 97 % test accuracy on scikit-learn's digits (chapter 7 measures it). Like every
network, it needs scaled inputs: put a ``StandardScaler`` in front of it.

scikit-learn's ``check_estimator`` runs on both classes in ``tests/test_sklearn.py``;
the few checks that do not apply are listed there, each with its reason.
"""
import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from . import activations as activations_module
from . import optimizers as optimizers_module
from . import validation
from .layers import Dense, Input
from .model import Sequential
from .regularizers import L2

__all__ = ["NNClassifier", "NNRegressor"]


class _NNEstimator(BaseEstimator):
    """What the classifier and the regressor share: hyper-parameters, building, training."""

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", optimizer="adam",
                 learning_rate=0.001, l2=0.0, batch_size=32, epochs=30, random_state=None,
                 dtype="float64", verbose=0):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.l2 = l2
        self.batch_size = batch_size
        self.epochs = epochs
        self.random_state = random_state
        self.dtype = dtype
        self.verbose = verbose

    # ----------------------------------------------------------------- hyper-parameters
    def _dtype(self):
        return validation.check_dtype(self.dtype)

    def _seed(self):
        """The model's seed: ``random_state`` itself if it is an integer, else drawn from it."""
        state = self.random_state
        if isinstance(state, numbers.Integral) and not isinstance(state, bool):
            if state < 0:
                raise ValueError(f"random_state: expected None, a non-negative integer or a "
                                 f"numpy RandomState, got {state!r}")
            return int(state)
        if state is None or isinstance(state, np.random.RandomState):
            return int(check_random_state(state).randint(np.iinfo(np.int32).max))
        raise ValueError(f"random_state: expected None, a non-negative integer or a numpy "
                         f"RandomState, got {state!r}")

    def _hidden_sizes(self):
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, numbers.Integral) and not isinstance(sizes, bool):
            sizes = (sizes,)
        if not isinstance(sizes, (tuple, list)):
            raise ValueError(f"hidden_layer_sizes: expected a tuple of positive integers such as "
                             f"(100,), got {sizes!r}")
        return [validation.positive_int(n, "hidden_layer_sizes") for n in sizes]

    def _build(self, n_inputs, n_outputs, output_activation, loss):
        """A new compiled Sequential: Input(n_inputs) → Dense hidden layers → Dense(n_outputs)."""
        hidden = self._hidden_sizes()
        activation = activations_module.get(self.activation)
        if not isinstance(self.optimizer, str):
            raise ValueError(f"optimizer: expected a name, one of {optimizers_module.names()}, "
                             f"got {self.optimizer!r} (its learning rate is learning_rate)")
        optimizer_class = type(optimizers_module.get(self.optimizer))
        optimizer = optimizer_class(
            learning_rate=validation.positive_float(self.learning_rate, "learning_rate"))
        penalty = L2(self.l2)                       # checks l2: a finite number ≥ 0
        penalty = penalty if penalty.l2 > 0 else None
        model = Sequential([Input(shape=(n_inputs,))]
                           + [Dense(units, activation=activation, kernel_regularizer=penalty)
                              for units in hidden]
                           + [Dense(n_outputs, activation=output_activation,
                                    kernel_regularizer=penalty)],
                           seed=self._seed(), dtype=self._dtype())
        model.compile(optimizer=optimizer, loss=loss)
        return model

    def _train(self, X, y, n_outputs, output_activation, loss):
        validation.positive_int(self.batch_size, "batch_size")
        validation.positive_int(self.epochs, "epochs")
        model = self._build(X.shape[1], n_outputs, output_activation, loss)
        history = model.fit(X, y, batch_size=self.batch_size, epochs=self.epochs,
                            verbose=self.verbose, shuffle=True)
        self.model_ = model
        self.history_ = history.history
        return self

    def _output(self, X):
        """The network's output A^{[L]} for X (m, n_features_in_), after the usual checks."""
        check_is_fitted(self, "model_")
        X = validate_data(self, X, reset=False, dtype=self.model_.dtype)
        return self.model_.predict(X, batch_size=self.batch_size, verbose=0)


class NNClassifier(ClassifierMixin, _NNEstimator):
    """A classifier that trains an nnlib network with a softmax output (see the module's
    docstring for the rules it follows).

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default (100,)
        The units n_1, …, n_{L-1} of the hidden layers; () for none (logistic regression).
    activation : str, default "relu"
        The hidden layers' activation, an nnlib (= Keras) name.
    optimizer : str, default "adam"
        "adam", "sgd" or "rmsprop", with Keras's settings apart from ``learning_rate``.
    learning_rate : float, default 0.001
    l2 : float, default 0.0
        The weight penalty λ of chapter 8, eq. (eq-l2): every layer's kernel gets Keras's
        ``L2(l2)``, adding λ Σ W² to the loss; 0 for none. (scikit-learn's ``MLPClassifier``
        calls its penalty ``alpha``; here α is the learning rate and nothing else.)
    batch_size : int, default 32
    epochs : int, default 30
    random_state : None, int or numpy RandomState, default None
        An integer is the model's seed: the same integer, the same model.
    dtype : "float32" or "float64", default "float64"
    verbose : 0, 1 or 2, default 0 — passed to ``Sequential.fit``.

    Attributes
    ----------
    model_ : nnlib.Sequential, the trained network.
    classes_ : array (n_classes,), the labels; output unit j is ``classes_[j]``.
    history_ : dict, ``History.history`` of the training ("loss": one value per epoch).
    n_features_in_ : int.
    """

    def fit(self, X, y):
        """Train a new network on X (m, n_features) and the labels y (m,); returns self."""
        dtype = self._dtype()
        X, y = validate_data(self, X, y, dtype=dtype)
        check_classification_targets(y)
        classes, y_index = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(f"y: a classifier needs samples of at least 2 classes, got 1 class "
                             f"({classes[0]!r})")
        self.classes_ = classes
        return self._train(X, y_index, len(classes), "softmax",
                           "sparse_categorical_crossentropy")

    def predict_proba(self, X):
        """The softmax output, shape (m, n_classes): column j is P(class ``classes_[j]`` | x)."""
        return self._output(X)

    def predict(self, X):
        """The most probable class of each sample, shape (m,), taken from ``classes_``."""
        probabilities = self.predict_proba(X)          # checks first that fit has run
        return self.classes_[np.argmax(probabilities, axis=1)]


class NNRegressor(RegressorMixin, _NNEstimator):
    """A regressor that trains an nnlib network with a linear output and the mean squared
    error (see the module's docstring for the rules it follows).

    Parameters: those of :class:`NNClassifier`.

    Attributes
    ----------
    model_ : nnlib.Sequential, the trained network.
    n_outputs_ : int, the number of target columns (output units).
    history_ : dict, ``History.history`` of the training ("loss": one value per epoch).
    n_features_in_ : int.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True        # y of shape (m, n_outputs) is fine
        return tags

    def fit(self, X, y):
        """Train a new network on X (m, n_features) and y (m,) or (m, n_outputs); returns self."""
        dtype = self._dtype()
        X, y = validate_data(self, X, y, dtype=dtype, multi_output=True, y_numeric=True)
        y = np.asarray(y, dtype=dtype).reshape(len(y), -1)
        self.n_outputs_ = y.shape[1]
        return self._train(X, y, y.shape[1], "linear", "mse")

    def predict(self, X):
        """The network's output: shape (m,) for one target, ``(m, n_outputs_)`` for several."""
        y_pred = self._output(X)
        return y_pred.ravel() if self.n_outputs_ == 1 else y_pred
