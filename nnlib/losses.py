"""Loss functions C and their gradients (chapter 2, §Loss functions; gradients: chapter 4).

A loss compares targets ``y_true`` with predictions ``y_pred``, both (m, n_L), and
averages over the batch, as Keras does:

    C = (1/m) Σ_k ℓ(ŷ_k, y_k)

``loss(y_true, y_pred)`` is C (a float), ``loss.per_sample(...)`` the m values ℓ,
``loss.gradient(...)`` is ∂C/∂Ŷ, shape (m, n_L), the 1/m included. With
``from_logits=True`` the cross-entropies take the logits Z^{[L]} instead of
probabilities and ``gradient`` is δ^{[L]} = ∂C/∂Z^{[L]} directly: (softmax(Z) − Y)/m or
(σ(Z) − Y)/(m·n_L) — the fused, stable form Keras's TensorFlow backend uses
(chapter 4, §Softmax and cross-entropy together).

Inputs are validated by the model (:mod:`nnlib.validation`); these functions
assume arrays of matching shapes.
"""
import numpy as np

from .activations import sigmoid, softmax

__all__ = ["Loss", "MeanSquaredError", "BinaryCrossentropy", "CategoricalCrossentropy",
           "SparseCategoricalCrossentropy", "get", "names", "EPSILON",
           "mean_squared_error", "binary_crossentropy", "categorical_crossentropy",
           "sparse_categorical_crossentropy"]

EPSILON = 1e-7   # keras.config.epsilon(): probabilities are clipped to [ε, 1 − ε]


class Loss:
    """Base class: subclasses define ``per_sample`` and ``gradient``."""

    name = "loss"
    from_logits = False
    target_kind = "real"   # what y_true must hold: "real", "probability" or "class index"

    def __call__(self, y_true, y_pred):
        """C: the mean of ``per_sample`` over the batch (a float)."""
        return float(np.mean(self.per_sample(y_true, y_pred)))

    def per_sample(self, y_true, y_pred):
        """ℓ for each sample: shape (m,)."""
        raise NotImplementedError

    def gradient(self, y_true, y_pred):
        """∂C/∂Ŷ (or ∂C/∂Z with logits): shape (m, n_L), the 1/m included."""
        raise NotImplementedError

    def value_and_gradient(self, y_true, y_pred, out=None):
        """C and ∂C/∂Ŷ in one call, as a training step needs both; with ``out`` (an array of
        ``y_pred``'s shape) the gradient is written into it. Same numbers as calling
        ``loss(y_true, y_pred)`` and ``loss.gradient(y_true, y_pred)``."""
        value, gradient = self(y_true, y_pred), self.gradient(y_true, y_pred)
        if out is None:
            return value, gradient
        np.copyto(out, gradient)
        return value, out

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

    def per_sample(self, y_true, y_pred):
        return np.mean((y_pred - y_true) ** 2, axis=-1)

    def gradient(self, y_true, y_pred):
        m, n = y_pred.shape
        return (2.0 / (m * n)) * (y_pred - y_true)

    def value_and_gradient(self, y_true, y_pred, out=None):
        m, n = y_pred.shape
        error = np.subtract(y_pred, y_true, out=out)            # Ŷ − Y, computed once for both
        value = float(np.square(error).sum()) / (m * n)         # C = mean of (ŷ − y)²
        error *= 2.0 / (m * n)                                  # ∂C/∂Ŷ = 2(Ŷ − Y)/(m n_L)
        return value, error


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

    def per_sample(self, y_true, y_pred):
        if self.from_logits:
            z = y_pred
            terms = np.maximum(z, 0) - z * y_true + np.log1p(np.exp(-np.abs(z)))
        else:
            p = np.clip(y_pred, EPSILON, 1 - EPSILON)
            terms = -(y_true * np.log(p) + (1 - y_true) * np.log(1 - p))
        return np.mean(terms, axis=-1)

    def gradient(self, y_true, y_pred):
        m, n = y_pred.shape
        if self.from_logits:
            return (sigmoid(y_pred) - y_true) / (m * n)
        inside = (y_pred > EPSILON) & (y_pred < 1 - EPSILON)   # the clip passes no gradient
        p = np.clip(y_pred, EPSILON, 1 - EPSILON)
        return inside * (p - y_true) / (p * (1 - p)) / (m * n)


class CategoricalCrossentropy(_Crossentropy):
    """ℓ = −Σ_j y_j log p_j with one-hot (or probability) targets y.

    From probabilities, as Keras: p is first renormalised to sum to 1, then
    clipped to [ε, 1 − ε]. From logits: ℓ = logsumexp(z) − Σ_j y_j z_j and
    ∂C/∂Z = (softmax(Z)·Σ_j y_j − Y)/m, which is (softmax(Z) − Y)/m for one-hot Y.
    """

    name = "categorical_crossentropy"

    def per_sample(self, y_true, y_pred):
        if self.from_logits:
            z = y_pred
            z_max = z.max(axis=-1, keepdims=True)
            log_sum_exp = z_max + np.log(np.sum(np.exp(z - z_max), axis=-1, keepdims=True))
            return np.sum(y_true * (log_sum_exp - z), axis=-1)
        p = np.clip(y_pred / np.sum(y_pred, axis=-1, keepdims=True), EPSILON, 1 - EPSILON)
        return -np.sum(y_true * np.log(p), axis=-1)

    def gradient(self, y_true, y_pred):
        m = y_pred.shape[0]
        if self.from_logits:
            return (softmax(y_pred) * np.sum(y_true, axis=-1, keepdims=True) - y_true) / m
        total = np.sum(y_pred, axis=-1, keepdims=True)
        q = y_pred / total
        inside = (q > EPSILON) & (q < 1 - EPSILON)
        g = -y_true * inside / np.clip(q, EPSILON, 1 - EPSILON)          # ∂ℓ/∂q
        return (g - np.sum(g * q, axis=-1, keepdims=True)) / total / m   # through q = p / Σp

    def value_and_gradient(self, y_true, y_pred, out=None):
        if not self.from_logits:
            return super().value_and_gradient(y_true, y_pred, out)
        z, m = y_pred, y_pred.shape[0]                          # per_sample's and gradient's steps,
        z_max = z.max(axis=-1, keepdims=True)                   # sharing e^{z − max z}
        e = np.exp(np.subtract(z, z_max, out=out), out=out)
        total = e.sum(axis=-1, keepdims=True)
        log_sum_exp = z_max + np.log(total)
        value = float((y_true * (log_sum_exp - z)).sum()) / m   # C = (1/m) Σ_k ℓ_k
        e /= total                                              # softmax(Z)
        e *= y_true.sum(axis=-1, keepdims=True)
        e -= y_true
        e /= m                                                  # δ = (softmax(Z)·Σ_j y_j − Y)/m
        return value, e


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

    def per_sample(self, y_true, y_pred):
        return self._dense.per_sample(self.one_hot(y_true, y_pred.shape[-1], y_pred.dtype), y_pred)

    def gradient(self, y_true, y_pred):
        return self._dense.gradient(self.one_hot(y_true, y_pred.shape[-1], y_pred.dtype), y_pred)

    def value_and_gradient(self, y_true, y_pred, out=None):
        return self._dense.value_and_gradient(self.one_hot(y_true, y_pred.shape[-1], y_pred.dtype),
                                              y_pred, out)


def _per_sample_function(cls, doc):
    def loss_function(y_true, y_pred, from_logits=False):
        y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
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
_ALIASES = {"mse": "mean_squared_error"}


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
