"""Loss functions C and their gradients (chapter 2, §Loss functions; gradients: chapter 4).

A loss compares targets ``y_true`` with predictions ``y_pred``, both (m, n_L), and
averages over the batch, as Keras does:

    C = (1/m) Σ_k ℓ(ŷ_k, y_k)

``loss(y_true, y_pred)`` is C (a float), ``loss.per_sample(...)`` the m values ℓ,
``loss.gradient(...)`` is ∂C/∂Ŷ, shape (m, n_L), the 1/m included. With
``from_logits=True`` the cross-entropies take the logits Z^{[L]} instead of
probabilities and ``gradient`` is δ^{[L]} = ∂C/∂Z^{[L]} directly: (softmax(Z) − Y)/m or
(σ(Z) − Y)/(m·n_L) — the fused, stable form Keras's TensorFlow backend uses
(chapter 4, §Why nnlib fuses them).

Targets and predictions are aligned as Keras aligns them (y of shape (m,) against ŷ of
shape (m, 1)); any other mismatch of shapes is a ValueError, never a silent broadcast.
"""
import numpy as np

from .activations import sigmoid, softmax

__all__ = ["Loss", "MeanSquaredError", "BinaryCrossentropy", "CategoricalCrossentropy",
           "SparseCategoricalCrossentropy", "get", "names", "EPSILON",
           "mean_squared_error", "binary_crossentropy", "categorical_crossentropy",
           "sparse_categorical_crossentropy"]

EPSILON = 1e-7   # keras.config.epsilon(): probabilities are clipped to [ε, 1 − ε]


def _mean(values):
    """The mean of the per-sample values ℓ, a float (np.mean costs µs more per call)."""
    return float(values.sum()) / values.size


class Loss:
    """Base class: subclasses define ``per_sample`` and ``gradient``, each formula once.

    Targets and predictions are first aligned as Keras aligns them: y of shape (m,) against
    ŷ of shape (m, 1) is read as (m, 1); any other mismatch is a ValueError.
    """

    name = "loss"
    from_logits = False
    target_kind = "real"   # what y_true must hold: "real", "probability" or "class index"

    def __call__(self, y_true, y_pred):
        """C: the mean of ``per_sample`` over the batch (a float)."""
        return _mean(self.per_sample(y_true, y_pred))

    def per_sample(self, y_true, y_pred):
        """ℓ for each sample: shape (m,)."""
        return self._per_sample(*self.align(y_true, y_pred))

    def gradient(self, y_true, y_pred, out=None):
        """∂C/∂Ŷ (or ∂C/∂Z with logits): shape (m, n_L), the 1/m included; written into
        ``out`` (an array of ``y_pred``'s shape) when it is given."""
        return self._gradient(*self.align(y_true, y_pred), out)

    def value_and_gradient(self, y_true, y_pred, out=None):
        """C and ∂C/∂Ŷ, as a training step needs both (``out`` as in :meth:`gradient`)."""
        y_true, y_pred = self.align(y_true, y_pred)
        return _mean(self._per_sample(y_true, y_pred)), self._gradient(y_true, y_pred, out)

    def align(self, y_true, y_pred):
        """(y_true, y_pred) as arrays of one shape, y of shape (m,) read as (m, 1) against ŷ
        of shape (m, 1), as Keras does; a ValueError for any other mismatch."""
        y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
        if y_true.shape != y_pred.shape:
            if y_true.ndim == y_pred.ndim - 1 and y_pred.shape[-1] == 1:
                y_true = y_true[..., None]
            elif y_pred.ndim == y_true.ndim - 1 and y_true.shape[-1] == 1:
                y_pred = y_pred[..., None]
            if y_true.shape != y_pred.shape:
                raise ValueError(f"y_true, y_pred: expected the same shape (m, n_L), got "
                                 f"{y_true.shape} and {y_pred.shape}")
        return y_true, y_pred

    def with_logits(self):
        """The same loss taking logits, or None when it has no logits form."""
        return None

    def get_config(self):
        return {"name": self.name, "from_logits": self.from_logits}

    def __repr__(self):
        extra = ", from_logits=True" if self.from_logits else ""
        return f"{type(self).__name__}({extra[2:]})"


