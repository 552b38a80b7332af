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


# --- The browser tests read the book that the build test writes (tests/test_browser.py) -------
# `make test` runs pytest on two xdist workers with `--dist loadfile`: each test file goes whole
# to one worker. The browser tests must not start before the build has finished, and the book
# must be built once. So the scheduler below puts tests/test_browser.py in the same work unit as
# tests/test_book_build.py, and the collection is ordered build first: one worker runs the build,
# then the browser tests on its output. Without xdist (-n 0) the same order holds.
# The fixture `built_book` (below) checks that the build ran first in this process and passed.
from pathlib import Path  # noqa: E402

BOOK_BUILD_TEST = "tests/test_book_build.py::test_book_builds_without_warnings"
AFTER_BOOK_BUILD = ("tests/test_browser.py",)
book_build_outcome = pytest.StashKey[str]()


def pytest_collection_modifyitems(items):
    """The browser tests right after the build test, whatever order the files were named in."""
    build = [i for i, item in enumerate(items) if item.nodeid == BOOK_BUILD_TEST]
    if build:
        after = [item for item in items if item.nodeid.split("::")[0] in AFTER_BOOK_BUILD]
        rest = [item for item in items if item.nodeid.split("::")[0] not in AFTER_BOOK_BUILD]
        position = rest.index(items[build[0]]) + 1
        items[:] = rest[:position] + after + rest[position:]


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class BuildThenBrowser(LoadFileScheduling):
        def _split_scope(self, nodeid):
            scope = super()._split_scope(nodeid)
            return BOOK_BUILD_TEST.split("::")[0] if scope in AFTER_BOOK_BUILD else scope

    return BuildThenBrowser(config, log)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if item.nodeid == BOOK_BUILD_TEST and report.when == "call":
        item.config.stash[book_build_outcome] = report.outcome
    return report


@pytest.fixture(scope="session")
def built_book(request):
    """The built book's HTML folder. In a run that includes the build test, the build of this
    run, which must have passed; otherwise the existing build ($BOOK_HTML or _build/html)."""
    if any(item.nodeid == BOOK_BUILD_TEST for item in request.session.items):
        outcome = request.config.stash.get(book_build_outcome, None)
        if outcome is None:
            pytest.fail(f"{BOOK_BUILD_TEST} is part of this run but did not run before the "
                        "browser tests in this process (use -n 0 or the default --dist loadfile)")
        if outcome != "passed":
            pytest.fail(f"the book did not build ({BOOK_BUILD_TEST} {outcome})")
    html = Path(os.environ.get("BOOK_HTML", Path(__file__).resolve().parents[1] / "_build/html"))
    if not (html / "index.html").is_file():
        pytest.fail(f"no built book in {html}: run `make book` first (or the whole `make test`)")
    return html.resolve()
