"""The conclusion and the appendices against the chapters they describe (fast).

Their tables are generated from the chapters while the book builds (tools/sphinx_book.py);
these tests check what a build cannot: that every listed symbol and term is really used,
that every exercise has a difficulty, that every mistake of the article is corrected where
the chapters say, that the API reference covers every module, that the student edition's
parser removes every kind of solution, and that no notebook's recorded memory exceeds the
limit. The slow counterpart, which builds the student edition, is test_student_edition.py.
"""
import importlib
import json
import os
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import bookmeta  # noqa: E402
import execution_status  # noqa: E402
import student_edition  # noqa: E402

CHAPTERS = ROOT / "chapters"
CHAPTER_LIST = bookmeta.chapters(ROOT)
NOTEBOOK_CHAPTERS = [ch for ch in CHAPTER_LIST if ch.path.suffix == ".ipynb"]

# OUTLINE.md's bilingual terms, which the glossary must all give
OUTLINE_TERMS = {
    "neural network": "神经网络", "neuron": "神经元", "node": "节点", "input layer": "输入层",
    "hidden layer": "隐藏层", "output layer": "输出层", "weight": "权重", "bias": "偏置",
    "activation function": "激活函数", "loss function": "损失函数", "mean squared error": "均方误差",
    "cross-entropy loss": "交叉熵损失", "gradient descent": "梯度下降",
    "stochastic gradient descent": "随机梯度下降", "learning rate": "学习率",
    "forward propagation": "前向传播", "backpropagation": "反向传播", "optimizer": "优化器",
    "overfitting": "过拟合", "regularisation": "正则化", "cross-validation": "交叉验证",
    "linear regression": "线性回归",
}


# ----------------------------------------------------------------------------- every page is in the book

APPENDICES = ["appendix_notation", "appendix_glossary", "appendix_api", "appendix_installation",
              "appendix_execution_status", "appendix_instructor_guide"]


def test_conclusion_and_appendices_are_in_the_toc():
    docnames = bookmeta.toc_docnames(ROOT)
    for page in ["09_conclusion"] + APPENDICES:
        assert f"chapters/{page}" in docnames, f"_toc.yml does not list chapters/{page}"
        assert (CHAPTERS / f"{page}.md").is_file()


# ----------------------------------------------------------------------------- instructor guide

def difficulties():
    data = bookmeta.directive_data(CHAPTERS / "appendix_instructor_guide.md", "chapter-guide")
    return (data or {}).get("difficulty", {}) or {}


@pytest.mark.parametrize("chapter", NOTEBOOK_CHAPTERS, ids=lambda c: c.docname)
def test_every_exercise_has_a_label_and_a_difficulty(chapter):
    """The instructor guide lists each exercise with its difficulty (★ to ★★★)."""
    levels = difficulties()
    assert chapter.exercises, f"{chapter.docname} has no exercise"
    for ex in chapter.exercises:
        assert re.fullmatch(r"ex-ch\d+-[\w-]+", ex.label), f"exercise {ex.title!r}: label {ex.label!r}"
        level = ex.difficulty or levels.get(ex.label)
        assert level in (1, 2, 3), (
            f"{ex.label} has no difficulty: add it to the chapter-guide directive of "
            "chapters/appendix_instructor_guide.md (1, 2 or 3)")
    checked = [ex for ex in chapter.exercises if ex.auto_checked]
    assert checked, f"{chapter.docname}: no exercise is checked by nn.checks (CONVENTIONS)"


@pytest.mark.parametrize("chapter", CHAPTER_LIST, ids=lambda c: c.docname)
def test_chapter_box_gives_objectives_prerequisites_and_time(chapter):
    """The guide's per-chapter rows come from each chapter's "In this chapter" box."""
    assert chapter.learn, f"{chapter.docname}: no 'You will learn' list"
    assert chapter.need, f"{chapter.docname}: no 'You need'"
    assert chapter.minutes, f"{chapter.docname}: no time in minutes or hours ({chapter.time!r})"


def test_checked_exercises_name_checkers_that_exist():
    """An exercise counts as "checked by nn.checks" when its text or its code cell calls a
    checker: every checker named so must exist in nnlib.checks."""
    import nnlib.checks
    for ch in NOTEBOOK_CHAPTERS:
        cells = bookmeta.split_solutions(bookmeta.read_cells(ch.path)).cells
        text = "\n".join(c.source for c in cells)
        for name in set(re.findall(r"\bchecks\.(check_\w+)", text)):
            assert name in nnlib.checks.__all__, f"{ch.docname} calls nn.checks.{name}"


