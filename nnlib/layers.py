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
    input_dim : int, n_{l-1}, for a first layer (or put an :class:`Input` before it).
    kernel_initializer, bias_initializer : names from :mod:`nnlib.initializers`.

    After :meth:`build`, ``W`` (n_{l-1}, n_l) and ``b`` (n_l,) hold the parameters. After
    :meth:`forward`, ``a_prev``, ``z`` and ``a`` hold the last batch's values; after
    :meth:`backward`, ``dW`` and ``db`` hold ∂C/∂W and ∂C/∂b. ``Sequential.fit`` computes the
    same formulas into buffers of its own, and ends with one ordinary forward and backward:
    afterwards these attributes hold fit's last batch.
    """

    def __init__(self, units, activation=None, input_dim=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros"):
        self.units = positive_int(units, "units")
        self.activation = activations.get(activation)
        self.input_dim = None if input_dim is None else positive_int(input_dim, "input_dim")
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.W = self.b = None
        self.a_prev = self.z = self.a = None
        self.dW = self.db = None

    @property
    def built(self):
        return self.W is not None

    def build(self, input_dim, rng, dtype="float32"):
        """Create W (input_dim, units) and b (units,) with the initializers."""
        self.input_dim = positive_int(input_dim, "input_dim")
        self.W = self.kernel_initializer((self.input_dim, self.units), rng, dtype)
        self.b = self.bias_initializer((self.units,), rng, dtype)

    def count_params(self):
        """(n_{l-1} + 1) · n_l: the kernel's entries plus one bias per unit."""
        return (self.input_dim + 1) * self.units

    def forward(self, a_prev):
        """A^{[l]} = f(A^{[l-1]} W + b) for a batch a_prev of shape (m, n_{l-1}); keeps a_prev, z, a."""
        a_prev = np.asarray(a_prev)
        if a_prev.ndim != 2 or a_prev.shape[1] != self.input_dim:
            raise ValueError(f"a_prev: expected shape (m, {self.input_dim}) for a layer with "
                             f"{self.input_dim} inputs, got shape {a_prev.shape}")
        self.a_prev = a_prev
        self.z = a_prev @ self.W + self.b          # (m, n_l): the bias row is broadcast to every sample
        self.a = self.activation(self.z)
        return self.a

    def backward(self, delta, input_gradient=True):
        """Given δ = ∂C/∂Z (m, n_l) of the last forward batch: set dW, db and return ∂C/∂A_prev
        (None if ``input_gradient`` is False: the first layer need not pass anything back)."""
        self.dW = self.a_prev.T @ delta             # (n_{l-1}, n_l)
        self.db = delta.sum(axis=0)                 # (n_l,)
        return delta @ self.W.T if input_gradient else None   # (m, n_{l-1})

    # ------------------------------------------------------------ fit's inner loop
    # The same two formulas as forward and backward, written into arrays that fit allocates
    # once per call: no checks, no new arrays, no attributes set (why: benchmarks/README.md).
    def _forward_into(self, a_prev, z, a):
        """:meth:`forward` into the buffers ``z`` and ``a`` (``a`` None: Z only, for an output
        layer whose loss takes the logits). Returns A (or Z)."""
        np.matmul(a_prev, self.W, out=z)
        z += self.b                                 # Z = A_prev W + b
        return z if a is None else self.activation(z, out=a)    # A = f(Z)

    def _backward_into(self, a_prev, delta, dW, db, grad_a_prev=None):
        """:meth:`backward` into the buffers ``dW``, ``db`` and, unless it is None, ``grad_a_prev``."""
        np.matmul(a_prev.T, delta, out=dW)          # ∂C/∂W = A_prevᵀ δ
        delta.sum(axis=0, out=db)                   # ∂C/∂b = Σ_rows δ
        if grad_a_prev is not None:
            np.matmul(delta, self.W.T, out=grad_a_prev)   # ∂C/∂A_prev = δ Wᵀ

    def get_config(self):
        return {"units": self.units, "activation": self.activation.name, "input_dim": self.input_dim}

    def __repr__(self):
        return f"Dense({self.units}, activation={self.activation.name!r})"
