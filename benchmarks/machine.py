"""What the benchmark ran on: CPU, cores, load, library versions, the BLAS numpy uses."""
import os
import platform


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def load_average():
    try:
        return os.getloadavg()
    except (AttributeError, OSError):
        return (float("nan"),) * 3


def openblas_environment():
    """OPENBLAS_* variables: OPENBLAS_CORETYPE forces OpenBLAS's kernel choice (a slower one
    on a CPU that has a faster), OPENBLAS_L2_SIZE its blocking; OPENBLAS_NUM_THREADS its threads."""
    return {k: v for k, v in sorted(os.environ.items()) if k.startswith("OPENBLAS")}


def blas_info():
    """numpy's BLAS as threadpoolctl sees it: library, version, kernel (architecture), threads.
    Other BLAS libraries loaded in the process (scikit-learn loads SciPy's) are listed too,
    marked as not numpy's: nnlib's loop never calls them."""
    from threadpoolctl import threadpool_info
    rows = []
    for info in threadpool_info():
        if info.get("user_api") != "blas":
            continue
        path = info.get("filepath", "")
        owner = "numpy" if "numpy" in path else ("scipy" if "scipy" in path else os.path.basename(path))
        rows.append({"owner": owner, "library": info.get("internal_api"), "version": info.get("version"),
                     "kernel": info.get("architecture"), "threads": info.get("num_threads")})
    return rows


def versions():
    import numpy
    out = {"python": platform.python_version(), "numpy": numpy.__version__}
    try:
        import tensorflow as tf
        import keras
        out["tensorflow"] = tf.__version__
        out["keras"] = keras.__version__
    except ImportError:
        pass
    import nnlib
    out["nnlib"] = nnlib.__version__
    return out


def describe():
    """A dict of everything above, for the results header."""
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "platform": platform.platform(),
            "versions": versions(), "blas": blas_info(), "openblas_env": openblas_environment(),
            "tf_env": {k: os.environ.get(k) for k in ("TF_ENABLE_ONEDNN_OPTS", "TF_CPP_MIN_LOG_LEVEL")}}
