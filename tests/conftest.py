"""Shared fixtures. TensorFlow is quietened before anything imports it (CONVENTIONS: Testing)."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np
import pytest


@pytest.fixture
def keras():
    """Keras, with its default float type restored to float32 after the test."""
    import keras as keras_module
    keras_module.utils.set_random_seed(0)
    yield keras_module
    keras_module.config.set_floatx("float32")
    keras_module.config.set_dtype_policy("float32")


@pytest.fixture(scope="session")
def digits():
    """A digits-sized problem: the first 256 of scikit-learn's 8×8 digits, scaled to [0, 1]."""
    from sklearn.datasets import load_digits
    X, labels = load_digits(return_X_y=True)
    X, labels = X[:256] / 16.0, labels[:256]
    return X, labels, np.eye(10)[labels]
