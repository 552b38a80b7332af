"""The built book in a real browser (slow), its PDF edition, and its publishing workflow (fast).

Debian's Chromium, driven by Playwright from PyPI (no browser download), opens every page of the
built book from disk with no network: no console error, every formula typeset by MathJax with no
raw TeX left, every image loaded, every internal link and #anchor resolving, solutions closed
until clicked, readable text contrast in the light and the dark theme. A screenshot of every page
is kept in _build/screenshots/. Then the search page, and `make pdf`'s PDF.

Which build: the one tests/test_book_build.py makes earlier in the same run (conftest.py
schedules this file after it, on the same xdist worker; the `built_book` fixture checks that it
passed). Run alone, these tests read the existing _build/html (or $BOOK_HTML).

Without Chromium the browser tests skip, unless REQUIRE_BROWSER=1 (set by .ci/run): then a
missing browser is a failure, so CI cannot pass without running them.
"""
import os
import re
import shutil
import subprocess
import sys
import unicodedata
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit
from urllib.request import url2pathname

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import book_browser  # noqa: E402
import bookmeta  # noqa: E402

TOC = bookmeta.toc_docnames(ROOT)
PAGES = [doc + ".html" for doc in TOC] + ["genindex.html", "search.html"]
CHAPTERS = [doc + ".html" for doc in TOC if (ROOT / (doc + ".ipynb")).is_file()]
VIEWPORT = {"width": 1280, "height": 900}

# Console errors that come from the book's tools, not from the book, each with its cause. The
# strict xfail test at the end fails as soon as they are gone, so that this list is emptied.
KNOWN_CONSOLE_ERRORS = {
    # Sphinx 7.4 (pinned below 8 by Jupyter Book 1.x) writes extensions' inline scripts twice
    # (sphinx-doc/sphinx#13402, fixed in Sphinx 8.2); sphinx-thebe's declares a `const`, so its
    # second copy throws. Thebe (live code on the page) is not used by the book.
    "Identifier 'THEBE_JS_URL' has already been declared",
}

# Run in each page once everything has loaded and MathJax has finished.
ANALYSE = r"""() => {
  const SKIP = 'mjx-container, pre, code, script, style, textarea, .highlight';
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {acceptNode: n =>
    n.parentElement.closest(SKIP) ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT});
  const TEX = /\$\$|\\\(|\\\)|\\\[|\\\]|\\[A-Za-z]{2,}|\$[^$\s][^$\n]{0,80}\$/;
  const rawTex = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (TEX.test(n.nodeValue)) rawTex.push(n.nodeValue.trim().slice(0, 100));
  }
  const math = [...document.querySelectorAll('.math')];
  return {
    url: location.href,
    math: math.length,
    untypeset: math.filter(m => !m.querySelector('mjx-container')).map(m => m.textContent),
    texErrors: [...document.querySelectorAll('mjx-merror')].map(
      e => e.getAttribute('data-mjx-error') || e.textContent),
    rawTex,
    images: [...document.images].map(i => ({src: i.currentSrc || i.src,
                                            loaded: i.complete && i.naturalWidth > 0})),
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    ids: [...document.querySelectorAll('[id], a[name]')].map(e => e.id || e.name),
  };
}"""