# ----------------------------------------------------------------------------- conclusion

def test_every_mistake_of_the_article_is_described_in_the_conclusion():
    texts = bookmeta.directive_data(CHAPTERS / "09_conclusion.md", "mistake-map")
    assert sorted(texts) == [m.number for m in bookmeta.MISTAKES]
    rows = bookmeta.directive_data(CHAPTERS / "09_conclusion.md", "article-map")
    assert sorted({r["chapter"] for r in rows}) == list(range(1, 10))


@pytest.mark.parametrize("mistake", bookmeta.MISTAKES, ids=lambda m: f"mistake-{m.number}")
def test_each_mistake_is_corrected_by_a_box_and_proved_by_a_cell(mistake):
    """The conclusion links each mistake to the box that corrects it (target
    ``article-mistake-N``) and quotes the assert that proves it: both must exist."""
    found = [c for c in bookmeta.corrections(ROOT) if c.mistake == mistake.number]
    if not found:
        pytest.fail(f"no chapter has a box correcting the article's mistake {mistake.number} "
                    f"({mistake.summary}); chapter {mistake.chapter} should (title it "
                    "'Correction: …' or give it :name: article-mistake-N)")
    first = found[0]
    assert first.proof_cell is not None and first.proof, (
        f"{first.docname}: no cell after the box “{first.title}” asserts anything")


# ----------------------------------------------------------------------------- notation

NOTATION = bookmeta.directive_data(CHAPTERS / "appendix_notation.md", "notation-table")


@pytest.mark.parametrize("row", NOTATION, ids=lambda r: r["symbol"])
def test_every_notation_symbol_is_used_in_the_chapters(row):
    assert bookmeta.first_use(row["patterns"], ROOT), (
        f"{row['symbol']} ({row['meaning']}): no chapter matches {row['patterns']}")


def test_notation_names_exist_in_nnlib():
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "nnlib").glob("*.py"))
    for row in NOTATION:
        for code in row.get("code") or []:
            for name in re.findall(r"\.(\w+)", code) or re.findall(r"^(\w+)$", code):
                assert re.search(r"\b" + name + r"\b", source), (
                    f"{row['symbol']}: nnlib has no name {name!r} (from {code!r})")


# ----------------------------------------------------------------------------- glossary

GLOSSARY = bookmeta.directive_data(CHAPTERS / "appendix_glossary.md", "glossary-table")
TERMS = GLOSSARY["terms"]
BOX_FIELDS = {"you will learn", "you need", "time", "source"}


def test_glossary_has_the_outline_terms_in_both_languages():
    by_name = {t["en"]: t for t in TERMS}
    assert len(by_name) == len(TERMS), "a term is listed twice"
    for en, zh in OUTLINE_TERMS.items():
        assert en in by_name, f"OUTLINE.md's term {en!r} is missing"
        assert zh in by_name[en]["zh"], f"{en}: Chinese {zh!r} expected"
    for t in TERMS:
        assert re.search(r"[\u4e00-\u9fff]", t["zh"]), f"{t['en']}: no Chinese"


@pytest.mark.parametrize("term", TERMS, ids=lambda t: t["en"])
def test_glossary_term_is_defined_or_used_in_a_chapter(term):
    """The glossary links each term to its bold definition (or its first use)."""
    where = bookmeta.first_definitions([(term["en"], term.get("also", []))], ROOT)[term["en"]]
    if where is None and bookmeta.first_use_of_term(term["en"], term.get("also", []), ROOT) is None:
        pytest.fail(f"no chapter defines or uses {term['en']!r}")


def test_every_bold_phrase_is_a_glossary_term_or_emphasis():
    """'Every term the book defines': a chapter defines a term by setting it in bold. Each
    bold phrase is a glossary term (or its plural) or listed as emphasis in the page source."""
    forms = set()
    for t in TERMS:
        forms |= bookmeta.term_forms(t["en"], t.get("also", []))
    emphasis = {bookmeta.normalise_term(e) for e in GLOSSARY.get("emphasis", [])}
    missing = []
    for docname, phrase in bookmeta.bold_phrases(ROOT):
        if re.search(r"[.:!?]\s*$|^\s*(Figure|Table)\b|^\s*[\d(]|[$`]", phrase):
            continue        # run-in headings, figure captions, numbers, code and math
        n = bookmeta.normalise_term(phrase)
        if n in BOX_FIELDS or n in forms or n in emphasis:
            continue
        missing.append(f"{docname}: {phrase!r}")
    assert not missing, ("bold phrases neither in the glossary nor listed as emphasis in "
                         "chapters/appendix_glossary.md:\n" + "\n".join(missing))


