"""Sphinx extension of the book: tables generated from the chapters while the book builds.

Loaded from _config.yml (``sphinx: local_extensions: sphinx_book: tools/``). Each directive
below reads the chapters with tools/bookmeta.py and writes MyST Markdown that is parsed in
place, so a table lists what the chapters contain at build time, never a typed copy:

``{chapter-guide}``   per chapter: objectives, prerequisites, time, exercises (difficulty,
                      checked by nn.checks). Body: YAML ``difficulty: {label: 1|2|3}``.
``{course-plan}``     weeks of a course, the chapters and exercises of each week.
``{notation-table}``  symbols (YAML body), with the chapter that first uses each.
``{glossary-table}``  terms (YAML body), each linked to where a chapter defines it (in bold).
``{mistake-map}``     the article's mistakes, each linked to the box that corrects it.
``{execution-status}`` run time and peak memory of each notebook (tools/execution_status.py).
``{nnlib-exports}``   the names ``import nnlib as nn`` gives, linked to their reference.
``{nnlib-module}``    one module's reference: autodoc, plus the data names autodoc skips.
``{article-map}``     the article's sections (YAML body) and the chapters that grow from them.

Targets it adds to the chapters while they are read (so that links land on the spot):
``article-mistake-N`` on the box that corrects mistake N, ``gloss-<term>`` on the bold words
where a term is defined. A page that uses these directives is re-read whenever a chapter
changes.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bookmeta  # noqa: E402

LOGGER = logging.getLogger(__name__)
STARS = {1: "★☆☆", 2: "★★☆", 3: "★★★"}
LIMIT_BYTES = 1.5e9        # no notebook's kernel may use more (CONVENTIONS: run on a laptop)


def slug(text):
    return re.sub(r"[^a-z0-9]+", "-", bookmeta.normalise_term(text)).strip("-")


def md_cell(text):
    """Text safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def doc_link(docname, text=None):
    return f"{{doc}}`{md_cell(text)} </{docname}>`" if text else f"{{doc}}`/{docname}`"


class BookDirective(SphinxDirective):
    has_content = True
    optional_arguments = 0
    final_argument_whitespace = True

    @property
    def root(self):
        return Path(self.env.srcdir)

    def data(self):
        import yaml
        return yaml.safe_load("\n".join(self.content)) if self.content else None

    def render(self, markdown):
        generated = getattr(self.env, "book_generated_docs", set())
        generated.add(self.env.docname)
        self.env.book_generated_docs = generated
        for docname in bookmeta.toc_docnames(self.root):
            path = bookmeta.doc_path(self.root, docname)
            if path is not None and path.name[:2].isdigit():
                self.env.note_dependency(str(path))
        container = nodes.container(classes=["book-generated"])
        self.state.nested_parse(StringList(markdown.split("\n"), source=self.env.docname),
                                self.content_offset, container)
        return container.children


def chapter_label(ch):
    return f"{ch.number}. {ch.title}"


def exercise_link(ex):
    """A link to an exercise that shows its title (sphinx-exercise would show "Exercise N")."""
    title = re.sub(r"[`<>]", "", ex.title).replace("$", "") or ex.label
    return f"{{ref}}`{md_cell(title)} <{ex.label}>`"


def plural(n, word, words=None):
    return f"{n} {word if n == 1 else (words or word + 's')}"


class ChapterGuide(BookDirective):
    """Per chapter: objectives, prerequisites, time, and the exercises."""

    def run(self):
        difficulty = (self.data() or {}).get("difficulty", {}) or {}
        out = []
        for ch in bookmeta.chapters(self.root):
            time = f"{ch.minutes} minutes" if ch.minutes else "not stated"
            if ch.exercise_minutes:
                time += f", plus about {ch.exercise_minutes} for the exercises"
            elif "exercise" in ch.time:
                time += ", plus the exercises"
            out += [f"**Chapter {doc_link(ch.docname, chapter_label(ch))}**", ""]
            out += ["- *Objectives*: the student learns"] + [
                f"  - {s.rstrip('.;')};" for s in ch.learn] if ch.learn else \
                ["- *Objectives*: the chapter states none"]
            if ch.learn:
                out[-1] = out[-1][:-1] + "."
            out += [f"- *Prerequisites*: {ch.need or 'none stated'}",
                    f"- *Time*: {time} (the chapter's estimate)", ""]
            if not ch.exercises:
                out += ["No exercises.", ""]
                continue
            out += ["| Exercise | Difficulty | Checked by `nn.checks` |", "|---|---|---|"]
            for ex in ch.exercises:
                level = ex.difficulty or difficulty.get(ex.label)
                out.append(f"| {exercise_link(ex)} | {STARS.get(level, '?')} | "
                           f"{'yes' if ex.auto_checked else '—'} |")
            checked = sum(ex.auto_checked for ex in ch.exercises)
            out += ["", f"{plural(len(ch.exercises), 'exercise')}, {checked} checked by "
                    f"`nn.checks`; {plural(ch.hidden_checks, 'hidden cell checks', 'hidden cells check')}"
                    " the solutions' numbers.", ""]
        return self.render("\n".join(out))


