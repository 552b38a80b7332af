"""The book's structure (fast) and its build with Sphinx warnings as errors (slow)."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))


def toc_entries():
    return re.findall(r"(?:file|root):\s*([^\s#]+)", (ROOT / "_toc.yml").read_text())


def resolve(entry):
    for suffix in ("", ".ipynb", ".md"):
        if (ROOT / (entry + suffix)).is_file():
            return ROOT / (entry + suffix)
    return None


def test_every_toc_entry_exists():
    missing = [e for e in toc_entries() if resolve(e) is None]
    assert not missing, f"_toc.yml lists pages that do not exist: {missing}"


def test_every_chapter_is_in_the_toc():
    listed = {resolve(e) for e in toc_entries()}
    pages = CHAPTERS + sorted((ROOT / "chapters").glob("*.md"))
    assert [p.name for p in pages if p not in listed] == []


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.name)
def test_notebook_is_committed_clean(notebook):
    """No outputs, no execution counts: the build executes the notebooks."""
    cells = json.loads(notebook.read_text())["cells"]
    dirty = [i for i, c in enumerate(cells) if c["cell_type"] == "code" and (c["outputs"] or c["execution_count"])]
    assert not dirty, f"cells {dirty} have outputs or execution counts: strip them"


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.name)
def test_chapter_follows_the_template(notebook):
    cells = json.loads(notebook.read_text())["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    assert re.search(r"\bassert\w*\b|assert_allclose", code), "a chapter with no assert is not tested"
    if "import keras" in code or "import tensorflow" in code:
        before_tf = re.split(r"import (?:keras|tensorflow)", code)[0]
        assert "TF_CPP_MIN_LOG_LEVEL" in before_tf, "quiet TensorFlow before importing it"
    assert "```{exercise}" in text and "```{solution}" in text
    assert "{bibliography}" in text
    assert "input_shape=" not in code, "Keras 3 deprecates input_shape=: use keras.Input"
    assert not re.search(r"keras\.datasets|urlopen|requests\.get|get_file\(", code), "everything runs offline"


def test_math_is_served_locally_not_from_a_cdn():
    config = (ROOT / "_config.yml").read_text()
    assert "sphinx-mathjax-offline" in config and "mathjax_path: mathjax/tex-chtml.js" in config
    assert "cdn" not in config.lower().split("mathjax_path")[1].splitlines()[0]


def test_hidden_solutions_do_not_leak_through_the_notebook_download():
    """With hide_solutions: true, the .ipynb copies in _sources/ must be switched off too."""
    config = (ROOT / "_config.yml").read_text()
    if re.search(r"^\s*hide_solutions:\s*true", config, re.M):
        assert re.search(r"^\s*html_copy_source:\s*false", config, re.M)
