"""The three benchmark cases of issue 4, and what each one times.

Each case is one training run, done the same way by nnlib and by Keras: the same layers,
the same initial weights (nnlib's, copied into Keras), the same data, SGD with the same
learning rate, ``shuffle=True`` (both libraries' default), float32.

Case 3 also has a *floor*: the eight matrix products of every training step at their real
shapes, written in place into arrays allocated beforehand, and nothing else. A training
step can never be faster than its own products, so ``floor / nnlib`` is the share of
nnlib's time spent in matrix products (1.0 would mean no other cost at all).

Case 2's cost is NumPy's cost per call, not its products, so its floor is a *bare loop*:
the same network and training written by hand as one loop of NumPy calls, buffers
allocated once, every operation in place, the loss computed; ``bare loop / nnlib`` is the
share of nnlib's time that any NumPy code of this network would spend too.
"""
import os
import time
from dataclasses import dataclass, field

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")      # quiet TensorFlow (CONVENTIONS: Testing)
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np

import nnlib as nn


@dataclass
class Case:
    key: str                   # "1", "2", "3"
    name: str                  # short title for the table
    sizes: list                # [n_0, n_1, ..., n_L]
    activations: list          # one per layer
    loss: str
    batch_size: int
    epochs: int
    data: callable = field(repr=False)   # () -> (X, y), float32
    learning_rate: float = 0.01
    dtype: str = "float32"
    floor: bool = False        # time the matrix-product floor too (case 3)
    bare: bool = False         # time a bare hand-written NumPy loop too (case 2)

    def describe(self):
        net = "-".join(str(n) for n in self.sizes)
        return (f"{net} ({', '.join(self.activations)}), {self.loss}, SGD α={self.learning_rate}, "
                f"batch {self.batch_size}, {self.epochs} epochs, {self.dtype}")


# ------------------------------------------------------------------------- data
def article_data():
    """The source article's example: X = rand(100, 1), y = 3X + rand(100, 1), seed 1."""
    np.random.seed(1)
    X = np.random.rand(100, 1)
    y = 3 * X + np.random.rand(100, 1)
    return X.astype(np.float32), y.astype(np.float32)


def digits_data():
    """scikit-learn's 8×8 digits (1797 samples), scaled to [0, 1], one-hot targets."""
    from sklearn.datasets import load_digits
    X, labels = load_digits(return_X_y=True)
    return (X / 16.0).astype(np.float32), np.eye(10, dtype=np.float32)[labels]


def gemm_data(m=10_000, n_in=784, n_out=10, seed=0):
    """10 000 MNIST-sized samples: random pixels in [0, 1), random one-hot labels."""
    rng = np.random.default_rng(seed)
    X = rng.random((m, n_in), dtype=np.float32)
    return X, np.eye(n_out, dtype=np.float32)[rng.integers(0, n_out, m)]


CASES = {
    "1": Case("1", "article: Dense(1), 100 samples", [1, 1], ["linear"], "mean_squared_error",
              batch_size=32, epochs=1000, data=article_data),
    "2": Case("2", "digits MLP 64-128-64-10", [64, 128, 64, 10], ["relu", "relu", "softmax"],
              "categorical_crossentropy", batch_size=32, epochs=20, data=digits_data, bare=True),
    "3": Case("3", "GEMM-bound MLP 784-512-512-10", [784, 512, 512, 10], ["relu", "relu", "softmax"],
              "categorical_crossentropy", batch_size=256, epochs=3, data=gemm_data, floor=True),
}


def quick(case):
    """A smoke-test version of a case: few epochs (``--quick``)."""
    epochs = {"1": 50, "2": 2, "3": 1}[case.key]
    return Case(**{**case.__dict__, "epochs": epochs})


# ------------------------------------------------------------------------- models
def nnlib_model(case):
    layers = [nn.Input(shape=(case.sizes[0],))] + [
        nn.Dense(n, activation=f) for n, f in zip(case.sizes[1:], case.activations)]
    model = nn.Sequential(layers, seed=0, dtype=case.dtype)
    model.compile(optimizer=nn.optimizers.SGD(learning_rate=case.learning_rate), loss=case.loss)
    return model


def keras_model(case, weights):
    """The same network in Keras, with ``weights`` (nnlib's initial weights) copied in."""
    import keras
    keras.config.set_floatx(case.dtype)
    model = keras.Sequential([keras.Input(shape=(case.sizes[0],), dtype=case.dtype)] + [
        keras.layers.Dense(n, activation=f) for n, f in zip(case.sizes[1:], case.activations)])
    model.set_weights(weights)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=case.learning_rate), loss=case.loss)
    return model


