"""The book builds with Sphinx warnings as errors, and shows its math and figures offline (slow)."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_book_builds_without_warnings():
    """``jupyter-book build . -W``: every notebook executes and renders with no warning;
    math and figures are there, with no network needed to show them."""
    # No MPLBACKEND: a non-interactive backend (Agg) would make plt.show() draw nothing.
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    env.update(TF_CPP_MIN_LOG_LEVEL="3", TF_ENABLE_ONEDNN_OPTS="0")
    jb = Path(sys.executable).with_name("jupyter-book")
    result = subprocess.run([str(jb), "build", str(ROOT), "--warningiserror", "--keep-going"],
                            capture_output=True, text=True, env=env, cwd=ROOT)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    html_dir = ROOT / "_build" / "html"
    page = (html_dir / "chapters" / "01_background.html").read_text()
    assert '<script defer="defer" src="../_static/mathjax/tex-chtml.js' in page or \
        "_static/mathjax/tex-chtml.js" in page
    assert (html_dir / "_static" / "mathjax" / "tex-chtml.js").is_file()
    assert (html_dir / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").is_dir()
    for built in html_dir.rglob("*.html"):
        text = built.read_text()
        assert not re.search(r"<script[^>]+src=\"https?://", text), f"{built.name} loads a script from the network"
    for notebook in sorted((ROOT / "chapters").glob("*.ipynb")):
        html = (html_dir / "chapters" / notebook.with_suffix(".html").name).read_text()
        figures = [src for src in re.findall(r'<img[^>]+src="([^"]+\.png)"', html) if "_static" not in src]
        assert figures, f"{notebook.name} shows no figure in the book"
        for src in figures:
            assert (html_dir / "chapters" / src).resolve().is_file(), src
    # the download button offers the chapter's notebook, and the file is there
    download = re.search(r'<a href="([^"]+)"[^>]*\n?[^>]*btn-download-source-button', page)
    assert download and download.group(1).endswith("01_background.ipynb"), "no .ipynb download button"
    assert (html_dir / "chapters" / download.group(1)).resolve().is_file()


# The built book in a real browser (math typeset, images, links, search, dark mode, the PDF):
# tests/test_browser.py, which reads this test's build.
