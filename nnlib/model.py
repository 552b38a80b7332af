"""The :class:`Sequential` model: layers in a row, trained by mini-batch gradient descent.

Its public API mirrors Keras's (``compile``, ``fit``, ``predict``, ``evaluate``,
``get_weights``/``set_weights``, ``count_params``, ``summary``, ``save``), so every line
has a Keras twin. The mathematics: forward pass, chapter 3; backward pass, chapter 4;
the training loop, chapters 5 and 6.
"""
import json
import math
import sys

import numpy as np

from . import losses as losses_module
from . import optimizers as optimizers_module
from . import validation
from .activations import linear, sigmoid, softmax
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
        """The training loop of ``fit``, its arguments checked.

        Each step is :meth:`_step`: the formulas of the plain loop (forward, loss, backward,
        optimizer step), written into buffers that a :class:`_Workspace` allocates once here.
        The very last step is :meth:`_plain_step`, through the layers' own ``forward`` and
        ``backward``, so that afterwards each layer holds the last batch's a_prev, z, a, dW and
        db as fresh arrays, exactly as a plain loop leaves them.
        """
        history, m = self.history, X.shape[0]
        starts = range(0, m, batch_size)
        work = _Workspace(self, X, y, batch_size, shuffle)
        for epoch in range(epochs):
            order = self.rng.permutation(m) if shuffle else None
            total = 0.0
            bar = _progress(starts, epoch, epochs, verbose)
            for step, start in enumerate(bar):
                stop = min(start + batch_size, m)
                last = epoch == epochs - 1 and stop == m
                if order is None:
                    X_batch, y_batch = X[start:stop], y[start:stop]
                elif last:
                    rows = order[start:stop]
                    X_batch, y_batch = X[rows], y[rows]
                else:
                    X_batch, y_batch = work.gather(X, y, order[start:stop])
                loss = self._plain_step(X_batch, y_batch) if last else self._step(X_batch, y_batch, work)
                if not math.isfinite(loss):
                    raise TrainingDiverged(
                        f"fit: the loss became {loss} at epoch {epoch + 1}, batch {step + 1}; "
                        f"the training diverged — try a lower learning rate (now "
                        f"{self.optimizer.learning_rate}) or scale the inputs", history)
                total += loss * (stop - start)
                if verbose == 1:
                    bar.set_postfix(loss=f"{total / stop:.4f}")
            history.history["loss"].append(total / m)
            if validation_data is not None:
                history.history["val_loss"].append(self.evaluate(*validation_data))
            history.epoch.append(epoch)
            if verbose == 2:
                scores = "  ".join(f"{k}: {v[-1]:.4f}" for k, v in history.history.items())
                print(f"Epoch {epoch + 1}/{epochs}  {scores}")

    def _plain_step(self, X_batch, y_batch):
        """One training step as chapter 5 writes it. Returns C; a C that is not finite is
        returned before anything changes."""
        self.forward(X_batch)
        loss, delta = self._loss_and_delta(y_batch)
        if math.isfinite(loss):
            self._backward(delta)
            self.optimizer.apply(self._parameters(), self._gradients())
        return loss

    def _step(self, X_batch, y_batch, work):
        """:meth:`_plain_step` written into the buffers of ``work`` (a :class:`_Workspace`):
        the same formulas in the same order, no new arrays. Returns C; a C that is not finite
        is returned before anything changes."""
        layers, buf = self.layers, work.rows(len(X_batch))
        # forward pass (chapter 3): A^{[0]} = X;  Z^{[l]} = A^{[l-1]} W^{[l]} + b^{[l]},  A^{[l]} = f(Z^{[l]})
        a = X_batch
        for layer, z, a_out in zip(layers, buf.z, buf.a):
            a = layer._forward_into(a, z, a_out)
        # C and δ^{[L]} = ∂C/∂Z^{[L]} (chapter 4, eq. (eq-bp1)), δ^{[L]} into buf.delta[-1]
        delta = buf.delta[-1]
        if work.on_logits:                                   # fused: the loss takes Z^{[L]}
            loss, _ = work.loss.value_and_gradient(y_batch, buf.z[-1], out=delta)
        else:
            loss, _ = work.loss.value_and_gradient(y_batch, a, out=delta)
            layers[-1].activation.backward(buf.z[-1], a, delta, out=delta)
        if not math.isfinite(loss):
            return loss
        if work.fold:
            # Plain SGD, θ ← θ − α ∂C/∂θ. Every ∂C/∂θ is linear in δ^{[L]}: starting from α δ^{[L]},
            # backpropagation delivers α ∂C/∂θ itself, and the update is one subtraction.
            delta *= work.learning_rate
        # backward pass (chapter 4): ∂C/∂W^{[l]}, ∂C/∂b^{[l]}, then δ^{[l-1]} = (δ^{[l]} W^{[l]ᵀ}) ⊙ f′(Z^{[l-1]})
        for l in range(len(layers) - 1, 0, -1):
            grad_a_prev = buf.delta[l - 1]
            layers[l]._backward_into(buf.a[l - 1], delta, buf.dW[l], buf.db[l], grad_a_prev)
            delta = layers[l - 1].activation.backward(buf.z[l - 1], buf.a[l - 1], grad_a_prev,
                                                      out=grad_a_prev)      # eq. (eq-bp2), in place
        layers[0]._backward_into(X_batch, delta, buf.dW[0], buf.db[0])    # X needs no gradient
        # the optimizer step (chapter 5)
        if work.fold:
            for theta, step in zip(work.parameters, buf.gradients):
                theta -= step                                # θ ← θ − α ∂C/∂θ
            self.optimizer.iterations += 1
        else:
            self.optimizer.apply(work.parameters, buf.gradients)
        return loss

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