# WCAG 2 contrast of every visible piece of text in the page's content, sidebar and header,
# against the background actually behind it (semi-transparent layers composited).
CONTRAST = r"""() => {
  const parse = c => {
    const m = c.match(/rgba?\(([^)]+)\)/);
    if (!m) throw new Error('colour not understood: ' + c);
    const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (top, bottom) => [0, 1, 2].map(i => top[i] * top[3] + bottom[i] * (1 - top[3]))
                                          .concat([1]);
  const background = el => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c[3] > 0) layers.push(c);
      if (c[3] >= 1) break;
    }
    return layers.reverse().reduce((below, layer) => over(layer, below), [255, 255, 255, 1]);
  };
  const luminance = c => {
    const [r, g, b] = c.slice(0, 3).map(v => (v /= 255) <= 0.03928 ? v / 12.92
                                                                   : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const found = [];
  const where = '.bd-article *, .bd-sidebar-primary *, .bd-header *';
  for (const el of document.querySelectorAll(where)) {
    if (![...el.childNodes].some(n => n.nodeType === 3 && n.nodeValue.trim())) continue;
    const style = getComputedStyle(el), box = el.getBoundingClientRect();
    if (!box.width || !box.height || style.visibility === 'hidden') continue;
    const bg = background(el), fg = over(parse(style.color), bg);
    const [hi, lo] = [luminance(fg), luminance(bg)].sort((a, b) => b - a);
    const size = parseFloat(style.fontSize), bold = parseInt(style.fontWeight) >= 700;
    found.push({text: el.textContent.trim().slice(0, 50), ratio: (hi + 0.05) / (lo + 0.05),
                needed: size >= 24 || (bold && size >= 18.66) ? 3 : 4.5,
                colour: style.color, background: `rgb(${bg.slice(0, 3).map(Math.round)})`});
  }
  return found;
}"""