class MeanSquaredError(Loss):
    """ℓ = (1/n_L) Σ_j (ŷ_j − y_j)²;  ∂C/∂Ŷ = 2(Ŷ − Y)/(m n_L)."""

    name = "mean_squared_error"

    def _per_sample(self, y_true, y_pred):
        return np.square(y_pred - y_true).sum(axis=-1) / y_pred.shape[-1]

    def _gradient(self, y_true, y_pred, out=None):
        g = np.subtract(y_pred, y_true, out=out)
        g *= 2.0 / y_pred.size                                  # m · n_L entries
        return g


class _Crossentropy(Loss):
    """A cross-entropy: takes probabilities, or logits with ``from_logits=True``."""

    target_kind = "probability"

    def __init__(self, from_logits=False):
        self.from_logits = bool(from_logits)

    def with_logits(self):
        return type(self)(from_logits=True)


class BinaryCrossentropy(_Crossentropy):
    """ℓ = −(1/n_L) Σ_j [y_j log p_j + (1 − y_j) log(1 − p_j)], p = ŷ (or σ(z) from logits).

    From probabilities, p is clipped to [ε, 1 − ε] as Keras does. From logits the
    stable form max(z, 0) − z·y + log(1 + e^{−|z|}) is used, and
    ∂C/∂Z = (σ(Z) − Y)/(m n_L).
    """

    name = "binary_crossentropy"

    def _per_sample(self, y_true, y_pred):
        if self.from_logits:
            z = y_pred
            terms = np.maximum(z, 0) - z * y_true + np.log1p(np.exp(-np.abs(z)))
        else:
            p = np.clip(y_pred, EPSILON, 1 - EPSILON)
            terms = -(y_true * np.log(p) + (1 - y_true) * np.log(1 - p))
        return terms.sum(axis=-1) / terms.shape[-1]

    def _gradient(self, y_true, y_pred, out=None):
        if self.from_logits:
            g = sigmoid(y_pred, out=out)
            g -= y_true
        else:
            inside = (y_pred > EPSILON) & (y_pred < 1 - EPSILON)   # the clip passes no gradient
            p = np.clip(y_pred, EPSILON, 1 - EPSILON)
            g = np.divide(inside * (p - y_true), p * (1 - p), out=out)
        g /= y_pred.size                                        # m · n_L entries
        return g


class CategoricalCrossentropy(_Crossentropy):
    """ℓ = −Σ_j y_j log p_j with one-hot (or probability) targets y.

    From probabilities, as Keras: p is first renormalised to sum to 1, then
    clipped to [ε, 1 − ε]. From logits: ℓ = logsumexp(z) − Σ_j y_j z_j and
    ∂C/∂Z = (softmax(Z)·Σ_j y_j − Y)/m, which is (softmax(Z) − Y)/m for one-hot Y.
    """

    name = "categorical_crossentropy"

    def _per_sample(self, y_true, y_pred):
        if self.from_logits:
            z = y_pred
            z_max = z.max(axis=-1, keepdims=True)
            log_sum_exp = z_max + np.log(np.exp(z - z_max).sum(axis=-1, keepdims=True))
            return (y_true * (log_sum_exp - z)).sum(axis=-1)
        p = np.clip(y_pred / y_pred.sum(axis=-1, keepdims=True), EPSILON, 1 - EPSILON)
        return -(y_true * np.log(p)).sum(axis=-1)

    def _gradient(self, y_true, y_pred, out=None):
        m = y_pred.shape[0]
        if self.from_logits:
            g = softmax(y_pred, out=out)
            g *= y_true.sum(axis=-1, keepdims=True)
            g -= y_true
            g /= m
            return g
        total = y_pred.sum(axis=-1, keepdims=True)
        q = y_pred / total
        inside = (q > EPSILON) & (q < 1 - EPSILON)
        g = -y_true * inside / np.clip(q, EPSILON, 1 - EPSILON)          # ∂ℓ/∂q
        return np.divide(g - (g * q).sum(axis=-1, keepdims=True), total * m,
                         out=out)                                       # through q = p / Σp


