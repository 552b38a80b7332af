"""Read the book's sources (the _toc.yml, the chapter notebooks and pages) into plain data.

Everything the appendices list about the chapters comes from here, so that the tables stay
right when a chapter changes: the instructor guide's chapter boxes and exercises, the
conclusion's map from the article's mistakes to the chapters that correct them, and the
places where glossary terms are defined and notation is first used. The student edition
(tools/student_edition.py) uses the same parser to find the solutions it removes.

Pure Python (json, re, yaml): the Sphinx extension (tools/sphinx_book.py), the tests and the
student edition import it. Nothing here imports Sphinx, nnlib or Keras.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent

# ----------------------------------------------------------------------------- sources


def toc_pages(root=ROOT):
    """(docname, its part's caption or None) for every page of _toc.yml, in reading order."""
    toc = yaml.safe_load((Path(root) / "_toc.yml").read_text(encoding="utf-8"))
    pages = [(toc["root"], None)]

    def walk(entries, caption):
        for entry in entries or []:
            if "file" in entry:
                pages.append((entry["file"], caption))
            walk(entry.get("sections"), caption)

    for part in toc.get("parts", []):
        walk(part.get("chapters"), part.get("caption"))
    walk(toc.get("chapters"), None)
    return [(re.sub(r"\.(ipynb|md)$", "", name), caption) for name, caption in pages]


def toc_docnames(root=ROOT):
    """Docnames of the book in reading order (root first), from _toc.yml."""
    return [docname for docname, _ in toc_pages(root)]


def doc_path(root, docname):
    """The source file of ``docname`` (``.ipynb`` or ``.md``), or None."""
    for suffix in (".ipynb", ".md"):
        path = Path(root) / (docname + suffix)
        if path.is_file():
            return path
    return None


@dataclass
class Cell:
    index: int
    cell_type: str      # "markdown" or "code"
    source: str
    tags: tuple = ()


def read_cells(path):
    """The cells of a notebook, or a Markdown page as one markdown cell."""
    path = Path(path)
    if path.suffix == ".md":
        return [Cell(0, "markdown", path.read_text(encoding="utf-8"))]
    nb = json.loads(path.read_text(encoding="utf-8"))
    return [Cell(i, c["cell_type"], "".join(c["source"]) if isinstance(c["source"], list)
                 else c["source"], tuple(c.get("metadata", {}).get("tags", [])))
            for i, c in enumerate(nb["cells"])]


def page_title(root, docname):
    """The title a page gives itself: its first level-1 Markdown heading, as plain text."""
    path = doc_path(root, docname)
    for cell in read_cells(path):
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip().replace("*", "").replace("`", "")
    raise ValueError(f"{path} has no '# ' title")


# ----------------------------------------------------------------------------- directives

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,}|:{3,})(?P<info>.*)$")
DIRECTIVE_INFO = re.compile(r"^\{(?P<name>[\w:.-]+)\}\s*(?P<arg>.*)$")


@dataclass
class Block:
    """A fenced block of a markdown cell: lines [start, end] (end: the closing fence)."""
    name: str | None        # the directive's name, or None for a code fence
    argument: str
    options: dict
    body: str
    start: int
    end: int
    depth: int = 0          # 0: top level of the cell