class CoursePlan(BookDirective):
    """A course of N weeks: YAML body ``{week: [chapter numbers]}``. Option ``:assign:``
    ``core`` (the exercises checked by nn.checks and the ★ ones) or ``all``."""
    option_spec = {"assign": directives.unchanged}

    def run(self):
        weeks = self.data() or {}
        difficulty = {}
        guide = self.config.book_instructor_guide
        page = bookmeta.doc_path(self.root, guide)
        if page is not None:
            difficulty = (bookmeta.directive_data(page, "chapter-guide") or {}).get(
                "difficulty", {}) or {}
        by_number = {ch.number: ch for ch in bookmeta.chapters(self.root)}
        assign = self.options.get("assign", "all")
        out = ["| Week | Chapters | Time (reading + exercises) | Exercises to hand in |",
               "|---|---|---|---|"]
        for week, numbers in weeks.items():
            if isinstance(numbers, str):        # a week with no chapter: say what it is for
                out.append(f"| {week} | {md_cell(numbers)} | — | — |")
                continue
            numbers = numbers if isinstance(numbers, list) else [numbers]
            names, minutes, exercises = [], 0, []
            for n in numbers:
                ch = by_number.get(n)
                if ch is None:
                    names.append(f"{n} (in preparation)")
                    continue
                names.append(doc_link(ch.docname, chapter_label(ch)))
                minutes += (ch.minutes or 0) + (ch.exercise_minutes or 15 * len(ch.exercises))
                for ex in ch.exercises:
                    level = ex.difficulty or difficulty.get(ex.label)
                    if assign == "all" or ex.auto_checked or level == 1:
                        exercises.append(exercise_link(ex) +
                                         (" (optional)" if assign == "all" and level == 3
                                          else ""))
            hours = f"about {minutes / 60:.1f} h" if minutes else "—"
            out.append(f"| {week} | {'; '.join(names)} | {hours} | "
                       f"{', '.join(exercises) or '—'} |")
        return self.render("\n".join(out))


class NotationTable(BookDirective):
    """YAML body: a list of {symbol, meaning, shape, code, patterns}."""

    def run(self):
        rows = self.data() or []
        out = ["| Symbol | Meaning | Shape | In nnlib's code | First used in |",
               "|---|---|---|---|---|"]
        numbers = {d: n for n, d in bookmeta.chapter_numbers(self.root).items()}
        for row in rows:
            first = bookmeta.first_use(row["patterns"], self.root)
            where = (doc_link(first, f"chapter {numbers[first]}") if first else "—")
            code = ", ".join(f"`{c}`" for c in row.get("code", []) or []) or "—"
            out.append(f"| {md_cell(row['symbol'])} | {md_cell(row['meaning'])} | "
                       f"{md_cell(row.get('shape') or '—')} | {md_cell(code)} | {where} |")
        return self.render("\n".join(out))


def glossary_terms(root, config):
    page = bookmeta.doc_path(root, config.book_glossary)
    data = (bookmeta.directive_data(page, "glossary-table") or {}) if page else {}
    return data.get("terms", []) or []


