"""Layers: the fully connected :class:`Dense` layer and the :class:`Input` marker.

Forward pass (chapter 3, eq. (eq-forward-batch))::

    Z^{[l]} = A^{[l-1]} W^{[l]} + b^{[l]},   A^{[l]} = f^{[l]}(Z^{[l]})

Backward pass (chapter 4, eqs. (eq-bp3), (eq-bp4), (eq-bp2)), given δ^{[l]} = ∂C/∂Z^{[l]}::

    ∂C/∂W^{[l]} = A^{[l-1]ᵀ} δ^{[l]},   ∂C/∂b^{[l]} = Σ_rows δ^{[l]},   ∂C/∂A^{[l-1]} = δ^{[l]} W^{[l]ᵀ}

Shapes: A^{[l-1]} (m, n_{l-1}), W^{[l]} (n_{l-1}, n_l) — Keras's kernel layout —, b^{[l]} (n_l,),
Z^{[l]} and A^{[l]} (m, n_l).
A :class:`Dropout` layer between two Dense layers drops entries of A in training
(chapter 8, eq. (eq-dropout)).
"""
import numpy as np

from . import activations, initializers
from . import regularizers as regularizers_module
from .validation import float_in, positive_int

__all__ = ["Dense", "Dropout", "Input", "from_config"]


class Input:
    """Declares the number of input features, as ``keras.Input(shape=(n_0,))``."""

    def __init__(self, shape):
        if isinstance(shape, int):
            shape = (shape,)
        if not (isinstance(shape, tuple) and len(shape) == 1):
            raise ValueError(f"shape: expected a 1-tuple (n_features,), got {shape!r}")
        self.shape = (positive_int(shape[0], "shape"),)

    def __repr__(self):
        return f"Input(shape={self.shape})"