def fenced_blocks(text):
    """Every fenced block (directives and code) of a markdown text, outer and nested, in
    order. A block closes at the first later line made of the same fence character, at least
    as long as the opening fence and with nothing else on it (CommonMark's rule; MyST's colon
    fences follow it too). Directive blocks are searched for nested blocks; code fences are
    not (their content is code)."""
    lines = text.split("\n")
    blocks = []

    def scan(first, last, depth):
        i = first
        while i <= last:
            m = FENCE.match(lines[i])
            if not m:
                i += 1
                continue
            char, length = m["fence"][0], len(m["fence"])
            info = m["info"].strip()
            if char != ":" and char in info and char == "`":
                i += 1          # ```foo``` on one line is inline code, not a fence
                continue
            close = re.compile(r"^[ \t]*" + re.escape(char) + "{" + str(length) + r",}[ \t]*$")
            end = next((j for j in range(i + 1, last + 1) if close.match(lines[j])), last)
            d = DIRECTIVE_INFO.match(info)
            if d is None and char == ":":
                i = end + 1     # a colon fence that is no directive: leave it alone
                continue
            options, body_start = {}, i + 1
            if d and body_start < end and lines[body_start].strip() == "---":
                close_yaml = next((j for j in range(body_start + 1, end)
                                   if lines[j].strip() == "---"), None)
                if close_yaml is not None:
                    data = yaml.safe_load("\n".join(lines[body_start + 1:close_yaml])) or {}
                    options = {str(k): str(v) for k, v in data.items()}
                    body_start = close_yaml + 1
            if d:
                while body_start < end and re.match(r"^[ \t]*:[\w-]+:", lines[body_start]):
                    key, _, value = lines[body_start].strip()[1:].partition(":")
                    options[key] = value.strip()
                    body_start += 1
            blocks.append(Block(d["name"] if d else None, d["arg"].strip() if d else info,
                                options, "\n".join(lines[body_start:end]), i, end, depth))
            if d:
                scan(body_start, end - 1, depth + 1)
            i = end + 1

    scan(0, len(lines) - 1, 0)
    return blocks


def remove_lines(text, spans):
    """``text`` without the line ranges ``spans`` [(start, end), ...] (inclusive)."""
    lines = text.split("\n")
    drop = set()
    for start, end in spans:
        drop.update(range(start, end + 1))
    kept = [line for i, line in enumerate(lines) if i not in drop]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip("\n") + ("\n" if kept else "")


# ----------------------------------------------------------------------------- solutions

SOLUTION = "solution"
GATED_START, GATED_END = "solution-start", "solution-end"
EXERCISE_NAMES = ("exercise", "exercise-start")
# Code cells hidden from the reader; after the first exercise they check the solutions.
HIDDEN_TAGS = {"remove-cell", "remove-input"}
SOFT_HIDDEN_TAGS = {"hide-input", "hide-cell"}     # hidden, but one click shows them


@dataclass
class Split:
    """A page split into what a student may see and what only an instructor may."""
    cells: list                 # the kept cells (Cell, with the solution text cut out)
    removed_text: list = field(default_factory=list)    # markdown of every solution block
    removed_code: list = field(default_factory=list)    # code of every removed code cell
    removed_labels: list = field(default_factory=list)  # labels of removed solutions
    removed_indices: list = field(default_factory=list) # indices of cells removed whole


def is_solution_check_cell(cell, after_first_exercise):
    """A code cell that checks solutions: tagged ``solution``, or hidden (remove-cell,
    remove-input) after the chapter's first exercise, or soft-hidden there and about a
    solution. CONVENTIONS: "Exercise solutions are executed: a hidden cell checks each
    solution's numbers"."""
    tags = set(cell.tags)
    if cell.cell_type != "code":
        return False
    if "solution" in tags:
        return True
    if not after_first_exercise:
        return False
    if tags & HIDDEN_TAGS:
        return True
    return bool(tags & SOFT_HIDDEN_TAGS) and "solution" in cell.source.lower()


