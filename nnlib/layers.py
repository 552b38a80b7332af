"""Layers: the fully connected :class:`Dense` layer and the :class:`Input` marker.

Forward pass (chapter 3, eq. (eq-forward-batch)):
    Z^{[l]} = A^{[l-1]} W^{[l]} + b^{[l]},   A^{[l]} = f^{[l]}(Z^{[l]})
Backward pass (chapter 4, eqs. (eq-bp3), (eq-bp4), (eq-bp2)), given δ^{[l]} = ∂C/∂Z^{[l]}:
    ∂C/∂W^{[l]} = A^{[l-1]ᵀ} δ^{[l]},   ∂C/∂b^{[l]} = Σ_rows δ^{[l]},   ∂C/∂A^{[l-1]} = δ^{[l]} W^{[l]ᵀ}
Shapes: A^{[l-1]} (m, n_{l-1}), W^{[l]} (n_{l-1}, n_l) — Keras's kernel layout —, b^{[l]} (n_l,),
Z^{[l]} and A^{[l]} (m, n_l).
"""
import numpy as np

from . import activations, initializers
from .validation import positive_int

__all__ = ["Dense", "Input"]


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

    Parameters
    ----------
    units : int, n_l.
    activation : name or :class:`~nnlib.activations.Activation`; None means linear.
    input_dim : int, n_{l-1}, for a first layer (Keras 3 style: put an :class:`Input` first).
    kernel_initializer, bias_initializer : names from :mod:`nnlib.initializers`.

    After :meth:`build`, ``W`` (n_{l-1}, n_l) and ``b`` (n_l,) hold the parameters. A training
    :meth:`forward` keeps ``a_prev``, ``z`` and ``a``; :meth:`backward` then sets ``dW`` and
    ``db``. The layer reuses these arrays from one batch to the next while the batch size m
    is unchanged: copy one to keep it past the next pass.
    """

    def __init__(self, units, activation=None, *, input_dim=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros"):
        self.units = positive_int(units, "units")
        self.activation = activations.get(activation)
        self.input_dim = None if input_dim is None else positive_int(input_dim, "input_dim")
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
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
        if not self.built:
            raise ValueError(f"layer: {self!r} has no weights yet; put nn.Input(shape=(n,)) "
                             f"first in the model, or call build(input_dim, rng)")
        if getattr(a_prev, "ndim", None) != 2 or a_prev.shape[1] != self.input_dim:
            raise ValueError(f"a_prev: expected shape (m, {self.input_dim}) for a layer with "
                             f"{self.input_dim} inputs, got shape {np.shape(a_prev)}")

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
        ``input_gradient`` is False: the first layer need not pass anything back)."""
        if self.z is None:
            raise ValueError(f"layer: backward needs a training forward pass first "
                             f"({self!r} has not seen a batch)")
        if getattr(delta, "shape", None) != self.z.shape:
            raise ValueError(f"delta: expected shape {self.z.shape}, the shape of the last "
                             f"forward pass's Z, got shape {np.shape(delta)}")
        self.dW = np.matmul(self.a_prev.T, delta, out=self._own("dW", self.W.shape))
        self.db = delta.sum(axis=0, out=self._own("db", self.b.shape))
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
        return {"units": self.units, "activation": self.activation.name, "input_dim": self.input_dim}

    def __repr__(self):
        return f"Dense({self.units}, activation={self.activation.name!r})"