class GlossaryTable(BookDirective):
    """YAML body: ``terms``: a list of {en, zh, also (other written forms)}; ``emphasis``:
    bold phrases of the chapters that are not terms (tests/test_appendices.py wants every
    bold phrase to be one or the other)."""

    def run(self):
        rows = (self.data() or {}).get("terms", []) or []
        where = bookmeta.first_definitions([(r["en"], r.get("also", [])) for r in rows],
                                           self.root)
        numbers = {d: n for n, d in bookmeta.chapter_numbers(self.root).items()}
        out = ["| English | 中文 | Defined in |", "|---|---|---|"]
        for row in sorted(rows, key=lambda r: r["en"].lower()):
            doc = where[row["en"]]
            expected = row.get("chapter")
            expected_doc = bookmeta.chapter_numbers(self.root).get(expected)
            if doc:
                link = f"{{ref}}`chapter {numbers[doc]} <gloss-{slug(row['en'])}>`"
            elif expected and (expected_doc is None or
                               bookmeta.doc_path(self.root, expected_doc) is None):
                link = f"chapter {expected} (in preparation)"
            else:
                used = bookmeta.first_use_of_term(row["en"], row.get("also", []), self.root)
                link = doc_link(used, f"chapter {numbers[used]}") + " (first use)" if used \
                    else "—"
            out.append(f"| {md_cell(row['en'])} | {md_cell(row['zh'])} | {link} |")
        return self.render("\n".join(out))


class MistakeMap(BookDirective):
    """YAML body: {mistake number: what the article says and what the book writes}."""

    def run(self):
        texts = self.data() or {}
        found = {}
        for c in bookmeta.corrections(self.root):
            found.setdefault(c.mistake, c)
        numbers = bookmeta.chapter_numbers(self.root)
        out = []
        for m in bookmeta.MISTAKES:
            text = texts.get(m.number, m.summary)
            c = found.get(m.number)
            if c is not None:
                where = (f"Corrected in chapter {c.chapter}, under "
                         f"“{md_cell(c.section)}”: {{ref}}`{md_cell(c.title)} "
                         f"<article-mistake-{m.number}>`")
                if c.proof:
                    where += f"; the cell after the box proves it: `{c.proof}`"
            elif bookmeta.doc_path(self.root, numbers.get(m.chapter, "-")) is None:
                where = f"Corrected in chapter {m.chapter} (in preparation)"
            else:
                where = f"Chapter {m.chapter} has no box about it yet"
                LOGGER.warning(f"mistake-map: no chapter has a box correcting the article's "
                               f"mistake {m.number} ({m.summary})",
                               location=(self.env.docname, self.lineno))
            out += [f"{m.number}. **{m.section}.** {text.strip()} {where}.", ""]
        return self.render("\n".join(out))


class ArticleMap(BookDirective):
    """YAML body: a list of {section, heading, says, chapter}: the article's sections and the
    chapter that grows from each, linked when the chapter exists."""

    def run(self):
        numbers = bookmeta.chapter_numbers(self.root)
        out = ["| § | The article's section | What it says | Chapter |", "|---|---|---|---|"]
        for row in self.data() or []:
            n = row["chapter"]
            docname = numbers.get(n)
            path = bookmeta.doc_path(self.root, docname) if docname else None
            if path is None:
                title = f"{n} (in preparation)"
            elif docname == self.env.docname:
                title = "this chapter"
            else:
                title = doc_link(docname)        # the chapter's own title
            out.append(f"| {md_cell(row['section'])} | {md_cell(row['heading'])} | "
                       f"{md_cell(row['says'])} | {title} |")
        return self.render("\n".join(out))


def _human_bytes(n):
    return f"{n / 2**20:,.0f} MiB"


