"""Initial values of the weights (chapter 2, §Neurons and weights; why the scale matters:
chapter 8, §Keeping the variance).

An initializer is called as ``init(shape, rng, dtype)`` with ``shape`` = (n_{l-1}, n_l) for a
kernel W or (n_l,) for a bias b, a ``numpy.random.Generator`` and a dtype, and returns a
new array of that shape. The defaults are Keras's: glorot_uniform kernels, zero biases.
"""
import numpy as np

__all__ = ["glorot_uniform", "he_normal", "zeros", "get", "names"]


def _fans(shape):
    """(fan_in, fan_out) of a kernel of shape (n_{l-1}, n_l)."""
    if len(shape) != 2:
        raise ValueError(f"shape: a kernel initializer needs a 2-D shape (n_in, n_out), got {shape}")
    return shape[0], shape[1]


def glorot_uniform(shape, rng, dtype="float32"):
    """U(−r, r) with r = √(6 / (fan_in + fan_out))  (Glorot & Bengio, 2010)."""
    fan_in, fan_out = _fans(shape)
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(dtype)


# A standard normal cut at ±2 has standard deviation 0.8796…: dividing by it, as Keras does,
# gives the truncated weights the intended variance.
TRUNCATED_NORMAL_STD = 0.87962566103423978


def he_normal(shape, rng, dtype="float32"):
    """Variance 2 / fan_in (He et al., 2015), drawn as Keras's he_normal: a normal truncated
    at two deviations, rescaled so that the truncated values have that variance."""
    fan_in, _ = _fans(shape)
    std = np.sqrt(2.0 / fan_in) / TRUNCATED_NORMAL_STD
    w = rng.standard_normal(size=shape)
    outside = np.abs(w) > 2
    while outside.any():                       # redraw values beyond ±2σ
        w[outside] = rng.standard_normal(size=outside.sum())
        outside = np.abs(w) > 2
    return (std * w).astype(dtype)


def zeros(shape, rng=None, dtype="float32"):
    """All zeros."""
    return np.zeros(shape, dtype=dtype)


_REGISTRY = {f.__name__: f for f in (glorot_uniform, he_normal, zeros)}


def names():
    """The initializer names nnlib knows."""
    return sorted(_REGISTRY)


def get(identifier):
    """An initializer from its name or a callable ``(shape, rng, dtype) -> array``."""
    if callable(identifier):
        return identifier
    if isinstance(identifier, str) and identifier in _REGISTRY:
        return _REGISTRY[identifier]
    raise ValueError(f"initializer: unknown initializer {identifier!r}; expected one of {names()}")