def split_solutions(cells):
    """Separate the solutions from the rest of a page.

    Removed: every ``{solution}`` directive (any fence, any cell), everything between a
    ``{solution-start}`` and its ``{solution-end}`` (cells in between too: code cells of a
    gated solution), and every solution-check code cell (see ``is_solution_check_cell``).
    """
    kept, split = [], Split([])
    after_exercise = False
    in_gated = False
    for cell in cells:
        if cell.cell_type != "markdown":
            if in_gated or is_solution_check_cell(cell, after_exercise):
                split.removed_code.append(cell.source)
                split.removed_indices.append(cell.index)
            else:
                kept.append(cell)
            continue
        text, spans = cell.source, []
        lines = text.split("\n")
        blocks = [b for b in fenced_blocks(text) if b.depth == 0]
        gated_from = 0 if in_gated else None
        for b in blocks:
            if b.name in EXERCISE_NAMES:
                after_exercise = True
            if in_gated:
                if b.name == GATED_END:
                    spans.append((gated_from, b.end))
                    split.removed_text.append("\n".join(lines[gated_from:b.end + 1]))
                    in_gated, gated_from = False, None
                continue
            if b.name == SOLUTION:
                spans.append((b.start, b.end))
                split.removed_text.append("\n".join(lines[b.start:b.end + 1]))
                if b.options.get("label"):
                    split.removed_labels.append(b.options["label"])
            elif b.name == GATED_START:
                in_gated, gated_from = True, b.start
                if b.options.get("label"):
                    split.removed_labels.append(b.options["label"])
        if in_gated and gated_from is not None:
            spans.append((gated_from, len(lines) - 1))
            split.removed_text.append("\n".join(lines[gated_from:]))
        if spans:
            text = remove_lines(text, spans)
        if text.strip():
            kept.append(Cell(cell.index, cell.cell_type, text, cell.tags))
        else:
            split.removed_indices.append(cell.index)
    split.cells = kept
    return split


def prose(cells, without_solutions=True):
    """The markdown of a page (solutions removed unless asked), one string."""
    if without_solutions:
        cells = split_solutions(cells).cells
    return "\n\n".join(c.source for c in cells if c.cell_type == "markdown")


# ----------------------------------------------------------------------------- chapters

@dataclass
class Exercise:
    label: str
    title: str
    chapter: int
    docname: str
    body: str
    auto_checked: bool
    difficulty: int | None      # from the directive's :class: difficulty-N, if it has one


@dataclass
class Chapter:
    number: int
    docname: str
    path: Path
    title: str
    learn: list
    need: str
    time: str
    minutes: int | None         # reading and running, as the chapter states it
    exercise_minutes: int | None
    source: str
    exercises: list
    hidden_checks: int          # solution-check cells


def _minutes(text):
    m = re.search(r"(\d+(?:\.\d+)?)\s*(minutes?|min\b|hours?|h\b)", text)
    if not m:
        return None
    value = float(m.group(1))
    return round(value * 60 if m.group(2).startswith("h") else value)


def _box_field(box, name):
    """The text after ``**name**`` in the chapter's "In this chapter" box, up to the next
    bold field."""
    m = re.search(r"\*\*" + re.escape(name) + r"\*\*\s*(.*?)(?=\n\s*\*\*[A-Z][^*]*\*\*|\Z)",
                  box, re.S)
    return m.group(1).strip() if m else ""


def chapter_numbers(root=ROOT):
    """{number: docname} of the numbered chapters listed in the toc (NN_name)."""
    out = {}
    for docname in toc_docnames(root):
        m = re.match(r"(?:.*/)?(\d\d)_", docname)
        if m:
            out[int(m.group(1))] = docname
    return out


def read_chapter(root, number, docname):
    path = doc_path(root, docname)
    cells = read_cells(path)
    text = "\n\n".join(c.source for c in cells if c.cell_type == "markdown")
    title_m = re.search(r"^#\s+(?:\d+\.\s*)?(.+)$", text, re.M)
    box = next((b.body for b in fenced_blocks(cells[0].source if cells else "")
                if b.name == "admonition" and "chapter" in b.argument.lower()), "")
    learn = re.findall(r"^\s*[-*]\s+(.+)$", _box_field(box, "You will learn"), re.M)
    time_text = _box_field(box, "Time")
    exercise_m = re.search(r"plus (?:about )?(\d+[^,.;]*?) for the exercises", time_text)

    exercises, after_exercise, hidden = [], False, 0
    for k, cell in enumerate(cells):
        if cell.cell_type == "code":
            if is_solution_check_cell(cell, after_exercise):
                hidden += 1
            continue
        for b in fenced_blocks(cell.source):
            if b.name not in EXERCISE_NAMES or b.depth:
                continue
            after_exercise = True
            # the exercise's own text, and the code cells that follow it up to the next
            # exercise or solution: there a learner finds the nn.checks call to complete
            following = []
            for nxt in cells[k + 1:]:
                if nxt.cell_type == "markdown":
                    break
                if not is_solution_check_cell(nxt, True):
                    following.append(nxt.source)
            rest_of_cell = cell.source.split("\n")[b.end + 1:]
            more = "\n".join(rest_of_cell)
            if any(x.name in EXERCISE_NAMES + (SOLUTION, GATED_START)
                   for x in fenced_blocks(more)):
                following = []          # another block follows in the same cell
            checked = bool(re.search(r"\bchecks\.check_\w+", b.body + "\n".join(following)))
            m = re.search(r"difficulty-(\d)", b.options.get("class", ""))
            exercises.append(Exercise(b.options.get("label", ""), b.argument, number, docname,
                                      b.body, checked, int(m.group(1)) if m else None))
    return Chapter(number, docname, path, title_m.group(1).strip() if title_m else docname,
                   learn, _box_field(box, "You need"), time_text, _minutes(time_text),
                   _minutes(exercise_m.group(1)) if exercise_m else None,
                   _box_field(box, "Source"), exercises, hidden)