@pytest.fixture(scope="session")
def browser():
    executable = book_browser.find_chromium()
    if executable is None:
        message = f"no Chromium to drive: {book_browser.INSTALL_HINT}"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"{message} (REQUIRE_BROWSER=1 makes a missing browser a failure)")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        chromium = book_browser.launch(playwright, executable)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def pdf_job(browser, built_book):
    """`make pdf`'s script, started as soon as the browser tests start: Chromium prints the PDF
    while the pages are checked (the machine's cores are otherwise often idle then)."""
    output = built_book.parent / "pdf" / "book.pdf"
    output.unlink(missing_ok=True)
    job = subprocess.Popen([sys.executable, str(ROOT / "tools" / "make_pdf.py"),
                            "--html", str(built_book), "--output", str(output)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    yield job, output
    if job.poll() is None:
        job.kill()
        job.wait()


@pytest.fixture(scope="session")
def screenshots(built_book):
    folder = built_book.parent / "screenshots"
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "dark").mkdir(parents=True)
    return folder


@pytest.fixture(scope="session")
def report(browser, built_book, screenshots, pdf_job):
    """report(page): what the browser saw on that page, each page visited once per session."""
    seen = {}

    def visit(name):
        if name not in seen:
            seen[name] = visit_page(browser, built_book / name, screenshots,
                                    name.replace("/", "__").replace(".html", ".png"))
        return seen[name]

    return visit


def visit_page(browser, path, screenshots, png):
    """Open a page as a first-time reader, let MathJax finish, and record what the tests check."""
    context = browser.new_context(viewport=VIEWPORT)        # fresh: no stored theme or state
    page = context.new_page()
    console = []
    page.on("console", lambda message: message.type == "error" and console.append(message.text))
    page.on("pageerror", lambda error: console.append(str(error)))
    page.on("requestfailed", lambda request: console.append(
        f"failed to load {request.url}: {request.failure}"))
    try:
        page.goto(path.as_uri())
        book_browser.wait_until_typeset(page)
        seen = page.evaluate(ANALYSE)
        seen["light"] = page.evaluate(CONTRAST)
        page.screenshot(path=screenshots / png, full_page=True)
        seen["solutions"] = open_solutions(page)
        seen["theme"], seen["dark"] = dark_mode(page)
        page.mouse.move(0, VIEWPORT["height"] - 1)            # no tooltip on the screenshot
        page.evaluate("() => { document.activeElement.blur(); window.scrollTo(0, 0); }")
        page.screenshot(path=screenshots / "dark" / png)
        seen["console"] = list(console)
    finally:
        context.close()
    return seen


def open_solutions(page):
    """For each solution dropdown: hidden at first? shown after a click on its toggle button?"""
    states = []
    solutions = page.locator(".solution.dropdown")
    for i in range(solutions.count()):
        solution = solutions.nth(i)
        body = solution.locator(":scope > :not(.admonition-title)").first
        hidden_at_first = not body.is_visible()
        solution.locator("button.toggle-button").click()
        states.append({"id": solution.get_attribute("id"), "hidden_at_first": hidden_at_first,
                       "shown_after_click": body.is_visible()})
    return states


def dark_mode(page):
    """Switch to the dark theme with the theme's own button; its contrast measurements."""
    button = page.locator(".theme-switch-button:visible").first
    for _ in range(3):                                   # the button cycles auto → dark → light
        if page.evaluate("() => document.documentElement.dataset.theme") == "dark":
            break
        button.click()
    # colours fade from one theme to the other: measure once the CSS transitions have ended
    page.wait_for_function("() => document.getAnimations().every(a => a.playState !== 'running')")
    return (page.evaluate("() => document.documentElement.dataset.theme"),
            page.evaluate(CONTRAST))


@lru_cache(maxsize=None)
def ids_in(path):
    return set(re.findall(r'\s(?:id|name)="([^"]+)"', Path(path).read_text()))


def broken_links(seen, book):
    """Internal links of a page whose file, or #anchor in it, does not exist."""
    page_path = Path(url2pathname(urlsplit(seen["url"]).path))
    broken = []
    for href in seen["links"]:
        parts = urlsplit(href)
        if parts.scheme != "file":                        # http(s), mailto: not this test's job
            continue
        target = Path(url2pathname(parts.path))
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            broken.append(f"{href}: no such file")
        elif parts.fragment:
            ids = set(seen["ids"]) if target == page_path else ids_in(str(target))
            if unquote(parts.fragment) not in ids:
                broken.append(f"{href}: no #{unquote(parts.fragment)} in {target.name}")
    return broken


@pytest.mark.slow
def test_every_page_of_the_build_is_checked(built_book):
    built = {p.relative_to(built_book).as_posix() for p in built_book.rglob("*.html")
             if not p.relative_to(built_book).parts[0].startswith("_")}
    assert built == set(PAGES) | {"index.html"}


@pytest.mark.slow
@pytest.mark.parametrize("name", PAGES)
def test_page_loads_without_console_errors(report, name):
    errors = [e for e in report(name)["console"] if e not in KNOWN_CONSOLE_ERRORS]
    assert not errors, f"{name}: {errors}"


@pytest.mark.slow
@pytest.mark.parametrize("name", PAGES)
def test_math_is_typeset_with_no_raw_tex_left(report, name):
    seen = report(name)
    assert not seen["untypeset"], f"formulas MathJax did not typeset: {seen['untypeset'][:5]}"
    assert not seen["texErrors"], f"TeX errors: {seen['texErrors'][:5]}"
    assert not seen["rawTex"], f"raw TeX in the text: {seen['rawTex'][:5]}"
    if name in CHAPTERS:
        assert seen["math"] > 10, "a chapter with (almost) no formula? the math was not found"


@pytest.mark.slow
@pytest.mark.parametrize("name", PAGES)
def test_every_image_loads(report, name):
    broken = [i["src"] for i in report(name)["images"] if not i["loaded"]]
    assert not broken, f"{name}: images not loaded: {broken}"


@pytest.mark.slow
@pytest.mark.parametrize("name", PAGES)
def test_internal_links_and_anchors_resolve(report, built_book, name):
    seen = report(name)
    assert seen["links"], "a page with no link at all?"
    assert not broken_links(seen, built_book)


@pytest.mark.slow
@pytest.mark.parametrize("name", CHAPTERS)
def test_solutions_are_closed_until_clicked(report, name):
    solutions = report(name)["solutions"]
    assert solutions, f"{name} has no solution dropdown"
    assert all(s["hidden_at_first"] for s in solutions), [s["id"] for s in solutions
                                                          if not s["hidden_at_first"]]
    assert all(s["shown_after_click"] for s in solutions), [s["id"] for s in solutions
                                                            if not s["shown_after_click"]]


@pytest.mark.slow
@pytest.mark.parametrize("name", PAGES)
def test_text_contrast_in_the_light_and_the_dark_theme(report, screenshots, name):
    """WCAG AA: 4.5:1 for text, 3:1 for large text; the dark theme reached by the theme's own
    toggle button. Screenshots: screenshots/<page>.png (whole page) and dark/<page>.png."""
    seen = report(name)
    assert seen["theme"] == "dark", "the theme button did not switch to the dark theme"
    for theme in ("light", "dark"):
        assert len(seen[theme]) > (100 if name in CHAPTERS else 5), f"{theme}: text not found"
        poor = [t for t in seen[theme] if t["ratio"] < t["needed"]]
        assert not poor, f"{theme} theme, contrast too low: {poor[:5]}"
    png = name.replace("/", "__").replace(".html", ".png")
    assert (screenshots / png).stat().st_size > 10_000
    assert (screenshots / "dark" / png).stat().st_size > 10_000


@pytest.mark.slow
def test_index_leads_to_the_first_page(browser, built_book):
    page = browser.new_page()
    try:
        page.goto((built_book / "index.html").as_uri())
        page.wait_for_url(f"**/{TOC[0]}.html")
    finally:
        page.close()


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="the console errors of KNOWN_CONSOLE_ERRORS are still "
                   "there: when this passes, empty that list")