# ----------------------------------------------------------------------------- API reference

def public_modules():
    import nnlib
    out = []
    for info in pkgutil.iter_modules(nnlib.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"nnlib.{info.name}")
        if hasattr(module, "__all__"):
            out.append(module)
    return out


def test_api_reference_documents_every_public_module():
    page = (CHAPTERS / "appendix_api.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"\{nnlib-module\} (nnlib\.\w+)", page))
    assert ".. automodule:: nnlib\n" in page and "{nnlib-exports}" in page
    for module in public_modules():
        assert module.__name__ in documented, f"appendix_api.md has no {{nnlib-module}} {module.__name__}"
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.__all__ names a missing {name}"
    assert ":ignore-module-all:" not in page


# ----------------------------------------------------------------------------- execution status

# No test reads a previous run's file: in this run, the plugin itself fails a notebook whose
# kernel passes the limit (tested just below), and a clean clone has no earlier record.


def test_the_plugin_records_a_notebook_and_enforces_the_limit(tmp_path):
    """A one-cell notebook through nbval with the plugin and a 1-byte limit: the plugin
    writes its time and peak memory, and fails it for exceeding the limit."""
    import nbformat
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = [0] * 10**6")])
    nbformat.write(nb, tmp_path / "tiny.ipynb")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
               PYTEST_PLUGINS="tools.execution_status", BOOK_MEMORY_LIMIT_BYTES="1",
               BOOK_EXECUTION_STATUS=str(tmp_path / "status.json"))
    env.pop("PYTEST_XDIST_WORKER", None)
    result = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                             "--nbval-lax", "--nbval-current-env", "-q", "tiny.ipynb"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0 and "MiB limit" in result.stdout, result.stdout[-2000:]
    row = json.loads((tmp_path / "status.json").read_text())["notebooks"]["tiny.ipynb"]
    assert row["outcome"] == "passed" and row["seconds"] > 0
    assert 10 * 2**20 < row["peak_rss_bytes"] < execution_status.LIMIT_BYTES
    assert row["code_sha256"] == execution_status.code_sha256(tmp_path / "tiny.ipynb")


# ----------------------------------------------------------------------------- solutions

def cells(*specs):
    """Cells from (type, source[, tags]) tuples."""
    return [bookmeta.Cell(i, s[0], s[1], tuple(s[2]) if len(s) > 2 else ())
            for i, s in enumerate(specs)]


def test_split_removes_every_kind_of_solution():
    page = cells(
        ("markdown", "# T\n\nText before.\n\n```{note}\nA note.\n```"),
        ("code", "x = 1", ["remove-cell"]),                       # before any exercise: kept
        ("markdown", "```{exercise} E1\n:label: ex-a\n\nDo it.\n```\n\n"
                     "````{solution} ex-a\n:label: sol-a\n:class: dropdown\n\nSOLUTION-ONE\n\n"
                     "```python\nsecret_code_one = 1\n```\n````\n\nAfter it."),
        ("code", "def my_f(z):\n    raise NotImplementedError"),     # exercise template: kept
        ("code", "assert secret_check == 2", ["remove-cell"]),      # solution check: removed
        ("markdown", ":::{solution} ex-a\nSOLUTION-TWO\n:::\n\n```{exercise-start} E2\n"
                     ":label: ex-b\n```\nText of E2.\n```{exercise-end}\n```"),
        ("markdown", "```{solution-start} ex-b\n:label: sol-b\n```\nSOLUTION-THREE"),
        ("code", "gated_solution_code = 3"),                         # inside the gate: removed
        ("markdown", "SOLUTION-FOUR\n```{solution-end}\n```\nKept after the gate; see "
                     "{ref}`the answer <sol-a>`."),
        ("code", "anything = 4", ["solution"]),                      # tagged: removed
        ("code", "print('shown')", ["hide-input"]),                  # figure code: kept
    )
    split = bookmeta.split_solutions(page)
    kept = "\n".join(c.source for c in split.cells)
    for secret in ("SOLUTION-", "secret_", "gated_solution", "anything = 4", "{solution"):
        assert secret not in kept
    for text in ("Text before.", "A note.", "x = 1", "Do it.", "After it.", "NotImplementedError",
                 "Text of E2.", "exercise-end", "Kept after the gate", "print('shown')"):
        assert text in kept
    assert split.removed_labels == ["sol-a", "sol-b"]
    assert split.removed_indices == [4, 6, 7, 9]
    assert "the answer" in student_edition._unlink_solutions(kept, split.removed_labels)
    assert "sol-a" not in student_edition._unlink_solutions(kept, split.removed_labels)


