"""Saliency maps: the gradient of a class score with respect to the input (chapter 7).

For a batch X (m, n_0) and one class c_k per sample, :func:`saliency` returns S (m, n_0),

    S_ki = ∂ s_k / ∂ x_ki,   s_k = z^{[L]}_{k c_k}  (the logit of class c_k for sample k):

how fast the class score of sample k changes when its input i alone moves, at x_k. A
saliency map is one row of S drawn as an image (for 8×8 digits, S_k reshaped to 8×8).

**The class score is the logit** Z^{[L]}_c, the output layer's pre-activation, not the
probability A^{[L]}_c = softmax(Z^{[L]})_c. The probability's gradient is

    ∂p_c/∂x = p_c (∂z_c/∂x − Σ_j p_j ∂z_j/∂x):

it mixes in every other class's gradient, and it vanishes as p_c → 1, so a confidently
classified sample — the usual case after training — gets a map near zero although its
logit depends strongly on its pixels. The logit answers the simpler question "which pixels
raise the evidence for class c", as in Simonyan, Vedaldi and Zisserman (2014), who use the
unnormalised class score for the same reason. ``score="output"`` gives ∂A^{[L]}_c/∂x, the
probability's gradient, for comparison (for a linear output layer both are the same).

Computed with the backward pass of chapter 4 and one step more. A forward pass keeps every
layer's Z^{[l]} and A^{[l]} (as local arrays: the layers keep nothing, as in ``predict``).
Then δ^{[L]} = ∂s/∂Z^{[L]} is the one-hot row e_{c_k} for each sample (the logit; for the
output, that row passed through the output activation's ``backward``); below,
δ^{[l]} = (δ^{[l+1]} W^{[l+1]ᵀ}) ⊙ f′(Z^{[l]}) (eq. (eq-bp2)); and where training stops, at
layer 1, one more product gives the input gradient ∂s/∂X = δ^{[1]} W^{[1]ᵀ}. Each sample's
score depends on its own row only, so there is no 1/m: row k of the result is sample k's
gradient. Cost: one forward and one backward pass, whatever n_0.
"""
import numbers

import numpy as np

from . import layers as layers_module
from . import validation

__all__ = ["saliency"]

SCORES = ("logit", "output")


def saliency(model, x, class_index, score="logit"):
    """∂ s_k / ∂ x_k for every sample k of the batch ``x`` (m, n_0); returns (m, n_0).

    Parameters
    ----------
    model : nnlib.Sequential, built (its weights exist); e.g. ``NNClassifier().model_``.
        Dropout layers, the identity outside training, are skipped.
    x : array (m, n_0), the inputs at which the gradient is taken.
    class_index : int, or m ints: the output unit c_k whose score is differentiated for
        each sample (e.g. the true or the predicted class, as an index 0 … n_L − 1).
    score : "logit" (default), s_k = Z^{[L]}_{k c_k}; or "output", s_k = A^{[L]}_{k c_k}
        (the probability, for a softmax output). See the module's docstring for why the
        logit is the default.
    """
    if not getattr(model, "layers", None) or not getattr(model, "built", False):
        raise ValueError("model: expected a built nnlib Sequential (start it with "
                         "nn.Input(shape=(n,)) or fit it first)")
    layers = _dense_layers(model)
    if score not in SCORES:
        raise ValueError(f"score: expected one of {SCORES}, got {score!r}")
    x = validation.inputs(x, model.input_dim, model.dtype, "x")
    m, n_outputs = len(x), model.output_dim
    classes = _class_indices(class_index, m, n_outputs)

    zs, activations = [], []                 # forward pass (chapter 3), Z and A of each layer
    a = x
    for layer in layers:
        z = layer.pre_activation(a)
        a = layer.activation(z)
        zs.append(z)
        activations.append(a)

    delta = np.zeros_like(zs[-1])            # δ^{[L]} = ∂s/∂Z^{[L]}: one-hot rows e_{c_k}
    delta[np.arange(m), classes] = 1.0
    if score == "output":                    # ∂s/∂Z^{[L]} for s = A^{[L]}_c: through f^{[L]}
        delta = layers[-1].activation.backward(zs[-1], activations[-1], delta)
    for l in range(len(layers) - 1, 0, -1):  # python index l is the book's layer l + 1
        grad_a = delta @ layers[l].W.T       # ∂s/∂A^{[l]} = δ^{[l+1]} W^{[l+1]ᵀ}
        delta = layers[l - 1].activation.backward(zs[l - 1], activations[l - 1], grad_a)
    return delta @ layers[0].W.T             # one step more: ∂s/∂X = δ^{[1]} W^{[1]ᵀ}


def _dense_layers(model):
    """The model's Dense layers; a Dropout layer is the identity outside training: skipped."""
    dropout = getattr(layers_module, "Dropout", ())
    dense = []
    for layer in model.layers:
        if isinstance(layer, layers_module.Dense):
            dense.append(layer)
        elif not isinstance(layer, dropout):
            raise TypeError(f"model: saliency knows Dense and Dropout layers, not {layer!r}")
    return dense


def _class_indices(class_index, m, n_outputs):
    """class_index as m integers in 0 … n_outputs − 1."""
    c = np.asarray(class_index)
    if c.ndim == 0:
        c = np.full(m, c)
    ok = (c.shape == (m,) and c.dtype != bool and
          (np.issubdtype(c.dtype, np.integer)
           or all(isinstance(v, numbers.Integral) for v in c.tolist())))
    if not ok:
        raise ValueError(f"class_index: expected an integer or {m} integers (one per sample), "
                         f"got {class_index!r}")
    if c.min() < 0 or c.max() >= n_outputs:
        raise ValueError(f"class_index: expected output units 0 … {n_outputs - 1}, got "
                         f"values from {c.min()} to {c.max()}")
    return c.astype(np.intp)