def test_no_known_console_error_is_left(report):
    assert not KNOWN_CONSOLE_ERRORS & {e for name in PAGES for e in report(name)["console"]}


def search(browser, book, query):
    """The titles of the pages that the book's search page lists for `query`."""
    page = browser.new_page()
    try:
        page.goto((book / "search.html").as_uri() + "?q=" + quote(query))
        page.wait_for_function("() => /Search finished|did not match/.test("
                               "document.querySelector('#search-results')?.innerText || '')")
        return page.locator("#search-results ul.search li a").all_inner_texts()
    finally:
        page.close()


@pytest.mark.slow
def test_search_finds_an_english_term(browser, built_book):
    assert len(search(browser, built_book, "gradient")) >= 3


# 神经网络 (neural network) is written in brackets after the English term, so the search index
# (Sphinx's English one) holds it as one word; the glossary lists it with the other terms.
CHINESE_TERM, CHINESE_TERM_PAGE = "神经网络", "chapters/01_background"
GLOSSARY = "chapters/appendix_glossary"


@pytest.mark.slow
def test_search_finds_a_chinese_glossary_term(browser, built_book):
    assert f"({CHINESE_TERM})" in (ROOT / (CHINESE_TERM_PAGE + ".ipynb")).read_text()
    found = search(browser, built_book, CHINESE_TERM)
    assert bookmeta.page_title(ROOT, CHINESE_TERM_PAGE) in found
    assert bookmeta.page_title(ROOT, GLOSSARY) in found


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="Sphinx's English search splits text only at non-letters,"
                   " so a run of Chinese characters is one word: 梯度下降 (gradient descent) is "
                   "found, 梯度 (gradient) inside it is not. Chinese word segmentation needs "
                   "language: zh (jieba), which would turn the whole book's interface Chinese.")
def test_search_finds_a_chinese_word_inside_a_longer_one(browser, built_book):
    assert search(browser, built_book, "梯度下降"), "the whole term is found"
    assert search(browser, built_book, "梯度")