class NnlibRunner:
    """Times nnlib's ``fit`` on a case, each run from the same initial weights."""

    label = "nnlib"

    def __init__(self, case, X, y):
        self.case, self.X, self.y = case, X, y
        self.model = nnlib_model(case)
        self.weights = self.model.get_weights()

    def warm_up(self):
        self.model.fit(self.X, self.y, epochs=1, batch_size=self.case.batch_size, verbose=0)

    def run(self):
        self.model.set_weights(self.weights)
        self.model.optimizer.reset()
        t0 = time.perf_counter()
        self.model.fit(self.X, self.y, epochs=self.case.epochs, batch_size=self.case.batch_size,
                       shuffle=True, verbose=0)
        return time.perf_counter() - t0


class KerasRunner:
    """Times Keras's ``fit`` on a case. ``build`` (model, weights, compile) and the first
    ``fit`` call (one epoch: it traces the training step into a TensorFlow graph) are
    timed apart, once, as ``build_seconds`` and ``first_fit_seconds``."""

    label = "Keras"

    def __init__(self, case, X, y, weights):
        self.case, self.X, self.y, self.weights = case, X, y, weights
        import keras                                    # imported before the clock starts
        keras.utils.set_random_seed(0)
        t0 = time.perf_counter()
        self.model = keras_model(case, weights)
        self.build_seconds = time.perf_counter() - t0
        self.first_fit_seconds = None

    def warm_up(self):
        t0 = time.perf_counter()
        self.model.fit(self.X, self.y, epochs=1, batch_size=self.case.batch_size, verbose=0)
        self.first_fit_seconds = time.perf_counter() - t0

    def run(self):
        self.model.set_weights(self.weights)
        t0 = time.perf_counter()
        self.model.fit(self.X, self.y, epochs=self.case.epochs, batch_size=self.case.batch_size,
                       shuffle=True, verbose=0)
        return time.perf_counter() - t0


# ------------------------------------------------------------------------- FLOPs and the floor
def step_products(sizes, m):
    """The matrix products of one training step on a batch of m rows, as (rows, inner, cols):
    forward Z^{[l]} = A^{[l-1]} W^{[l]} for every layer; backward ∂C/∂W^{[l]} = A^{[l-1]ᵀ} δ^{[l]}
    for every layer and ∂C/∂A^{[l-1]} = δ^{[l]} W^{[l]ᵀ} for every layer but the first (the
    input needs no gradient): 3 + 3 + 2 = 8 products for three layers."""
    L = len(sizes) - 1
    forward = [(m, sizes[l - 1], sizes[l]) for l in range(1, L + 1)]
    weights = [(sizes[l - 1], m, sizes[l]) for l in range(1, L + 1)]
    inputs = [(m, sizes[l], sizes[l - 1]) for l in range(2, L + 1)]
    return forward + weights + inputs


def batch_sizes(m_total, batch_size):
    """The batch sizes of one epoch: full batches, then the remainder as a step of its own."""
    return [min(batch_size, m_total - start) for start in range(0, m_total, batch_size)]


def training_flops(case, m_total):
    """Floating-point operations of the matrix products of the whole run (2 per multiply-add)."""
    per_epoch = sum(2 * r * k * c for m in batch_sizes(m_total, case.batch_size)
                    for r, k, c in step_products(case.sizes, m))
    return case.epochs * per_epoch


class FloorRunner:
    """The floor: for every step of every epoch, the eight products of a training step at
    their real shapes and memory layouts (A^{[l-1]ᵀ} and W^{[l]ᵀ} as transposed views, as in
    nnlib), each ``np.matmul(..., out=...)`` into arrays allocated beforehand. No activation,
    no loss, no update, no shuffling: only what a step cannot avoid."""

    label = "floor"

    def __init__(self, case, X, y, weights):
        self.case, self.X = case, X
        rng = np.random.default_rng(1)
        dtype = case.dtype
        sizes, b = case.sizes, case.batch_size
        self.W = [w for w in weights[0::2]]
        self.A = [None] + [np.empty((b, n), dtype) for n in sizes[1:]]      # A[0] is the batch
        self.D = [None] + [np.empty((b, n), dtype) for n in sizes[1:]]      # δ^{[l]}
        self.D[-1][...] = rng.normal(scale=1e-3, size=self.D[-1].shape)
        self.dW = [np.empty_like(w) for w in self.W]

    def warm_up(self):
        self._epoch()

    def _epoch(self):
        X, b, L = self.X, self.case.batch_size, len(self.W)
        W, A, D, dW = self.W, self.A, self.D, self.dW
        for start in range(0, X.shape[0], b):
            x = X[start:start + b]
            m = x.shape[0]
            a = [x] + [A[l][:m] for l in range(1, L + 1)]
            d = [None] + [D[l][:m] for l in range(1, L + 1)]
            for l in range(1, L + 1):                                   # forward: L products
                np.matmul(a[l - 1], W[l - 1], out=a[l])
            for l in range(L, 0, -1):                                   # backward: 2L − 1
                np.matmul(a[l - 1].T, d[l], out=dW[l - 1])
                if l > 1:
                    np.matmul(d[l], W[l - 1].T, out=d[l - 1])

    def run(self):
        t0 = time.perf_counter()
        for _ in range(self.case.epochs):
            self._epoch()
        return time.perf_counter() - t0


