"""The book's structure (fast) and its build with Sphinx warnings as errors (slow)."""
import json
import re
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


def chapter_text(number):
    """The markdown of chapter ``number``'s notebook (its markdown cells joined)."""
    notebook = next((p for p in CHAPTERS if p.name.startswith(f"{number:02d}_")), None)
    if notebook is None:
        return None
    cells = json.loads(notebook.read_text())["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


def nnlib_citations():
    """Every (chapter or None, label) and (chapter, heading) that nnlib's docstrings cite."""
    labels, headings = set(), set()
    for path in sorted((ROOT / "nnlib").glob("*.py")):
        text = path.read_text()
        for group in re.findall(r"eqs?\. ((?:\([a-z0-9-]+\)(?:, )?)+)", text):
            labels.update(re.findall(r"\(([a-z0-9-]+)\)", group))
        for chapter, heading in re.findall(r"chapter (\d+),\s+§([A-Za-z][A-Za-z -]*[a-z])", text):
            headings.add((int(chapter), heading))
    return sorted(labels), sorted(headings)


@pytest.mark.parametrize("label", nnlib_citations()[0])
def test_equation_cited_by_nnlib_exists_in_a_chapter(label):
    """A docstring's ``eq. (label)`` is a labelled equation of some chapter."""
    pattern = re.compile(r"\$\$\s*\(" + re.escape(label) + r"\)|\(" + re.escape(label) + r"\)=")
    assert any(pattern.search("".join(chapter_text(int(p.name[:2])) or ""))
               for p in CHAPTERS), f"nnlib cites eq. ({label}), which no chapter defines"


@pytest.mark.parametrize("chapter,heading", nnlib_citations()[1])
def test_section_cited_by_nnlib_exists(chapter, heading):
    """A docstring's ``chapter N, §Heading`` is a heading of chapter N."""
    text = chapter_text(chapter)
    assert text is not None, f"nnlib cites chapter {chapter}, which does not exist yet"
    headings = re.findall(r"^#+ +(?:[0-9.]+ )?(.+)$", text, flags=re.M)   # "2.3 Activation …"
    assert any(h.strip().startswith(heading) for h in headings), (
        f"nnlib cites chapter {chapter}, §{heading}; its headings are {headings}")