@pytest.mark.slow
def test_pdf_edition(pdf_job, built_book):
    """`make pdf`'s PDF: enough pages, every chapter's title on the page its bookmark opens,
    math typeset (no raw TeX in its text), every figure in it, Chinese text in it."""
    from pypdf import PdfReader
    job, output = pdf_job
    log, _ = job.communicate(timeout=900)
    assert job.returncode == 0, log
    reader = PdfReader(output)
    assert len(reader.pages) >= 10 * len(CHAPTERS), len(reader.pages)

    def text(page):                                      # NFKC: ligatures, CJK radical forms
        return unicodedata.normalize("NFKC", page.extract_text())

    def plain(words):                          # a long title wraps; Sphinx curls apostrophes
        return " ".join(words.replace("\u2019", "'").split())

    bookmarks = {}

    def walk(items):
        for item in items:
            walk(item) if isinstance(item, list) else bookmarks.setdefault(
                item.title, reader.get_destination_page_number(item))

    walk(reader.outline)
    texts = [text(page) for page in reader.pages]
    contents = plain(" ".join(texts[:6]))
    contents = contents[contents.index("Contents"):]
    for doc in TOC:
        title = bookmeta.page_title(ROOT, doc)
        assert title in bookmarks, f"no bookmark for {title}"
        assert plain(title) in plain(texts[bookmarks[title]]), f"{title} is not on its page"
        # the printed contents give the same page (counted from 1)
        listed = re.search(re.escape(plain(title)) + r" (\d+)", contents)
        assert listed and int(listed.group(1)) == bookmarks[title] + 1, f"{title}: contents"
    everything = "\n".join(texts)
    assert not re.search(r"\$\$|\\\(|\\\[|\\frac|\\mathbf", everything), "raw TeX in the PDF"
    assert CHINESE_TERM in everything
    figures = sum(len([src for src in re.findall(r'<img[^>]+src="([^"]+)"',
                                                 (built_book / name).read_text())
                       if "_static" not in src]) for name in CHAPTERS)
    images = sum(image_count(page["/Resources"].get_object().get("/XObject"))
                 for page in reader.pages)
    assert images >= figures > 0


def image_count(xobjects):
    """The images drawn by a page's XObjects, those inside form XObjects too (what pypdf's
    ``page.images`` counts, without decoding them: 10 s less for the book)."""
    count = 0
    for reference in (xobjects or {}).values():
        xobject = reference.get_object()
        if xobject.get("/Subtype") == "/Image":
            count += 1
        elif xobject.get("/Subtype") == "/Form":
            count += image_count(xobject.get("/Resources", {}).get("/XObject"))
    return count


def test_workflow_runs_the_readme_commands_and_publishes_the_book():
    """.github/workflows/book.yml is valid YAML; it runs the README's commands (make test via
    .ci/run, which requires the browser) and deploys _build/html to GitHub Pages."""
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text())
    steps = [step for job in workflow["jobs"].values() for step in job.get("steps", [])]
    runs = "\n".join(step.get("run", "") for step in steps)
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    quick_start = re.search(r"## Quick start.*?```bash\n(.*?)```", readme, re.S).group(1)
    commands = re.findall(r"^(make \w+)", quick_start, re.M)
    assert set(commands) >= {"make book", "make test"}
    assert ".ci/run" in runs and "make test" in ci
    for command in commands:
        assert command in runs or command in ci, f"the workflow never runs `{command}`"
    assert "REQUIRE_BROWSER=1" in ci and "chromium" in ci and "fonts-noto-cjk" in ci
    assert "make pdf" in runs and "`make pdf`" in readme
    assert "make student" in runs and "`make student`" in readme
    assert "_build/student/html _build/html/student" in runs     # published beside the book
    uses = [step.get("uses", "") for step in steps]
    assert any(u.startswith("actions/upload-pages-artifact@") for u in uses)
    assert any(u.startswith("actions/deploy-pages@") for u in uses)
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-pages"))
    assert upload["with"]["path"] == "_build/html"
    triggers = workflow.get("on", workflow.get(True))     # YAML 1.1 reads a bare `on` as True
    assert "push" in triggers and "pull_request" in triggers