class Dense:
    """A fully connected layer of ``units`` neurons: A = f(A_prev W + b).

    After :meth:`build`, ``W`` (n_{l-1}, n_l) and ``b`` (n_l,) hold the parameters. A training
    :meth:`forward` keeps ``a_prev``, ``z`` and ``a``; :meth:`backward` then sets ``dW`` and
    ``db``. The layer reuses these arrays from one batch to the next while the batch size m
    is unchanged: copy one to keep it past the next pass.

    Parameters
    ----------
    units : int, n_l.
    activation : name or :class:`~nnlib.activations.Activation`; None means linear.
    input_dim : int, n_{l-1}, for a first layer (Keras 3 style: put an :class:`Input` first).
    kernel_initializer, bias_initializer : names from :mod:`nnlib.initializers`.
    kernel_regularizer : None, an :mod:`nnlib.regularizers` penalty Ω(W) or a Keras name
        ("l2", "l1"): Ω(W) joins the loss and ∂Ω/∂W joins dW (chapter 8, eq. (eq-l2)).
    """

    def __init__(self, units, activation=None, *, input_dim=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None):
        self.units = positive_int(units, "units")
        self.activation = activations.get(activation)
        self.input_dim = None if input_dim is None else positive_int(input_dim, "input_dim")
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers_module.get(kernel_regularizer)
        self.W = self.b = None
        self.a_prev = self.z = self.a = self.dW = self.db = None
        self._arrays = {}

    @property
    def built(self):
        return self.W is not None

    def build(self, input_dim, rng, dtype="float32"):
        """Create W (input_dim, units) and b (units,) with the initializers."""
        self.input_dim = positive_int(input_dim, "input_dim")
        self.W = self.kernel_initializer((self.input_dim, self.units), rng, dtype)
        self.b = self.bias_initializer((self.units,), rng, dtype)
        self.a_prev = self.z = self.a = self.dW = self.db = None
        self._arrays = {}

    @property
    def weights(self):
        """[W, b], the layer's parameter arrays themselves (Keras's ``layer.weights``)."""
        return [self.W, self.b]

    @property
    def grads(self):
        """[dW, db] of the last :meth:`backward`, in the order of :attr:`weights`."""
        return [self.dW, self.db]

    def count_params(self):
        """(n_{l-1} + 1) · n_l: the kernel's entries plus one bias per unit."""
        return (self.input_dim + 1) * self.units

    def pre_activation(self, a_prev, out=None):
        """Z = A_prev W + b for a batch ``a_prev`` (m, n_{l-1}); shape (m, n_l) (chapter 3,
        eq. (eq-forward-batch)), written into ``out`` when it is given."""
        if out is None:                            # forward checks before it passes out=
            self._check_input(a_prev)
        z = np.matmul(a_prev, self.W, out=out)
        z += self.b                                 # the bias row is added to every sample
        return z

    def _check_input(self, a_prev):
        _check_a_prev(self, a_prev, self.input_dim, f"a layer with {self.input_dim} inputs")

    def forward(self, a_prev, training=True):
        """A = f(A_prev W + b) for a batch ``a_prev`` (m, n_{l-1}); returns A (m, n_l).

        In training (the default) the layer keeps a_prev, z and a for :meth:`backward`, in its
        own arrays; with ``training=False`` (``predict``, ``evaluate``) it returns new arrays
        and keeps nothing.
        """
        if not training:
            return self.activation(self.pre_activation(a_prev))
        self._check_input(a_prev)
        shape = (len(a_prev), self.units)
        z = self.pre_activation(a_prev, out=self._own("z", shape))
        self.a_prev, self.z, self.a = a_prev, z, self.activation(z, out=self._own("a", shape))
        return self.a

    def backward(self, delta, input_gradient=True):
        """Given δ = ∂C/∂Z (m, n_l) for the last training forward pass, set dW = A_prevᵀ δ and
        db = Σ_rows δ, and return ∂C/∂A_prev = δ Wᵀ, shape (m, n_{l-1}) (None when
        ``input_gradient`` is False: the first layer need not pass anything back). With a
        ``kernel_regularizer`` Ω, dW also holds ∂Ω/∂W (chapter 8, eq. (eq-l2))."""
        _check_delta(self, delta, self.z, "Z")
        self.dW = np.matmul(self.a_prev.T, delta, out=self._own("dW", self.W.shape))
        self.db = delta.sum(axis=0, out=self._own("db", self.b.shape))
        if self.kernel_regularizer is not None:
            self.dW += self.kernel_regularizer.gradient(self.W)      # ∂(C + Ω)/∂W
        if not input_gradient:
            return None
        return np.matmul(delta, self.W.T, out=self._own("grad_a_prev", self.a_prev.shape))

    def _own(self, name, shape):
        """The layer's own array ``name`` of ``shape``, made anew only when the shape changes."""
        array = self._arrays.get(name)
        if array is None or array.shape != shape:
            array = self._arrays[name] = np.empty(shape, self.W.dtype)
        return array

    def get_config(self):
        regularizer = self.kernel_regularizer
        return {"class_name": "Dense", "units": self.units, "activation": self.activation.name,
                "input_dim": self.input_dim,
                "kernel_regularizer": None if regularizer is None else {
                    "class_name": type(regularizer).__name__, "config": regularizer.get_config()}}

    def __repr__(self):
        regularizer = self.kernel_regularizer
        extra = "" if regularizer is None else f", kernel_regularizer={regularizer!r}"
        return f"Dense({self.units}, activation={self.activation.name!r}{extra})"


