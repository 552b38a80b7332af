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
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", TF_ENABLE_ONEDNN_OPTS="0", MPLBACKEND="Agg")
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
    images = re.findall(r'<img[^>]+src="([^"]+\.png)"', page)
    assert images, "chapter 1 shows no figure"
    for src in images:
        assert (html_dir / "chapters" / src).resolve().is_file(), src
    assert not (html_dir / "_sources").exists() or not any((html_dir / "_sources").rglob("*.ipynb"))