def chapters(root=ROOT):
    """Every numbered chapter of the toc whose file exists (notebook or page), in order."""
    return [read_chapter(root, number, docname)
            for number, docname in sorted(chapter_numbers(root).items())
            if doc_path(root, docname) is not None]


# ----------------------------------------------------------------------------- the article's mistakes

@dataclass
class Mistake:
    number: int
    section: str            # of the article
    chapter: int            # the chapter expected to correct it (OUTLINE.md)
    summary: str
    patterns: tuple         # all must match the admonition's title + text (case-insensitive)


MISTAKES = [
    Mistake(1, "§3.2", 4, "δ defined with f′ applied twice",
            (r"twice", r"δ|\\delta|delta")),
    Mistake(2, "§3.1", 3, "one quantity indexed two ways",
            (r"\bindex", r"notation|x_i|layer")),
    Mistake(3, "§3.3", 5, "the layer's superscript reused for the iteration",
            (r"iteration", r"superscript|l\s*\+\s*1|\(t\)")),
    Mistake(4, "§3.2", 4, "one-sample gradients where training averages a mini-batch",
            (r"one sample|single sample|per sample|one example", r"batch")),
    Mistake(5, "§4", 6, "linear regression called a neural network",
            (r"linear regression",)),
    Mistake(6, "§4", 6, "input_shape=, which Keras 3 deprecates",
            (r"input_shape",)),
]

ADMONITIONS = ("admonition", "attention", "caution", "danger", "error", "hint", "important",
               "note", "tip", "warning", "seealso")


@dataclass
class Correction:
    mistake: int
    chapter: int
    docname: str
    title: str              # the admonition's title
    section: str            # the heading it sits under
    cell: int               # the admonition's cell
    proof_cell: int | None  # the first later code cell that asserts
    proof: str              # that cell's first assert line


def _headings(text):
    return [(m.start(), m.group(2).strip()) for m in re.finditer(r"^(#+)\s+(.+)$", text, re.M)]