class BareLoopRunner:
    """Case 2's floor: its training written by hand for exactly this network (ReLU hidden
    layers, softmax with categorical cross-entropy, plain SGD), as bare NumPy: arrays allocated
    once, every operation in place (``out=``), each batch gathered with ``np.take``, the batch
    loss computed, the learning rate folded into δ^{[L]}. No checks, no objects, no callbacks:
    what NumPy's cost per call leaves for any implementation of this network."""

    label = "bare loop"

    def __init__(self, case, X, y, weights):
        assert case.activations[:-1] == ["relu"] * (len(case.activations) - 1)
        assert case.activations[-1] == "softmax" and case.loss == "categorical_crossentropy"
        self.case, self.X, self.y, self.initial = case, X, y, weights
        b, dtype = case.batch_size, case.dtype
        self.W, self.b = [w.copy() for w in weights[0::2]], [w.copy() for w in weights[1::2]]
        self.Z = [np.empty((b, n), dtype) for n in case.sizes[1:]]
        self.A = [np.empty((b, n), dtype) for n in case.sizes[1:-1]]
        self.D = [np.empty((b, n), dtype) for n in case.sizes[1:]]
        self.dW, self.db = [np.empty_like(w) for w in self.W], [np.empty_like(v) for v in self.b]
        self.Xb, self.yb = np.empty((b, X.shape[1]), dtype), np.empty((b, y.shape[1]), dtype)
        self.rng = np.random.default_rng(0)

    def warm_up(self):
        self._epoch()

    def _epoch(self):
        X, y, bs, lr = self.X, self.y, self.case.batch_size, self.case.learning_rate
        W, b, Z, A, D, dW, db, L = self.W, self.b, self.Z, self.A, self.D, self.dW, self.db, len(self.W)
        order = self.rng.permutation(len(X))
        for start in range(0, len(X), bs):
            rows = order[start:start + bs]
            m = len(rows)
            xb, yb = self.Xb[:m], self.yb[:m]
            X.take(rows, axis=0, out=xb, mode="clip")
            y.take(rows, axis=0, out=yb, mode="clip")
            a = xb
            for l in range(L):                                           # forward
                z = Z[l][:m]
                np.matmul(a, W[l], out=z)
                z += b[l]
                if l < L - 1:
                    a = np.maximum(z, 0, out=A[l][:m])
            z, d = Z[-1][:m], D[-1][:m]                                  # softmax + CE on logits
            z_max = z.max(axis=1, keepdims=True)
            np.subtract(z, z_max, out=d)
            np.exp(d, out=d)
            total = d.sum(axis=1, keepdims=True)
            self.loss = float(np.log(total).sum() - (yb * (z - z_max)).sum()) / m
            d /= total
            d -= yb
            d *= lr / m                                                  # α δ^{[L]}
            for l in range(L - 1, -1, -1):                               # backward, update
                np.matmul(A[l - 1][:m].T if l else xb.T, d, out=dW[l])
                d.sum(axis=0, out=db[l])
                if l:
                    g = D[l - 1][:m]
                    np.matmul(d, W[l].T, out=g)
                    np.multiply(g, Z[l - 1][:m] > 0, out=g)
                    d = g
                W[l] -= dW[l]
                b[l] -= db[l]

    def run(self):
        for w, w0 in zip(self.W + self.b, self.initial[0::2] + self.initial[1::2]):
            w[...] = w0
        t0 = time.perf_counter()
        for _ in range(self.case.epochs):
            self._epoch()
        return time.perf_counter() - t0


class SquareMatmulRunner:
    """For context: C = A B for square 2048×2048 float32 matrices, ``out=`` given.
    Returns seconds per product (the median of ``repeats``)."""

    label = "matmul 2048²"
    n = 2048

    def __init__(self, repeats=5):
        rng = np.random.default_rng(2)
        self.a = rng.random((self.n, self.n), dtype=np.float32)
        self.b = rng.random((self.n, self.n), dtype=np.float32)
        self.c = np.empty_like(self.a)
        self.repeats = repeats

    @property
    def flops(self):
        return 2 * self.n ** 3

    def warm_up(self):
        np.matmul(self.a, self.b, out=self.c)

    def run(self):
        times = []
        for _ in range(self.repeats):
            t0 = time.perf_counter()
            np.matmul(self.a, self.b, out=self.c)
            times.append(time.perf_counter() - t0)
        return float(np.median(times))
