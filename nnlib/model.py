"""The :class:`Sequential` model: layers in a row, trained by mini-batch gradient descent.

Its public API mirrors Keras's (``compile``, ``fit``, ``predict``, ``evaluate``,
``get_weights``/``set_weights``, ``count_params``, ``summary``, ``save``), so every line
has a Keras twin. The mathematics: forward pass, chapter 3; backward pass, chapter 4;
the training loop, chapters 5 and 6.
"""
import json
import sys

import numpy as np

from . import losses as losses_module
from . import optimizers as optimizers_module
from . import validation
from .activations import sigmoid, softmax
from .layers import Dense, Input

__all__ = ["Sequential", "History", "TrainingDiverged", "load_model"]


class History:
    """What ``fit`` returns, as Keras's: ``history["loss"]`` (and ``["val_loss"]``) per epoch."""

    def __init__(self):
        self.history = {"loss": []}
        self.epoch = []

    def __repr__(self):
        return f"<History of {len(self.epoch)} epochs: {sorted(self.history)}>"


class TrainingDiverged(FloatingPointError):
    """The loss became NaN or infinite during ``fit``. ``history`` holds the epochs completed."""

    def __init__(self, message, history):
        super().__init__(message)
        self.history = history


class Sequential:
    """A stack of :class:`~nnlib.layers.Dense` layers, A^{[0]} = X → … → A^{[L]} = Ŷ.

    Parameters
    ----------
    layers : list of Dense (optionally an :class:`~nnlib.layers.Input` first).
    seed : int, seeds the weight initialisation (and the shuffling in ``fit``).
    dtype : "float32" (Keras's default) or "float64".
    """

    def __init__(self, layers=(), seed=0, dtype="float32"):
        self.dtype = validation.check_dtype(dtype)
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed: expected a non-negative integer, got {seed!r}")
        self.seed = int(seed)
        self.rng = np.random.default_rng(self.seed)
        self.layers = []
        self.input_dim = None
        self.loss = self.optimizer = None
        self.history = None
        for layer in layers:
            self.add(layer)

    # ----------------------------------------------------------------- building
    def add(self, layer):
        """Append a Dense layer (or set the input size with an Input first)."""
        if isinstance(layer, Input):
            if self.layers:
                raise ValueError("layer: an Input can only come first")
            self.input_dim = layer.shape[0]
            return
        if not isinstance(layer, Dense):
            raise TypeError(f"layer: expected nnlib.Dense or nnlib.Input, got {type(layer).__name__}")
        if not self.layers and self.input_dim is None:
            self.input_dim = layer.input_dim
        self.layers.append(layer)
        if self.input_dim is not None:
            self.build(self.input_dim)

    def build(self, input_dim):
        """Create the weights of every layer not built yet, for ``input_dim`` input features."""
        self.input_dim = validation.positive_int(input_dim, "input_dim")
        n_prev = self.input_dim
        for layer in self.layers:
            if not layer.built:
                layer.build(n_prev, self.rng, self.dtype)
            n_prev = layer.units

    @property
    def built(self):
        return bool(self.layers) and all(layer.built for layer in self.layers)

    @property
    def output_dim(self):
        return self.layers[-1].units

    def compile(self, optimizer="sgd", loss="mean_squared_error"):
        """Choose the optimizer and the loss (names or objects), as Keras's ``compile``."""
        optimizer = optimizers_module.get(optimizer)
        loss = losses_module.get(loss)
        self.optimizer, self.loss = optimizer, loss

    # ----------------------------------------------------------------- the mathematics
    def forward(self, X):
        """A^{[L]} for a batch X (m, n_0): each layer's A = f(A_prev W + b) (chapter 3)."""
        a = X
        for layer in self.layers:
            a = layer.forward(a)
        return a

    def _output_loss(self):
        """The loss as applied to the output layer: on the logits Z^{[L]} when the output
        is softmax/sigmoid and the loss is the matching cross-entropy (fused, stable, as
        Keras's TensorFlow backend does — chapter 4), else on A^{[L]}."""
        loss, f = self.loss, self.layers[-1].activation
        fused = not loss.from_logits and (
            (f is softmax and isinstance(loss, (losses_module.CategoricalCrossentropy,
                                                losses_module.SparseCategoricalCrossentropy)))
            or (f is sigmoid and isinstance(loss, losses_module.BinaryCrossentropy)))
        return (loss.with_logits(), True) if fused else (loss, False)

    def _loss_and_delta(self, y):
        """C and δ^{[L]} = ∂C/∂Z^{[L]} for the last forward pass (chapter 4, eq. (eq-bp1))."""
        out = self.layers[-1]
        loss, on_logits = self._output_loss()
        if on_logits:
            return loss(y, out.z), loss.gradient(y, out.z)
        return loss(y, out.a), out.activation.backward(out.z, out.a, loss.gradient(y, out.a))

    def _backward(self, delta):
        """Backpropagate δ^{[L]} through every layer, filling each layer's dW and db (chapter 4)."""
        for l in range(len(self.layers) - 1, -1, -1):
            layer = self.layers[l]
            grad_a_prev = layer.backward(delta, input_gradient=l > 0)
            if l > 0:
                below = self.layers[l - 1]
                delta = below.activation.backward(below.z, below.a, grad_a_prev)   # eq. (eq-bp2)

    def _parameters(self):
        return [p for layer in self.layers for p in (layer.W, layer.b)]

    def _gradients(self):
        return [g for layer in self.layers for g in (layer.dW, layer.db)]

    # ----------------------------------------------------------------- checks of input
    def _require(self, compiled=False, what="this"):
        if not self.layers:
            raise ValueError("model: has no layers; add a Dense layer first")
        if compiled and self.loss is None:
            raise ValueError(f"model: call compile(optimizer=..., loss=...) before {what}")

    def _check_X(self, X, name="X"):
        return validation.inputs(X, self.input_dim, self.dtype, name)

    def _check_Xy(self, X, y, names=("X", "y")):
        X = self._check_X(X, names[0])
        y = validation.targets(y, X.shape[0], self.output_dim, self.loss, self.dtype, names[1])
        return X, y

    def _build_for(self, X):
        """Create the weights on first use, once every argument has passed its checks."""
        if not self.built:
            self.build(X.shape[1])

    # ----------------------------------------------------------------- the Keras-shaped API
    def predict(self, X, verbose=0):
        """Ŷ = A^{[L]} for X (m, n_0): shape (m, n_L)."""
        self._require()
        X = self._check_X(X)
        self._build_for(X)
        return self.forward(X).copy()

    def evaluate(self, X, y, verbose=0):
        """The loss C on (X, y), as a float."""
        self._require(compiled=True, what="evaluate")
        X, y = self._check_Xy(X, y)
        self._build_for(X)
        self.forward(X)
        return self._loss_and_delta(y)[0]

    def gradients(self, X, y):
        """∂C/∂θ for the batch (X, y): a list in ``get_weights`` order and shapes (chapter 4)."""
        self._require(compiled=True, what="gradients")
        X, y = self._check_Xy(X, y)
        self._build_for(X)
        self.forward(X)
        _, delta = self._loss_and_delta(y)
        self._backward(delta)
        return [g.copy() for g in self._gradients()]

    def fit(self, X, y, epochs=1, batch_size=32, shuffle=True, validation_data=None, verbose=0):
        """Mini-batch training, as Keras's ``fit`` (chapters 5 and 6).

        Each epoch visits the m samples in batches of ``batch_size`` (the last, smaller
        batch is a step of its own), in a new random order when ``shuffle``. For each
        batch: forward pass, loss, backward pass, one optimizer step.
        ``history["loss"]`` is the batch-size-weighted mean of the batch losses, each
        measured before its step; ``history["val_loss"]`` is measured after the epoch.
        A loss that becomes NaN or infinite raises :class:`TrainingDiverged`.
        """
        self._require(compiled=True, what="fit")
        X, y = self._check_Xy(X, y)
        epochs = validation.positive_int(epochs, "epochs")
        batch_size = validation.positive_int(batch_size, "batch_size")
        if not isinstance(shuffle, bool):
            raise TypeError(f"shuffle: expected True or False, got {shuffle!r}")
        if validation_data is not None:
            if not (isinstance(validation_data, (tuple, list)) and len(validation_data) == 2):
                raise ValueError("validation_data: expected a tuple (X_val, y_val)")
            X_val = validation.inputs(validation_data[0], X.shape[1], self.dtype, "validation_data[0]")
            y_val = validation.targets(validation_data[1], X_val.shape[0], self.output_dim, self.loss,
                                       self.dtype, "validation_data[1]")
            validation_data = (X_val, y_val)
        if verbose not in (0, 1, 2):
            raise ValueError(f"verbose: expected 0, 1 or 2, got {verbose!r}")
        self._build_for(X)
        self.history = History()
        if validation_data is not None:
            self.history.history["val_loss"] = []
        # A diverging run overflows on its way to inf/NaN: _train reports it, not NumPy's warnings.
        with np.errstate(over="ignore", invalid="ignore"):
            self._train(X, y, epochs, batch_size, shuffle, validation_data, verbose)
        return self.history

    def _train(self, X, y, epochs, batch_size, shuffle, validation_data, verbose):
        """The training loop of ``fit``, its arguments checked."""
        history, m = self.history, X.shape[0]
        starts = range(0, m, batch_size)
        for epoch in range(epochs):
            order = self.rng.permutation(m) if shuffle else None
            total = 0.0
            bar = _progress(starts, epoch, epochs, verbose)
            for step, start in enumerate(bar):
                if order is None:
                    X_batch, y_batch = X[start:start + batch_size], y[start:start + batch_size]
                else:
                    rows = order[start:start + batch_size]
                    X_batch, y_batch = X[rows], y[rows]
                self.forward(X_batch)
                loss, delta = self._loss_and_delta(y_batch)
                if not np.isfinite(loss):
                    raise TrainingDiverged(
                        f"fit: the loss became {loss} at epoch {epoch + 1}, batch {step + 1}; "
                        f"the training diverged — try a lower learning rate (now "
                        f"{self.optimizer.learning_rate}) or scale the inputs", history)
                self._backward(delta)
                self.optimizer.apply(self._parameters(), self._gradients())
                total += loss * len(X_batch)
                if verbose == 1:
                    bar.set_postfix(loss=f"{total / min(start + batch_size, m):.4f}")
            history.history["loss"].append(total / m)
            if validation_data is not None:
                history.history["val_loss"].append(self.evaluate(*validation_data))
            history.epoch.append(epoch)
            if verbose == 2:
                scores = "  ".join(f"{k}: {v[-1]:.4f}" for k, v in history.history.items())
                print(f"Epoch {epoch + 1}/{epochs}  {scores}")

    def get_weights(self):
        """[W1, b1, W2, b2, …] as copies, Keras's order and shapes."""
        self._require()
        if not self.built:
            raise ValueError("model: its weights do not exist yet; give the first layer input_dim "
                             "or call build(input_dim)")
        return [p.copy() for p in self._parameters()]

    def set_weights(self, weights):
        """Replace every parameter; ``weights`` as ``get_weights`` returns them. Checked
        whole before anything changes."""
        current = self.get_weights()
        if not isinstance(weights, (list, tuple)) or len(weights) != len(current):
            raise ValueError(f"weights: expected a list of {len(current)} arrays [W1, b1, …], "
                             f"got {type(weights).__name__} of length "
                             f"{len(weights) if hasattr(weights, '__len__') else '?'}")
        new = []
        for i, (w, old) in enumerate(zip(weights, current)):
            w = validation.numeric_array(w, f"weights[{i}]", self.dtype)
            if w.shape != old.shape:
                raise ValueError(f"weights[{i}]: expected shape {old.shape}, got {w.shape}")
            new.append(w)
        for layer, (W, b) in zip(self.layers, zip(new[::2], new[1::2])):
            layer.W, layer.b = W.copy(), b.copy()

    def count_params(self):
        """Σ_l (n_{l-1} + 1) n_l: every weight and bias (chapter 2, eq. (eq-count-params))."""
        self._require()
        if not self.built:
            raise ValueError("model: not built yet; give the first layer input_dim")
        return sum(layer.count_params() for layer in self.layers)

    def summary(self, file=None):
        """Print the layers, their output shapes and parameter counts, like Keras's summary."""
        file = file or sys.stdout
        rows = [("Layer (type)", "Output Shape", "Param #")]
        for i, layer in enumerate(self.layers):
            rows.append((f"dense_{i} (Dense, {layer.activation.name})", f"(None, {layer.units})",
                         f"{layer.count_params():,}" if layer.built else "?"))
        widths = [max(len(r[k]) for r in rows) + 2 for k in range(3)]
        line = "─" * sum(widths)
        print(f'Model: "sequential" ({self.dtype})', file=file)
        print(line, file=file)
        for j, r in enumerate(rows):
            print("".join(c.ljust(w) for c, w in zip(r, widths)), file=file)
            if j == 0:
                print(line, file=file)
        print(line, file=file)
        total = self.count_params() if self.built else "?"
        print(f" Total params: {total:,}" if self.built else " Total params: ?", file=file)

    def get_config(self):
        return {"dtype": self.dtype, "seed": self.seed, "input_dim": self.input_dim,
                "layers": [layer.get_config() for layer in self.layers],
                "loss": self.loss.get_config() if self.loss else None,
                "optimizer": self.optimizer.get_config() if self.optimizer else None}

    def save(self, path):
        """Write the architecture, the compile settings and the weights to an ``.npz`` file."""
        weights = self.get_weights()
        arrays = {f"weight_{i}": w for i, w in enumerate(weights)}
        np.savez(path, config=np.array(json.dumps(self.get_config())), **arrays)

    def __repr__(self):
        return f"Sequential({self.layers}, dtype={self.dtype!r})"


def load_model(path):
    """Read a model written by :meth:`Sequential.save` (no pickle is ever loaded)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            config = json.loads(str(data["config"]))
            weights = [data[f"weight_{i}"] for i in range(2 * len(config["layers"]))]
    except FileNotFoundError:
        raise
    except Exception as exc:
        raise ValueError(f"path: {path!r} is not a model saved by nnlib ({type(exc).__name__}: {exc})") from None
    model = Sequential([Input(shape=(config["input_dim"],))]
                       + [Dense(c["units"], activation=c["activation"]) for c in config["layers"]],
                       seed=config["seed"], dtype=config["dtype"])
    model.set_weights(weights)
    if config["loss"] is not None:
        model.compile(optimizer=optimizers_module.from_config(config["optimizer"]),
                      loss=losses_module.from_config(config["loss"]))
    return model


def _progress(starts, epoch, epochs, verbose):
    """The batches of one epoch, with a tqdm progress bar on stdout when verbose == 1."""
    if verbose != 1:
        return starts
    from tqdm.auto import tqdm
    return tqdm(starts, desc=f"Epoch {epoch + 1}/{epochs}", unit="batch", file=sys.stdout, leave=True)