def corrections(root=ROOT):
    """Every admonition of a chapter that corrects one of the article's mistakes (see the
    comment below for how a box is recognised), with the first later cell that asserts.
    A box may correct several mistakes."""
    found = []
    for ch in chapters(root):
        cells = split_solutions(read_cells(ch.path)).cells
        section = ""
        for pos, cell in enumerate(cells):
            if cell.cell_type != "markdown":
                continue
            blocks = [b for b in fenced_blocks(cell.source) if b.name in ADMONITIONS]
            heads = _headings(cell.source)
            lines = cell.source.split("\n")
            for b in blocks:
                offset = len("\n".join(lines[:b.start]))
                before = [h for p, h in heads if p <= offset]
                here = before[-1] if before else section
                title = b.argument if b.name == "admonition" else b.name.capitalize()
                text = f"{title}\n{b.body}"
                marked = re.findall(r"article-mistake-(\d)",
                                    b.options.get("name", "") + " " + b.options.get("class", ""))
                about_article = re.search(r"article|correction", title, re.I)
                for mistake in MISTAKES:
                    # a box names its mistake (:name: or :class: article-mistake-N), or its
                    # title says which, or it is titled as a correction of the article and
                    # its text matches
                    if marked:
                        if str(mistake.number) not in marked:
                            continue
                    elif not (all(re.search(p, title, re.I) for p in mistake.patterns) or
                              about_article and "chapter" not in title.lower() and
                              all(re.search(p, text, re.I) for p in mistake.patterns)):
                        continue
                    proof = next((c for c in cells[pos + 1:] if c.cell_type == "code"
                                  and re.search(r"\bassert", c.source)), None)
                    line = next((l.strip() for l in proof.source.split("\n")
                                 if re.search(r"\bassert", l)), "") if proof else ""
                    line = re.sub(r"\s+#.*$", "", line)          # the code, not its comment
                    found.append(Correction(mistake.number, ch.number, ch.docname, title, here,
                                            cell.index, proof.index if proof else None, line))
            if heads:
                section = heads[-1][1]
    return found


# ----------------------------------------------------------------------------- terms and symbols

BOLD = re.compile(r"\*\*(?!\s)([^*\n]+?)(?<!\s)\*\*")


def normalise_term(text):
    """Lower case, no Chinese gloss in brackets, no markup, single spaces."""
    text = re.sub(r"\s*[(（][^)）]*[\u4e00-\u9fff][^)）]*[)）]", "", text)
    text = re.sub(r"[`*_]", "", text)
    return re.sub(r"\s+", " ", text).strip().lower()


def term_forms(term, also=()):
    """The forms under which a term may be written in bold: itself, its plural, ``also``."""
    forms = set()
    for t in (term, *also):
        t = normalise_term(t)
        forms |= {t, t + "s", t + "es", re.sub(r"y$", "ies", t)}
    return forms


def bold_phrases(root=ROOT):
    """[(docname, phrase)] of every bold phrase in the chapters' prose (solutions removed),
    in reading order."""
    out = []
    for docname in toc_docnames(root):
        path = doc_path(root, docname)
        if path is None or not re.match(r"(?:.*/)?\d\d_", docname):
            continue
        for phrase in BOLD.findall(prose(read_cells(path))):
            out.append((docname, phrase))
    return out


def first_definitions(terms, root=ROOT):
    """{term: docname}: the first chapter, in reading order, that writes the term in bold."""
    where = {}
    phrases = bold_phrases(root)
    for term, also in terms:
        forms = term_forms(term, also)
        where[term] = next((d for d, p in phrases if normalise_term(p) in forms), None)
    return where


def first_use_of_term(term, also=(), root=ROOT):
    """The first chapter whose prose (solutions removed) contains the term, bold or not."""
    forms = sorted(term_forms(term, also), key=len, reverse=True)
    pattern = r"(?<![\w-])(?:" + "|".join(re.escape(f) for f in forms) + r")(?![\w-])"
    for docname in toc_docnames(root):
        path = doc_path(root, docname)
        if path is None or not re.match(r"(?:.*/)?\d\d_", docname):
            continue
        if re.search(pattern, prose(read_cells(path)), re.I):
            return docname
    return None


def first_use(patterns, root=ROOT):
    """The first chapter (docname), in reading order, whose prose or code matches one of the
    regular expressions ``patterns``; None if none does."""
    for docname in toc_docnames(root):
        path = doc_path(root, docname)
        if path is None or not re.match(r"(?:.*/)?\d\d_", docname):
            continue
        cells = split_solutions(read_cells(path)).cells
        text = "\n".join(c.source for c in cells)
        if any(re.search(p, text) for p in patterns):
            return docname
    return None


def directive_data(page, name):
    """The YAML body of the first ``{name}`` directive of a Markdown page (its data)."""
    text = Path(page).read_text(encoding="utf-8")
    block = next((b for b in fenced_blocks(text) if b.name == name), None)
    return None if block is None else yaml.safe_load(block.body)