def test_the_student_copy_refuses_a_cell_that_needs_a_removed_one():
    nb = {"cells": [
        {"cell_type": "markdown", "metadata": {}, "source": "```{exercise} E\n:label: ex-x\n\nQ\n```"},
        {"cell_type": "code", "metadata": {"tags": ["remove-cell"]}, "source": "helper = 3",
         "outputs": [], "execution_count": None},
        {"cell_type": "code", "metadata": {}, "source": "print(helper)", "outputs": [],
         "execution_count": None}]}
    with pytest.raises(ValueError, match="helper"):
        student_edition.strip_notebook(nb)


@pytest.mark.parametrize("path", [ch.path for ch in NOTEBOOK_CHAPTERS], ids=lambda p: p.name)
def test_every_solution_of_a_chapter_is_found(path):
    """As many solutions removed as the chapter has solution directives, and every hidden
    cell after the first exercise counted as a solution check."""
    page = bookmeta.read_cells(path)
    text = "\n".join(c.source for c in page if c.cell_type == "markdown")
    directives = len(re.findall(r"^\s*(?:`{3,}|:{3,})\{solution(?:-start)?\}", text, re.M))
    split = bookmeta.split_solutions(page)
    assert len(split.removed_text) >= directives > 0
    kept = "\n".join(c.source for c in split.cells)
    assert "{solution" not in kept


def test_the_default_book_keeps_its_solutions_and_its_download_button():
    config = (ROOT / "_config.yml").read_text(encoding="utf-8")
    assert re.search(r"^\s*hide_solutions:\s*false", config, re.M)
    assert re.search(r"^\s*html_copy_source:\s*true", config, re.M)
    assert re.search(r"^\s*use_download_button:\s*true", config, re.M)
    assert "sphinx_book: tools/" in config and "sphinx.ext.autodoc" in config


# ----------------------------------------------------------------------------- numbers the pages state

def test_numbers_the_pages_state_are_the_code_s():
    """The appendices quote a few constants; they must be the ones in force."""
    import nnlib.checks
    guide = (CHAPTERS / "appendix_instructor_guide.md").read_text(encoding="utf-8")
    assert nnlib.checks.RTOL == 1e-6 and "to a relative $10^{-6}$" in guide
    status = (CHAPTERS / "appendix_execution_status.md").read_text(encoding="utf-8")
    install = (CHAPTERS / "appendix_installation.md").read_text(encoding="utf-8")
    assert execution_status.LIMIT_BYTES == 1.5e9
    assert "1.5 GB" in status and "1.5 GB" in install
    config = (ROOT / "_config.yml").read_text(encoding="utf-8")
    timeout = re.search(r"^\s*timeout:\s*(\d+)", config, re.M).group(1)
    assert f"({timeout} seconds)" in install
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert "-n 2" in pyproject and "two notebooks running at once" in status


def test_student_config_turns_the_buttons_off_or_points_them_elsewhere(tmp_path):
    """Staging only (no build): the student edition's configuration."""
    import yaml
    none = student_edition.Executions(None)
    student_edition.stage(ROOT, tmp_path / "a", none, True, tmp_path / "status.json")
    config = yaml.safe_load((tmp_path / "a" / "_config.yml").read_text(encoding="utf-8"))
    assert config["execute"]["execute_notebooks"] == "off"
    assert config["sphinx"]["config"]["hide_solutions"] is True
    assert config["sphinx"]["config"]["html_copy_source"] is True
    assert config["html"]["use_download_button"] is True
    assert not config["html"]["use_repository_button"] and not config["html"]["use_issues_button"]
    assert not any(config["launch_buttons"].get(k) for k in ("binderhub_url", "colab_url",
                                                              "jupyterhub_url", "thebe"))
    url = "https://example.org/course/student-notebooks"
    student_edition.stage(ROOT, tmp_path / "b", none, True, tmp_path / "status.json",
                          (url, "spring"))
    config = yaml.safe_load((tmp_path / "b" / "_config.yml").read_text(encoding="utf-8"))
    assert config["repository"]["url"] == url and config["repository"]["branch"] == "spring"
    original = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    assert config["launch_buttons"] == original["launch_buttons"]
    staged = list((tmp_path / "b" / "chapters").glob("*.ipynb"))
    assert staged and not any("{solution" in p.read_text(encoding="utf-8") for p in staged)
