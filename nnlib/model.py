"""The :class:`Sequential` model: layers in a row, trained by mini-batch gradient descent.

Its public API mirrors Keras's (``compile``, ``fit``, ``predict``, ``evaluate``,
``get_weights``/``set_weights``, ``count_params``, ``summary``, ``save``), with Keras's
argument names, order and defaults, so every line has a Keras twin. The mathematics:
forward pass, chapter 3; backward pass, chapter 4; the training step, chapter 5.
"""
import json
import math
import sys

import numpy as np

from . import losses as losses_module
from . import metrics as metrics_module
from . import optimizers as optimizers_module
from . import validation
from .activations import Sigmoid, Softmax
from .callbacks import Callback, History
from .layers import Dense, Dropout, Input
from .layers import from_config as layer_from_config

__all__ = ["Sequential", "TrainingDiverged", "load_model"]

DEFAULT_BATCH_SIZE = 32          # Keras's, when batch_size is None


class TrainingDiverged(FloatingPointError):
    """The loss became NaN or infinite during ``fit``. ``history`` holds the epochs completed."""

    def __init__(self, message, history):
        super().__init__(message)
        self.history = history


class Sequential:
    """A stack of :class:`~nnlib.layers.Dense` layers, A^{[0]} = X → … → A^{[L]} = Ŷ, with
    optional :class:`~nnlib.layers.Dropout` layers between them (chapter 8).

    Parameters
    ----------
    layers : list of Dense (and Dropout), an :class:`~nnlib.layers.Input` first (Keras 3
        style), a Dense layer last.
    seed : int, seeds the weight initialisation and the shuffling in ``fit``.
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
        self.metrics = []
        self.history = None
        self.stop_training = False
        self._fused = None
        for layer in layers:
            self.add(layer)

    # ----------------------------------------------------------------- building
    def add(self, layer):
        """Append a Dense or Dropout layer (or set the input size with an Input first)."""
        if isinstance(layer, Input):
            if self.layers:
                raise ValueError("layer: an Input can only come first")
            self.input_dim = layer.shape[0]
            return
        if not isinstance(layer, (Dense, Dropout)):
            raise TypeError(f"layer: expected nnlib.Dense, nnlib.Dropout or nnlib.Input, "
                            f"got {type(layer).__name__}")
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

    @property
    def weights(self):
        """The parameter arrays themselves, [W1, b1, W2, b2, …] (``get_weights`` copies them);
        Dropout layers have none."""
        return [p for layer in self.layers for p in layer.weights]

    @property
    def losses(self):
        """The penalties Ω(W^{[l]}) of the layers that have a ``kernel_regularizer``, a list of
        floats, as Keras's ``model.losses``: training adds their sum to every batch's loss
        (chapter 8, eq. (eq-penalised-cost))."""
        return [layer.kernel_regularizer(layer.W) for layer in self.layers
                if getattr(layer, "kernel_regularizer", None) is not None]

    def compile(self, optimizer="rmsprop", loss=None, metrics=None):
        """Choose the optimizer, the loss and the metrics (names or objects), as Keras's
        ``compile``. ``metrics`` may hold "accuracy" (see :mod:`nnlib.metrics`)."""
        optimizer = optimizers_module.get(optimizer)
        if loss is None:
            raise ValueError("loss: compile needs a loss, e.g. loss='mse' or "
                             "loss='categorical_crossentropy'")
        loss = losses_module.get(loss)
        if metrics is None:
            metrics = []
        if isinstance(metrics, str) or not isinstance(metrics, (list, tuple)):
            raise TypeError(f"metrics: expected a list such as ['accuracy'], got {metrics!r}")
        sparse = loss.target_kind == "class index"
        n_outputs = self.output_dim if self.layers else None
        resolved = [(str(name), metrics_module.get(name, sparse, n_outputs)) for name in metrics]
        self.optimizer, self.loss, self.metrics = optimizer, loss, resolved

    # ----------------------------------------------------------------- the mathematics
    def forward(self, x, training=True):
        """A^{[L]} for a batch x (m, n_0): A^{[0]} = x, then each layer's A = f(A_prev W + b)
        (chapter 3, eq. (eq-forward-batch)). In training (the default) every layer keeps its
        A_prev, Z and A for :meth:`backward`."""
        a = x
        for layer in self.layers:
            a = layer.forward(a, training)
        return a

    def _output_loss(self):
        """(loss, on_logits): the loss as applied to the output layer. A softmax (sigmoid)
        output with categorical (binary) cross-entropy is fused: the loss takes the logits
        Z^{[L]}, stable for any Z, as Keras's TensorFlow backend does (chapter 4)."""
        loss, f = self.loss, self.layers[-1].activation
        if self._fused is not None and self._fused[:2] == (loss, f):
            return self._fused[2]
        fused = not loss.from_logits and (
            (isinstance(f, Softmax) and isinstance(loss, (losses_module.CategoricalCrossentropy,
                                                          losses_module.SparseCategoricalCrossentropy)))
            or (isinstance(f, Sigmoid) and isinstance(loss, losses_module.BinaryCrossentropy)))
        self._fused = (loss, f, (loss.with_logits(), True) if fused else (loss, False))
        return self._fused[2]

    def loss_and_delta(self, y):
        """C and δ^{[L]} = ∂C/∂Z^{[L]} (m, n_L) for the last training forward pass and its
        targets y (chapter 4, eq. (eq-bp1))."""
        out = self.layers[-1]
        loss, on_logits = self._output_loss()
        if on_logits:
            return loss.value_and_gradient(y, out.z)
        value, grad_a = loss.value_and_gradient(y, out.a)
        return value, out.activation.backward(out.z, out.a, grad_a, out=grad_a)

    def backward(self, delta):
        """Backpropagate δ^{[L]} (m, n_L) of the last training forward pass: every layer's
        dW = A_prevᵀ δ and db = Σ_rows δ (chapter 4, eqs. (eq-bp3), (eq-bp4)), and below each
        layer δ^{[l-1]} = (δ^{[l]} W^{[l]ᵀ}) ⊙ f′(Z^{[l-1]}) (eq. (eq-bp2)). A Dropout layer
        passes δ ⊙ M/(1 − p) down, its activation being the identity (chapter 8,
        eq. (eq-dropout))."""
        for upper, lower in zip(self.layers[:0:-1], self.layers[-2::-1]):
            grad_a = upper.backward(delta)                      # ∂C/∂A^{[l-1]} = δ^{[l]} W^{[l]ᵀ}
            delta = lower.activation.backward(lower.z, lower.a, grad_a, out=grad_a)
        self.layers[0].backward(delta, input_gradient=False)    # x needs no gradient

    def train_step(self, x_batch, y_batch):
        """One step of mini-batch gradient descent on (x_batch, y_batch); returns the batch's
        loss C, measured before the step. ``fit`` runs exactly this for every batch
        (chapter 5). A C that is not finite is returned before anything changes."""
        self.forward(x_batch)                                   # chapter 3: A^{[L]}
        loss, delta = self.loss_and_delta(y_batch)              # chapter 4: C, δ^{[L]}
        loss += sum(self.losses)                                # chapter 8: + Σ Ω(W), if any
        if not math.isfinite(loss):
            return loss
        self.backward(delta)                                    # chapter 4: every dW, db
        gradients = [g for layer in self.layers for g in layer.grads]
        self.optimizer.apply(gradients, self.weights)           # chapter 5: θ ← θ − α ∇C
        return loss

    # ----------------------------------------------------------------- checks of input
    def _require(self, compiled=False, what="this"):
        if not self.layers:
            raise ValueError("model: has no layers; add a Dense layer first")
        if compiled and self.loss is None:
            raise ValueError(f"model: call compile(optimizer=..., loss=...) before {what}")
        if compiled and not isinstance(self.layers[-1], Dense):
            raise ValueError(f"layer: the last layer must be Dense (nnlib computes the loss from "
                             f"its Z), got {self.layers[-1]!r}; put Dropout between Dense layers")

    def _check_xy(self, x, y, names=("x", "y"), n_inputs=None):
        x = validation.inputs(x, n_inputs or self.input_dim, self.dtype, names[0])
        y = validation.targets(y, x.shape[0], self.output_dim, self.loss, self.dtype, names[1])
        return x, y

    def _build_for(self, x):
        """Create the weights on first use, once every argument has passed its checks."""
        if not self.built:
            self.build(x.shape[1])

    # ----------------------------------------------------------------- the Keras-shaped API
    def predict(self, x, batch_size=None, verbose="auto"):
        """Ŷ = A^{[L]} for x (m, n_0): shape (m, n_L), computed ``batch_size`` rows at a time
        (32 by default, as Keras). Changes no layer's state."""
        self._require()
        x = validation.inputs(x, self.input_dim, self.dtype, "x")
        batch_size = _batch_size(batch_size)
        validation.verbose(verbose)
        self._build_for(x)
        return np.concatenate([self.forward(x[start:start + batch_size], training=False)
                               for start in range(0, len(x), batch_size)])

    def evaluate(self, x, y, batch_size=None, verbose="auto", return_dict=False):
        """The loss C on (x, y), and the compiled metrics, as Keras's ``evaluate``: the loss
        alone, or ``[loss, *metrics]``, or a dict with ``return_dict``. Computed ``batch_size``
        rows at a time (means weighted by batch size); changes no layer's state."""
        self._require(compiled=True, what="evaluate")
        x, y = self._check_xy(x, y)
        batch_size = _batch_size(batch_size)
        validation.verbose(verbose)
        self._build_for(x)
        logs = self._evaluate(x, y, batch_size)
        if return_dict:
            return logs
        return logs["loss"] if len(logs) == 1 else list(logs.values())

    def _evaluate(self, x, y, batch_size):
        """{"loss": C, metric: value, …} on checked (x, y), batch by batch, no state changed."""
        loss, on_logits = self._output_loss()
        sums = dict.fromkeys(["loss"] + [name for name, _ in self.metrics], 0.0)
        for start in range(0, len(x), batch_size):
            x_batch, y_batch = x[start:start + batch_size], y[start:start + batch_size]
            a = x_batch
            for layer in self.layers[:-1]:
                a = layer.forward(a, training=False)
            out = self.layers[-1]
            z = out.pre_activation(a)
            y_pred = out.activation(z)
            sums["loss"] += loss(y_batch, z if on_logits else y_pred) * len(x_batch)
            for name, metric in self.metrics:
                sums[name] += metric(y_batch, y_pred) * len(x_batch)
        logs = {name: total / len(x) for name, total in sums.items()}
        logs["loss"] += sum(self.losses)           # the penalties, as Keras adds them (chapter 8)
        return logs

    def gradients(self, x, y):
        """∂C/∂θ for the batch (x, y): a list in ``get_weights`` order and shapes (chapter 4);
        with penalties, ∂(C + Σ Ω)/∂θ (chapter 8). A training pass: Dropout draws a mask."""
        self._require(compiled=True, what="gradients")
        x, y = self._check_xy(x, y)
        self._build_for(x)
        self.forward(x)
        _, delta = self.loss_and_delta(y)
        self.backward(delta)
        return [g.copy() for layer in self.layers for g in layer.grads]

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True):
        """Mini-batch training, as Keras's ``fit`` (chapters 5 and 6).

        Each epoch visits the m samples in batches of ``batch_size`` (32 when None; the last,
        smaller batch is a step of its own), in a new random order when ``shuffle``, and runs
        :meth:`train_step` on each. ``validation_split`` holds out the last fraction of the
        samples, before any shuffling, as ``validation_data``. Returns the :class:`History`:
        ``history["loss"]``, the batch-size-weighted mean of the batch losses (each measured
        before its step), the compiled metrics likewise, and ``val_loss`` (``val_accuracy``)
        measured after each epoch. ``verbose``: 0 silent, 1 (and "auto") a progress bar,
        2 one line per epoch. A loss that becomes NaN or infinite raises
        :class:`TrainingDiverged`.
        """
        self._require(compiled=True, what="fit")
        if x is None or y is None:
            raise ValueError("x, y: fit needs both the inputs x and the targets y")
        x, y = self._check_xy(x, y)
        batch_size = _batch_size(batch_size)
        epochs = validation.positive_int(epochs, "epochs")
        verbose = validation.verbose(verbose)
        callbacks = _callback_list(callbacks)
        if not isinstance(shuffle, bool):
            raise TypeError(f"shuffle: expected True or False, got {shuffle!r}")
        validation_split = validation.float_in(validation_split, "validation_split", 0.0, 1.0,
                                               open_high=True)
        if validation_split and validation_data is not None:
            raise ValueError("validation_split, validation_data: give one or the other")
        if not validation_split and validation_data is None:
            self._build_for(x)
        if validation_split:
            split_at = int(math.floor(len(x) * (1.0 - validation_split)))   # Keras's split
            if split_at == 0 or split_at == len(x):
                raise ValueError(f"validation_split: {validation_split} of {len(x)} samples leaves "
                                 f"no sample for training or for validation")
            x, x_val, y, y_val = x[:split_at], x[split_at:], y[:split_at], y[split_at:]
            validation_data = (x_val, y_val)
            self._build_for(x)
        elif validation_data is not None:
            if not (isinstance(validation_data, (tuple, list)) and len(validation_data) == 2):
                raise ValueError("validation_data: expected a tuple (x_val, y_val)")
            validation_data = self._check_xy(*validation_data, n_inputs=x.shape[1],
                                             names=("validation_data[0]", "validation_data[1]"))
        self._build_for(x)
        self.history = history = History()
        # as Keras orders them: History sees the logs after the user's callbacks wrote to them
        callbacks = [*callbacks, history] + ([_Progress(epochs, verbose)] if verbose else [])
        for callback in callbacks:
            callback.set_model(self)
        # A diverging run overflows on its way to inf/NaN: fit reports it, not NumPy's warnings.
        with np.errstate(over="ignore", invalid="ignore"):
            self._train(x, y, batch_size, epochs, callbacks, shuffle, validation_data)
        return history

    def _train(self, x, y, batch_size, epochs, callbacks, shuffle, validation_data):
        """``fit``'s loop, its arguments checked: epochs of :meth:`train_step`, the logs, the
        callbacks."""
        m, names = len(x), ["loss"] + [name for name, _ in self.metrics]
        batch_hooks = [c for c in callbacks
                       if type(c).on_train_batch_end is not Callback.on_train_batch_end]
        batches = _Batches(x, y, batch_size)
        self.stop_training, logs = False, {}
        for callback in callbacks:
            callback.on_train_begin()
        for epoch in range(epochs):
            for callback in callbacks:
                callback.on_epoch_begin(epoch)
            order = self.rng.permutation(m) if shuffle else None
            sums = dict.fromkeys(names, 0.0)
            for step, start in enumerate(range(0, m, batch_size)):
                if order is None:
                    x_batch, y_batch = x[start:start + batch_size], y[start:start + batch_size]
                else:
                    x_batch, y_batch = batches.gather(order[start:start + batch_size])
                loss = self.train_step(x_batch, y_batch)
                if not math.isfinite(loss):
                    raise TrainingDiverged(
                        f"fit: the loss became {loss} at epoch {epoch + 1}, batch {step + 1}; "
                        f"the training diverged — try a lower learning rate (now "
                        f"{self.optimizer.learning_rate}) or scale the inputs", self.history)
                n = len(x_batch)
                sums["loss"] += loss * n
                for name, metric in self.metrics:         # on this batch's A^{[L]}, before the step
                    sums[name] += metric(y_batch, self.layers[-1].a) * n
                if batch_hooks:
                    seen = start + n
                    batch_logs = {name: total / seen for name, total in sums.items()}
                    for callback in batch_hooks:
                        callback.on_train_batch_end(step, batch_logs)
            logs = {name: total / m for name, total in sums.items()}
            if validation_data is not None:
                val = self._evaluate(*validation_data, DEFAULT_BATCH_SIZE)
                logs.update({f"val_{name}": value for name, value in val.items()})
            for callback in callbacks:
                callback.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        for callback in callbacks:
            callback.on_train_end(logs)

    def get_weights(self):
        """[W1, b1, W2, b2, …] as copies, Keras's order and shapes."""
        self._require()
        if not self.built:
            raise ValueError("model: its weights do not exist yet; start the model with "
                             "nn.Input(shape=(n,)) or call build(input_dim)")
        return [p.copy() for p in self.weights]

    def set_weights(self, weights):
        """Copy ``weights`` (as ``get_weights`` returns them) into the model's parameter arrays,
        which stay the same arrays. Checked whole before anything changes."""
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
        for theta, w in zip(self.weights, new):
            theta[...] = w

    def count_params(self):
        """Σ_l (n_{l-1} + 1) n_l: every weight and bias (chapter 2, eq. (eq-count-params))."""
        self._require()
        if not self.built:
            raise ValueError("model: not built yet; start the model with nn.Input(shape=(n,))")
        return sum(layer.count_params() for layer in self.layers)

    def summary(self, file=None):
        """Print the layers, their output shapes and parameter counts, like Keras's summary."""
        file = file or sys.stdout
        rows = [("Layer (type)", "Output Shape", "Param #")]
        for i, layer in enumerate(self.layers):
            kind = (f"dropout_{i} (Dropout, rate {layer.rate:g})" if isinstance(layer, Dropout)
                    else f"dense_{i} (Dense, {layer.activation.name})")
            rows.append((kind, f"(None, {layer.units})",
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
        print(f" Total params: {self.count_params():,}" if self.built else " Total params: ?",
              file=file)

    def get_config(self):
        return {"dtype": self.dtype, "seed": self.seed, "input_dim": self.input_dim,
                "layers": [layer.get_config() for layer in self.layers],
                "loss": self.loss.get_config() if self.loss else None,
                "optimizer": self.optimizer.get_config() if self.optimizer else None,
                "metrics": [name for name, _ in self.metrics]}

    def save(self, path):
        """Write the architecture, the compile settings and the weights to ``path``, exactly
        that file name (an ``.npz`` archive, whatever its suffix; read it with
        :func:`load_model`)."""
        arrays = {f"weight_{i}": w for i, w in enumerate(self.get_weights())}
        with open(path, "wb") as file:                       # np.savez(path) would add ".npz"
            np.savez(file, config=np.array(json.dumps(self.get_config())), **arrays)

    def __repr__(self):
        return f"Sequential({self.layers}, dtype={self.dtype!r})"


def load_model(path):
    """Read a model written by :meth:`Sequential.save` (no pickle is ever loaded)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            config = json.loads(str(data["config"]))
            model = Sequential([Input(shape=(config["input_dim"],))]
                               + [layer_from_config(c) for c in config["layers"]],
                               seed=config["seed"], dtype=config["dtype"])
            weights = [data[f"weight_{i}"] for i in range(len(model.weights))]
        model.set_weights(weights)
        if config["loss"] is not None:
            model.compile(optimizer=optimizers_module.from_config(config["optimizer"]),
                          loss=losses_module.from_config(config["loss"]),
                          metrics=config.get("metrics", []))
    except FileNotFoundError:
        raise
    except Exception as exc:
        raise ValueError(f"path: {path!r} is not a complete model saved by nnlib "
                         f"({type(exc).__name__}: {exc})") from None
    return model


class _Batches:
    """Shuffled batches of (x, y), gathered into two arrays made once per ``fit``: np.take
    into them costs a quarter of x[rows] (NumPy's fancy indexing makes a new array)."""

    def __init__(self, x, y, batch_size):
        self.x, self.y = x, y
        self.x_rows = np.empty((min(batch_size, len(x)),) + x.shape[1:], x.dtype)
        self.y_rows = np.empty((len(self.x_rows),) + y.shape[1:], y.dtype)

    def gather(self, rows):
        """(x[rows], y[rows]); valid until the next call."""
        n = len(rows)
        x_batch, y_batch = self.x_rows[:n], self.y_rows[:n]
        self.x.take(rows, axis=0, out=x_batch, mode="clip")    # rows are valid: "clip" skips
        self.y.take(rows, axis=0, out=y_batch, mode="clip")    # a bounds-checked copy
        return x_batch, y_batch


def _batch_size(batch_size):
    return DEFAULT_BATCH_SIZE if batch_size is None else validation.positive_int(batch_size,
                                                                                   "batch_size")


def _callback_list(callbacks):
    callbacks = list(callbacks or [])
    for i, callback in enumerate(callbacks):
        if not isinstance(callback, Callback):
            raise TypeError(f"callbacks[{i}]: expected an nnlib.callbacks.Callback, "
                            f"got {type(callback).__name__}")
    return callbacks


class _Progress(Callback):
    """What ``fit`` shows: a tqdm bar over the epochs (verbose 1), or a line per epoch
    (verbose 2), with the epoch's loss, metrics and validation numbers."""

    def __init__(self, epochs, verbose):
        super().__init__()
        self.epochs, self.verbose, self.bar = epochs, verbose, None

    def on_train_begin(self, logs=None):
        if self.verbose == 1:
            from tqdm import tqdm
            self.bar = tqdm(total=self.epochs, desc="fit", unit="epoch", file=sys.stdout,
                            ascii=True)

    def on_epoch_end(self, epoch, logs=None):
        scores = {k: f"{v:.4f}" for k, v in logs.items()}
        if self.bar is None:
            print(f"Epoch {epoch + 1}/{self.epochs}  "
                  + "  ".join(f"{k}: {v}" for k, v in scores.items()), file=sys.stdout)
        else:
            self.bar.set_postfix(scores, refresh=False)
            self.bar.update(1)

    def on_train_end(self, logs=None):
        if self.bar is not None:
            self.bar.close()
