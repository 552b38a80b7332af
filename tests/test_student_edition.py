"""The student edition has no solution anywhere; the book keeps its own (slow: one build).

The test builds the student edition exactly as ``make student`` does (tools/student_edition.py:
stage the stripped book, build it with warnings as errors, scan every file), except that it
does not wait for the outputs of a normal build (``make test`` builds the book at the same
time, in another process): it stages the committed notebooks, which have no outputs, so that
it runs on its own in under a minute (glued values are left out, so glue warnings are the one
kind it allows). ``make student`` takes the outputs from the normal build's execution cache
and runs the same scan. When a real ``_build/student`` exists, it is
scanned too.
"""
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import bookmeta  # noqa: E402
import student_edition  # noqa: E402


@pytest.fixture(scope="module")
def student(tmp_path_factory):
    """(output folder, exit status) of tools/student_edition.py, run as `make student` runs it."""
    out = tmp_path_factory.mktemp("student")
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "student_edition.py"), "--root", str(ROOT),
         "--out", str(out), "--allow-unexecuted", "--build", str(out / "none")],
        capture_output=True, text=True, cwd=ROOT, timeout=900)
    print(result.stdout[-3000:], result.stderr[-3000:])
    assert (out / "html" / "index.html").is_file(), result.stdout[-3000:] + result.stderr[-5000:]
    return out, result


def html_pages(out):
    return sorted((out / "html").rglob("*.html"))


@pytest.mark.slow
def test_no_solution_anywhere_in_the_student_edition(student):
    """Every file under the build (pages, search index, _sources, notebooks, doctrees,
    inventory) is scanned for the text and code of every solution: nothing may be found."""
    out, result = student
    splits = student_edition.splits_of(ROOT)
    assert sum(len(s.removed_text) for s in splits.values()) > 20, "the book has solutions"
    summary = re.search(r"checked (\d+) files for (\d+) prose fragments, (\d+) code lines, "
                        r"(\d+) word stems and (\d+) images found only in solutions: (\d+) leaks",
                        result.stdout)
    assert summary, result.stdout[-3000:] + result.stderr[-3000:]
    files, prose, code, stems, _, leaks = map(int, summary.groups())
    assert files > 100 and prose > 1000 and code > 100 and stems > 0
    assert leaks == 0 and result.returncode == 0, result.stdout[-3000:]
    for page in html_pages(out):
        text = page.read_text(encoding="utf-8")
        assert "solution" not in " ".join(re.findall(r'class="([^"]*)"', text)).split(), page
        assert not re.search(r'id="sol-ch\d', text), f"{page.name} has a solution's target"


@pytest.mark.slow
def test_the_scan_finds_solutions_where_they_are(student):
    """The same scan, over the book's own notebooks (which have the solutions), finds every
    chapter's solutions: it is not blind."""
    splits = student_edition.splits_of(ROOT)
    solutions = student_edition.Solutions(ROOT, splits, student_edition.visible_texts(
        ROOT, student[0] / "source"))
    for docname, split in splits.items():
        path = bookmeta.doc_path(ROOT, docname)
        if split.removed_text:
            kinds = {kind for kind, _ in solutions.leaks(path)}
            assert "prose" in kinds, f"the scan misses the solutions of {docname}"


@pytest.mark.slow
def test_student_downloads_are_the_stripped_notebooks(student):
    """The download button offers the chapter's notebook, the file is there, and it has the
    exercises and their code cells but no solution and no solution-check cell."""
    out, _ = student
    for ch in bookmeta.chapters(ROOT):
        if ch.path.suffix != ".ipynb":
            continue
        page = (out / "html" / f"{ch.docname}.html").read_text(encoding="utf-8")
        link = re.search(r'<a href="([^"]+\.ipynb)"[^>]*\n?[^>]*btn-download-source-button', page)
        assert link, f"{ch.docname}: no download button"
        notebook = json.loads((out / "html" / Path(ch.docname).parent / link.group(1))
                              .resolve().read_text(encoding="utf-8"))
        text = "\n".join("".join(c["source"]) for c in notebook["cells"])
        assert "{solution" not in text
        for ex in ch.exercises:
            assert ex.label in text, f"{ch.docname}: exercise {ex.label} missing from the download"
        tags = [c.get("metadata", {}).get("tags", []) for c in notebook["cells"]]
        assert not any("solution" in t for t in tags)


@pytest.mark.slow
def test_no_button_opens_the_repository_with_the_solutions(student):
    out, _ = student
    for page in html_pages(out):
        text = page.read_text(encoding="utf-8")
        for needle in ("dropdown-launch-buttons", 'title="Launch on', "mybinder.org/v2",
                       "colab.research.google.com/github", "btn-source-repository-button",
                       "btn-source-issues-button"):
            assert needle not in text, f"{page.name}: {needle}"


@pytest.mark.slow
def test_generated_links_land_on_targets_that_exist(student):
    """The conclusion's links to the boxes that correct the article, the glossary's links to
    the definitions and the instructor guide's links to the exercises all resolve."""
    out, _ = student
    html = out / "html" / "chapters"
    ids = {p.name: set(re.findall(r'id="([^"]+)"', p.read_text(encoding="utf-8")))
           for p in html.glob("*.html")}
    for name, prefix in [("09_conclusion.html", "article-mistake-"),
                         ("appendix_glossary.html", "gloss-"),
                         ("appendix_instructor_guide.html", "ex-ch")]:
        links = re.findall(r'href="([\w.-]+\.html)#(' + prefix + r'[^"]*)"',
                           (html / name).read_text(encoding="utf-8"))
        assert links, f"{name} links to no {prefix}… target"
        for page, anchor in links:
            assert anchor in ids[page], f"{name} links to {page}#{anchor}, which does not exist"
    found = {c.mistake for c in bookmeta.corrections(ROOT)}
    conclusion = (html / "09_conclusion.html").read_text(encoding="utf-8")
    for n in found:
        assert f"#article-mistake-{n}" in conclusion


@pytest.mark.slow
def test_api_reference_shows_every_public_name(student):
    """autodoc documented each name of each module's __all__ (the id Sphinx gives it)."""
    import importlib
    import pkgutil
    import nnlib
    page = (student[0] / "html" / "chapters" / "appendix_api.html").read_text(encoding="utf-8")
    missing = []
    for info in pkgutil.iter_modules(nnlib.__path__):
        module = importlib.import_module(f"nnlib.{info.name}")
        for name in getattr(module, "__all__", []):
            if f'id="{module.__name__}.{name}"' not in page:
                missing.append(f"{module.__name__}.{name}")
    for name in nnlib.__all__:
        assert f"nn.{name}" in page
    assert not missing, f"not in the API reference: {missing}"


@pytest.mark.slow
def test_a_real_student_build_has_no_solution_either():
    """If `make student` has built _build/student, scan it as well."""
    out = ROOT / "_build" / "student"
    index = out / "html" / "index.html"
    if not index.is_file():
        pytest.skip("no _build/student (make student builds it)")
    sources = [bookmeta.doc_path(ROOT, d) for d in bookmeta.toc_docnames(ROOT)]
    if any(p.stat().st_mtime > index.stat().st_mtime for p in sources if p is not None):
        pytest.skip("_build/student is older than the chapters (make student rebuilds it)")
    findings, _ = student_edition.check(ROOT, out, student_edition.splits_of(ROOT),
                                        student_edition.Executions(ROOT / "_build"))
    assert not findings, findings[:5]