class _Workspace:
    """What one ``fit`` call prepares once for :meth:`Sequential._step` (why: benchmarks/README.md):
    the output loss (on the logits when fused), whether plain SGD's learning rate is folded
    into δ^{[L]}, and the buffers a step writes into instead of new arrays:

    - per layer l: ``z[l]`` Z^{[l]}, ``a[l]`` A^{[l]} (the same array as Z for a linear layer;
      None for an output layer whose loss takes the logits), ``delta[l]`` (m, n_l), which first
      receives ∂C/∂A^{[l]} and is turned into δ^{[l]} in place, ``dW[l]`` and ``db[l]``;
    - with shuffling, ``X`` and ``y``: the batch gathered from the shuffled rows.

    They hold ``batch_size`` rows; a smaller batch (the last) uses their first rows, views
    made once. None of them is ever returned to the user.
    """

    def __init__(self, model, X, y, batch_size, shuffle):
        self.loss, self.on_logits = model._output_loss()
        optimizer = model.optimizer
        self.fold = type(optimizer) is optimizers_module.SGD and optimizer.momentum == 0
        self.learning_rate = optimizer.learning_rate
        self.parameters = model._parameters()
        self.dW = [np.empty_like(layer.W) for layer in model.layers]
        self.db = [np.empty_like(layer.b) for layer in model.layers]
        rows = min(batch_size, X.shape[0])
        self.z = [np.empty((rows, layer.units), model.dtype) for layer in model.layers]
        self.a = [z if layer.activation is linear else np.empty_like(z)
                  for layer, z in zip(model.layers, self.z)]
        if self.on_logits:
            self.a[-1] = None
        self.delta = [np.empty_like(z) for z in self.z]
        self.X = np.empty((rows,) + X.shape[1:], X.dtype) if shuffle else None
        self.y = np.empty((rows,) + y.shape[1:], y.dtype) if shuffle else None
        self._views = {rows: _BatchBuffers(self, rows)}

    def rows(self, m):
        """The buffers for a batch of m rows."""
        views = self._views.get(m)
        if views is None:
            views = self._views[m] = _BatchBuffers(self, m)
        return views

    def gather(self, X, y, rows):
        """The batch (X[rows], y[rows]), copied into the batch buffers."""
        buf = self.rows(len(rows))
        X.take(rows, axis=0, out=buf.X, mode="clip")          # mode="clip": no extra copy
        y.take(rows, axis=0, out=buf.y, mode="clip")          # (rows are valid indices)
        return buf.X, buf.y


class _BatchBuffers:
    """The buffers of a :class:`_Workspace` for a batch of m rows: views of their first m rows."""

    def __init__(self, work, m):
        first = lambda arrays: [None if x is None else x[:m] for x in arrays]   # noqa: E731
        self.z, self.delta = first(work.z), first(work.delta)
        self.a = [z if a is z_full else (None if a is None else a[:m])          # a linear layer's
                  for z, a, z_full in zip(self.z, work.a, work.z)]             # A stays its Z
        self.X, self.y = first([work.X, work.y])
        self.dW, self.db = work.dW, work.db
        self.gradients = [g for pair in zip(work.dW, work.db) for g in pair]


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