class ExecutionStatus(BookDirective):
    """The table of tools/execution_status.py's JSON (written by the last pytest run)."""

    def run(self):
        path = Path(self.config.book_execution_status)
        if not path.is_absolute():
            path = self.root / path
        self.env.note_dependency(str(path))
        if not path.is_file():
            return self.render(
                "```{note}\nNo measurements yet on the machine that built this page: they are "
                "written by `make test` (the run of every notebook through nbval). Run it, "
                "then build the book again.\n```")
        data = json.loads(path.read_text(encoding="utf-8"))
        rows = data.get("notebooks", {})
        out = ["| Notebook | Run time | Peak memory of its kernel | Result | Measured |",
               "|---|---|---|---|---|"]
        for name in sorted(rows):
            r = rows[name]
            docname = "chapters/" + Path(name).stem
            label = (doc_link(docname, Path(name).name)
                     if bookmeta.doc_path(self.root, docname) else f"`{name}`")
            peak = r.get("peak_rss_bytes")
            flag = " (over the limit)" if peak and peak > LIMIT_BYTES else ""
            stale = "" if r.get("code_sha256") == _code_hash(self.root / name) else \
                " (changed since)"
            out.append(f"| {label} | {r['seconds']:.1f} s | "
                       f"{_human_bytes(peak) if peak else 'not measured'}{flag} | "
                       f"{r.get('outcome', '?')} | {r.get('finished', '?')}{stale} |")
        machine = data.get("machine", {})
        out += ["", f"Measured by `{data.get('command', 'pytest')}` on a machine with "
                f"{machine.get('cpus', '?')} CPUs, Python {machine.get('python', '?')}, "
                f"{data.get('workers', 1)} notebooks at a time, at commit "
                f"`{data.get('commit', '?')}`. Limit: "
                f"{_human_bytes(LIMIT_BYTES)} per notebook."]
        return self.render("\n".join(out))


def _code_hash(path):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from execution_status import code_sha256
    return code_sha256(path) if path.is_file() else None


class NnlibModule(BookDirective):
    """The reference of one nnlib module: ``automodule`` (classes and functions of its
    ``__all__``), then an entry for each name of ``__all__`` that autodoc's ``:members:``
    passes over: objects such as ``nn.activations.sigmoid``, constants and re-exported
    modules (autodoc documents module data only when the source gives it a ``#:`` comment).
    Option ``:exclude-members:`` as autodoc's."""
    required_arguments = 1
    has_content = False
    option_spec = {"exclude-members": directives.unchanged}

    def run(self):
        import importlib
        import inspect
        name = self.arguments[0]
        module = importlib.import_module(name)
        rst = [f".. automodule:: {name}", "   :members:", "   :undoc-members:"]
        if "exclude-members" in self.options:
            rst.append(f"   :exclude-members: {self.options['exclude-members']}")
        rst += ["", f".. py:currentmodule:: {name}"]
        for member in getattr(module, "__all__", []):
            obj = getattr(module, member)
            if inspect.isclass(obj) or inspect.isroutine(obj):
                continue
            rst.append("")
            if inspect.ismodule(obj):
                rst += [f".. py:data:: {member}", "",
                        f"   The module :py:mod:`{obj.__name__}`, also reachable from here."]
            elif isinstance(obj, (bool, int, float, str, tuple, dict)):
                # a constant: its value, and the comment on its line in the source
                source = inspect.getsource(module)
                m = re.search(r"^" + re.escape(member) + r"\s*=.*?#\s*(.+)$", source, re.M)
                above = re.search(r"((?:^#.*\n)+)" + re.escape(member) + r"\s*=", source, re.M)
                comment = m.group(1) if m else " ".join(
                    l.lstrip("# ") for l in above.group(1).splitlines()) if above else ""
                value = repr(obj)
                rst += [f".. py:data:: {member}"]
                if len(value) <= 60:
                    rst += [f"   :value: {value}"]
                rst += ["", "   " + (_rst_text(comment) if comment else "A constant.")]
            else:
                cls = type(obj)
                rst += [f".. py:data:: {member}", "",
                        f"   An instance of :py:class:`~{cls.__module__}.{cls.__qualname__}`, "
                        "ready to use."]
        return self.render("```{eval-rst}\n" + "\n".join(rst) + "\n```")


def _rst_text(text):
    """Plain text safe in reStructuredText (no markup characters act)."""
    return re.sub(r"([*`|_\\])", r"\\\1", text.strip())


class NnlibExports(BookDirective):
    """The names of ``nnlib.__all__``, each linked to where the reference documents it."""

    def run(self):
        import importlib
        nn = importlib.import_module("nnlib")
        items = []
        for name in nn.__all__:
            obj = getattr(nn, name)
            if isinstance(obj, type(nn)):
                items.append(f"{{py:mod}}`nn.{name} <{obj.__name__}>`")
            else:
                role = "py:class" if isinstance(obj, type) else "py:func"
                items.append(f"{{{role}}}`nn.{name} <{obj.__module__}.{name}>`")
        return self.render(", ".join(items))