class SparseCategoricalCrossentropy(_Crossentropy):
    """Categorical cross-entropy with integer class labels y ∈ {0, …, n_L − 1}, shape (m,).

    Same numbers as :class:`CategoricalCrossentropy` with the one-hot targets.
    """

    name = "sparse_categorical_crossentropy"
    target_kind = "class index"

    def __init__(self, from_logits=False):
        super().__init__(from_logits)
        self._dense = CategoricalCrossentropy(from_logits)

    @staticmethod
    def one_hot(labels, n_classes, dtype):
        """(m,) integer labels → (m, n_classes) one-hot rows."""
        y = np.zeros((len(labels), n_classes), dtype=dtype)
        y[np.arange(len(labels)), np.asarray(labels).reshape(-1).astype(np.intp)] = 1
        return y

    def align(self, y_true, y_pred):
        """Labels of shape (m,) (or (m, 1)) against predictions of shape (m, n_L), as one-hot
        rows of ``y_pred``'s shape."""
        y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
        labels = y_true[:, 0] if y_true.ndim == 2 and y_true.shape[1] == 1 else y_true
        if y_pred.ndim != 2 or labels.shape != y_pred.shape[:1]:
            raise ValueError(f"y_true, y_pred: expected labels of shape (m,) and predictions of "
                             f"shape (m, n_L), got {y_true.shape} and {y_pred.shape}")
        return self.one_hot(labels, y_pred.shape[-1], y_pred.dtype), y_pred

    def _per_sample(self, y_true, y_pred):
        return self._dense._per_sample(y_true, y_pred)

    def _gradient(self, y_true, y_pred, out=None):
        return self._dense._gradient(y_true, y_pred, out)


def _per_sample_function(cls, doc):
    def loss_function(y_true, y_pred, from_logits=False):
        loss = cls() if cls is MeanSquaredError else cls(from_logits=from_logits)
        return loss.per_sample(y_true, y_pred)
    loss_function.__name__ = cls.name
    loss_function.__doc__ = doc + " Per sample, shape (m,), like ``keras.losses." + cls.name + "``."
    return loss_function


mean_squared_error = _per_sample_function(MeanSquaredError, "Mean squared error.")
binary_crossentropy = _per_sample_function(BinaryCrossentropy, "Binary cross-entropy.")
categorical_crossentropy = _per_sample_function(CategoricalCrossentropy, "Categorical cross-entropy.")
sparse_categorical_crossentropy = _per_sample_function(SparseCategoricalCrossentropy,
                                                       "Sparse categorical cross-entropy.")

_CLASSES = {cls.name: cls for cls in (MeanSquaredError, BinaryCrossentropy,
                                      CategoricalCrossentropy, SparseCategoricalCrossentropy)}
# The other names keras.losses.get takes for the same losses: class names and short aliases.
_ALIASES = {**{cls.__name__: cls.name for cls in _CLASSES.values()},
            "mse": "mean_squared_error", "MSE": "mean_squared_error",
            "bce": "binary_crossentropy", "BCE": "binary_crossentropy"}


def names():
    """The loss names nnlib knows (aliases included)."""
    return sorted(list(_CLASSES) + list(_ALIASES))


def get(identifier):
    """A :class:`Loss` from a name (``"mse"``, ``"categorical_crossentropy"``, …) or a Loss itself."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        name = _ALIASES.get(identifier, identifier)
        if name in _CLASSES:
            return _CLASSES[name]()
    raise ValueError(f"loss: unknown loss {identifier!r}; expected a Loss object or one of {names()}")


def from_config(config):
    """Rebuild a loss from :meth:`Loss.get_config`."""
    cls = _CLASSES[config["name"]]
    return cls() if cls is MeanSquaredError else cls(from_logits=config.get("from_logits", False))