class Dropout:
    """Inverted dropout, as ``keras.layers.Dropout(rate, seed=None)`` (chapter 8, §Dropout,
    eq. (eq-dropout)).

    In training, each entry of the input A (m, n) is kept with probability 1 − p, p = ``rate``,
    and the kept entries are scaled by 1/(1 − p), so that the expected output is A::

        Ã = A ⊙ M / (1 − p),   M_kj = 1 with probability 1 − p, else 0;
        ∂C/∂A = ∂C/∂Ã ⊙ M / (1 − p)

    At inference (``forward(a, training=False)``: ``predict``, ``evaluate``) it is the identity.
    The masks come from the layer's own generator: ``seed`` if given, otherwise one derived
    from the model's seed without drawing from it (so adding a Dropout layer changes neither
    the model's initial weights nor its shuffling). After a training forward pass ``mask`` is
    the boolean M (m, n) that was used; ``forward(a, mask=M)`` uses a given M instead of
    drawing one. Keras draws its masks with TensorFlow's generator, so the two libraries
    agree on a given mask, not on their random draws (tests/test_dropout.py).

    In a Sequential it is a layer without parameters whose activation is the identity,
    Z = A = Ã, so the backward pass goes through it like any layer: δ = ∂C/∂Ã.
    """

    activation = activations.linear

    def __init__(self, rate, seed=None):
        self.rate = float_in(rate, "rate", 0.0, 1.0, open_high=True)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))
                                 or seed < 0):
            raise ValueError(f"seed: expected None or a non-negative integer, got {seed!r}")
        self.seed = None if seed is None else int(seed)
        self.units = self.input_dim = self.rng = None
        self.mask = self.z = self.a = None
        self._arrays, self._dtype = {}, None

    @property
    def built(self):
        return self.units is not None

    def build(self, input_dim, rng, dtype="float32"):
        """Take n = ``input_dim`` (output width = input width) and make the mask generator:
        from ``seed``, or a child of the model's generator ``rng`` (``rng`` draws nothing)."""
        self.input_dim = self.units = positive_int(input_dim, "input_dim")
        self.rng = np.random.default_rng(self.seed) if self.seed is not None else rng.spawn(1)[0]
        self._dtype = np.dtype(dtype)
        self.mask = self.z = self.a = None
        self._arrays = {}

    @property
    def weights(self):
        """No parameters: [] (as Keras's Dropout)."""
        return []

    @property
    def grads(self):
        return []

    def count_params(self):
        return 0

    def forward(self, a_prev, training=True, mask=None):
        """Ã = A ⊙ M/(1 − p) for a batch ``a_prev`` (m, n) in training, with a new random mask M
        or the given boolean ``mask`` (m, n); ``a_prev`` itself with ``training=False``."""
        _check_a_prev(self, a_prev, self.units, f"a Dropout layer of width {self.units}")
        if not training:
            return a_prev
        shape = a_prev.shape
        if mask is not None:
            mask = np.asarray(mask)
            if mask.shape != shape or not np.isin(mask, (0, 1)).all():
                raise ValueError(f"mask: expected an array of 0/1 (or booleans) of shape {shape}, "
                                 f"got shape {mask.shape}")
            keep = np.not_equal(mask, 0, out=self._own("mask", shape, bool))
        else:
            uniform = self.rng.random(shape, out=self._own("uniform", shape, np.float64))
            keep = np.greater_equal(uniform, self.rate, out=self._own("mask", shape, bool))
        scaled = np.multiply(keep, 1.0 / (1.0 - self.rate), out=self._own("scaled", shape),
                             dtype=self._dtype)                      # M / (1 − p)
        self.mask = keep
        self.z = self.a = np.multiply(a_prev, scaled, out=self._own("a", shape))
        return self.a

    def backward(self, delta, input_gradient=True):
        """∂C/∂A = δ ⊙ M/(1 − p), shape (m, n), for δ = ∂C/∂Ã of the last training forward
        pass (None when ``input_gradient`` is False)."""
        _check_delta(self, delta, self.a, "output")
        if not input_gradient:
            return None
        return np.multiply(delta, self._arrays["scaled"], out=self._own("grad_a_prev", delta.shape))

    def _own(self, name, shape, dtype=None):
        array = self._arrays.get(name)
        dtype = self._dtype if dtype is None else dtype
        if array is None or array.shape != shape:
            array = self._arrays[name] = np.empty(shape, dtype)
        return array

    def get_config(self):
        return {"class_name": "Dropout", "rate": self.rate, "seed": self.seed}

    def __repr__(self):
        return f"Dropout({self.rate}" + ("" if self.seed is None else f", seed={self.seed}") + ")"


def _check_a_prev(layer, a_prev, n, what):
    """forward's check: the layer is built and ``a_prev`` is a batch (m, n)."""
    if not layer.built:
        raise ValueError(f"layer: {layer!r} is not built yet; put nn.Input(shape=(n,)) first "
                         f"in the model, or call build(input_dim, rng)")
    if getattr(a_prev, "ndim", None) != 2 or a_prev.shape[1] != n:
        raise ValueError(f"a_prev: expected shape (m, {n}) for {what}, "
                         f"got shape {np.shape(a_prev)}")


def _check_delta(layer, delta, last, what):
    """backward's check: a training forward pass came first, and δ has the shape of its ``last``
    array (Z for Dense, the output for Dropout)."""
    if last is None:
        raise ValueError(f"layer: backward needs a training forward pass first "
                         f"({layer!r} has not seen a batch)")
    if getattr(delta, "shape", None) != last.shape:
        raise ValueError(f"delta: expected shape {last.shape}, the shape of the last "
                         f"forward pass's {what}, got shape {np.shape(delta)}")


def from_config(config):
    """A new, unbuilt layer from its ``get_config()`` (files of nnlib 0.2.0 hold only Dense)."""
    config = dict(config)
    if config.pop("class_name", "Dense") == "Dropout":
        return Dropout(config["rate"], seed=config["seed"])
    return Dense(config["units"], activation=config["activation"],
                 kernel_regularizer=regularizers_module.from_config(
                     config.get("kernel_regularizer")))
