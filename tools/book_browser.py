"""The built book in a real browser: Debian's Chromium driven by Playwright (from PyPI).

Shared by ``tools/make_pdf.py`` (``make pdf``) and ``tests/test_browser.py``. Playwright never
downloads a browser here (no ``playwright install``): it drives the system's Chromium, found by
``find_chromium``. Pages are opened from disk (``file://``), so nothing needs a server or the
network; MathJax and its fonts come from the book's own ``_static/``.
"""
import os
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "_build"

# --no-sandbox: CI runs as root in a container; --disable-dev-shm-usage: a container's /dev/shm
# is small (64 MB in Docker). The background-networking, component-update, sync and first-run
# switches stop Chromium's own calls home, which a closed network refuses.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
INSTALL_HINT = "install Debian's Chromium and a CJK font: apt-get install chromium fonts-noto-cjk"


def find_chromium():
    """The Chromium to drive: $CHROMIUM if set, else the first of NAMES on PATH, else None."""
    if os.environ.get("CHROMIUM"):
        return os.environ["CHROMIUM"]
    for name in NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def html_dir():
    """The built book: $BOOK_HTML if set (a private build), else _build/html."""
    return Path(os.environ.get("BOOK_HTML", BUILD / "html")).resolve()


def launch(playwright, executable=None):
    """A headless Chromium from the system (never a downloaded one)."""
    executable = executable or find_chromium()
    if executable is None:
        raise RuntimeError(f"no Chromium found: {INSTALL_HINT}")
    return playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)


def wait_until_typeset(page):
    """Wait until MathJax (if the page loads it) has typeset every formula and the fonts are in."""
    if page.evaluate("() => !!document.querySelector('script[src*=\"mathjax\"]')"):
        page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
        page.evaluate("() => MathJax.startup.promise.then(() => true)")
    page.evaluate("() => document.fonts.ready.then(() => true)")