# ----------------------------------------------------------------------------- targets in chapters

def _inside_solution(node):
    parent = node.parent
    while parent is not None:
        if "solution" in type(parent).__name__:
            return True
        parent = parent.parent
    return False


def _plain(text):
    """Letters and digits only: smart quotes, primes and spaces do not matter."""
    return re.sub(r"[\W_]+", "", text.lower())


def _register(env, document, node, label, title):
    if label in node["ids"]:
        return
    node["ids"].append(label)
    document.ids[label] = node
    std = env.get_domain("std")
    std.anonlabels[label] = (env.docname, label)
    std.labels[label] = (env.docname, label, title)


def add_targets(app, document):
    """Targets in the chapters: the boxes correcting the article, the defining bold words."""
    env = app.env
    if not re.match(r"(?:.*/)?\d\d_", env.docname):
        return
    root = Path(env.srcdir)
    cache = getattr(app, "_book_cache", None)
    if cache is None:
        terms = glossary_terms(root, app.config)
        cache = app._book_cache = {
            "corrections": bookmeta.corrections(root),
            "terms": terms,
            "where": bookmeta.first_definitions([(t["en"], t.get("also", [])) for t in terms],
                                                root),
        }
    boxes = [n for n in document.findall(nodes.Admonition)
             if not _inside_solution(n) and n.children and isinstance(n[0], nodes.title)]
    for c in cache["corrections"]:
        if c.docname != env.docname:
            continue
        box = next((n for n in boxes if _plain(n[0].astext()) == _plain(c.title)), None)
        if box is None:
            LOGGER.warning(f"mistake-map: the box “{c.title}” is not in the page",
                           location=env.docname)
            continue
        _register(env, document, box, f"article-mistake-{c.mistake}", c.title)
    strong = [n for n in document.findall(nodes.strong) if not _inside_solution(n)]
    for term in cache["terms"]:
        if cache["where"].get(term["en"]) != env.docname:
            continue
        forms = bookmeta.term_forms(term["en"], term.get("also", []))
        node = next((n for n in strong if bookmeta.normalise_term(n.astext()) in forms), None)
        if node is None:
            LOGGER.warning(f"glossary: “{term['en']}” is bold in the source of this chapter "
                           "but not in its page", location=env.docname)
            continue
        _register(env, document, node, f"gloss-{slug(term['en'])}", term["en"])


def reset_cache(app, env, docnames):
    app._book_cache = None


def outdated(app, env, added, changed, removed):
    """Pages with generated tables are re-read when a chapter changes, and the chapters when
    the glossary or the conclusion (whose data place targets in them) changes."""
    touched = set(added) | set(changed) | set(removed)
    generated = getattr(env, "book_generated_docs", set())
    chapters = {d for d in env.found_docs if re.match(r"(?:.*/)?\d\d_", d)}
    out = set()
    if touched & chapters:
        out |= generated
    if touched & generated:
        out |= chapters
    return sorted((out - touched) & env.found_docs)


def purge(app, env, docname):
    generated = getattr(env, "book_generated_docs", set())
    generated.discard(docname)


def merge(app, env, docnames, other):
    env.book_generated_docs = (getattr(env, "book_generated_docs", set()) |
                               getattr(other, "book_generated_docs", set()))


def setup(app):
    app.add_config_value("book_glossary", "chapters/appendix_glossary", "env")
    app.add_config_value("book_instructor_guide", "chapters/appendix_instructor_guide", "env")
    app.add_config_value("book_execution_status", "_build/execution-status.json", "env")
    for name, cls in [("chapter-guide", ChapterGuide), ("course-plan", CoursePlan),
                      ("notation-table", NotationTable), ("glossary-table", GlossaryTable),
                      ("mistake-map", MistakeMap), ("execution-status", ExecutionStatus),
                      ("nnlib-exports", NnlibExports), ("article-map", ArticleMap),
                      ("nnlib-module", NnlibModule)]:
        app.add_directive(name, cls)
    app.connect("env-before-read-docs", reset_cache)
    app.connect("doctree-read", add_targets)
    app.connect("env-get-outdated", outdated)
    app.connect("env-purge-doc", purge)
    app.connect("env-merge-info", merge)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
