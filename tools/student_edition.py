"""Build the student edition: the same book with no solution anywhere, then prove it.

    python tools/student_edition.py                 # what `make student` runs, after `make book`
    python tools/student_edition.py --check-only    # scan an existing _build/student again

1. **Stage** a copy of the book's source in ``_build/student/source``. Each chapter notebook
   takes its outputs from the normal build's execution cache (``_build/.jupyter_cache``:
   nothing runs again), and loses its solutions (tools/bookmeta.py,
   ``split_solutions``): every ``{solution}`` directive, every ``{solution-start}`` …
   ``{solution-end}`` span with the cells inside it, and every solution-check cell (hidden
   code cells after the first exercise, or cells tagged ``solution``). The copy is refused if
   a kept cell uses a name that only a removed cell defines, or if the cache has no outputs
   for a notebook's current code.
2. **Build** it with Jupyter Book into ``_build/student/html`` with execution off, warnings as
   errors, solutions hidden, the launch buttons and the repository links off (they would
   open the repository, whose notebooks have the solutions) and the download button on: it
   offers the stripped notebooks, copied into ``_sources/``.
3. **Check** every file under ``_build/student`` (pages, search index, ``_sources``,
   notebooks, doctrees, inventories, images): no run of 8 words of any solution's text, no
   line of a solution's code (4 words or more), no word stem found only in solutions and no
   image drawn by a removed cell may appear there, unless the same text is also in what a
   student may see. Exit status 1 lists what leaked.
"""
from __future__ import annotations

import argparse
import ast
import base64
import hashlib
import html as html_lib
import json
import re
import shutil
import sys
import zlib
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bookmeta  # noqa: E402

ROOT = bookmeta.ROOT
PROSE_WORDS = 8          # a leak of prose: this many consecutive words of a solution
CODE_WORDS = 4           # a leak of code: a solution's code line of at least this many words
TEXT_SUFFIXES = {".html", ".js", ".json", ".txt", ".md", ".css", ".yml", ".yaml", ".bib",
                 ".py", ".ipynb", ".svg", ".xml", ".tex", ".csv", ".rst", ".map", ".inv",
                 ".doctree", ".pickle", ""}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".svg", ".pdf"}


# ----------------------------------------------------------------------------- staging

class Executions:
    """The outputs of the normal build (``make book``), so that nothing runs twice.

    They come from Jupyter Book's execution cache, ``_build/.jupyter_cache``, matched to a
    notebook by the hash of its code, as Jupyter Book itself matches them. The copies in
    ``_build/jupyter_execute`` are a fallback only when they have outputs: myst-nb writes them
    without outputs when it took the outputs from the cache."""

    def __init__(self, build_dir):
        self.build_dir = Path(build_dir) if build_dir else None
        self._cache = None

    def cache(self):
        if self._cache is None and self.build_dir is not None and \
                (self.build_dir / ".jupyter_cache" / "global.db").is_file():
            from jupyter_cache import get_cache
            self._cache = get_cache(str(self.build_dir / ".jupyter_cache"))
        return self._cache

    def code_cells(self, relative, notebook):
        """The executed code cells of ``notebook`` (a dict), in order, or None."""
        code = [_src(c) for c in notebook["cells"] if c["cell_type"] == "code"]
        cache = self.cache()
        if cache is not None:
            import nbformat
            try:
                _, merged = cache.merge_match_into_notebook(
                    nbformat.reads(json.dumps(notebook), as_version=4))
                done = [c for c in json.loads(nbformat.writes(merged))["cells"]
                        if c["cell_type"] == "code"]
                if [_src(c) for c in done] == code:
                    return done
            except KeyError:
                pass
        path = self.build_dir / "jupyter_execute" / relative if self.build_dir else None
        if path is not None and path.is_file():
            done = [c for c in json.loads(path.read_text(encoding="utf-8"))["cells"]
                    if c["cell_type"] == "code"]
            if [_src(c) for c in done] == code and any(c.get("outputs") for c in done):
                return done
        return None


def _src(cell):
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _names(source):
    """(defined, used) names of a code cell; magics and shell lines are dropped."""
    code = "\n".join(l for l in source.split("\n") if not l.lstrip().startswith(("%", "!")))
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set(), set()
    defined, used = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (defined if isinstance(node.ctx, (ast.Store, ast.Del)) else used).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            defined.update((a.asname or a.name).split(".")[0] for a in node.names)
    return defined, used


def strip_notebook(notebook, outputs=None):
    """(stripped notebook dict, Split). ``outputs``: executed code cells, in order, whose
    outputs and execution counts the kept code cells take."""
    cells = [bookmeta.Cell(i, c["cell_type"], _src(c), tuple(c.get("metadata", {})
                                                             .get("tags", [])))
             for i, c in enumerate(notebook["cells"])]
    split = bookmeta.split_solutions(cells)
    kept = {c.index: c for c in split.cells}
    code_position = {}
    for i, c in enumerate(notebook["cells"]):
        if c["cell_type"] == "code":
            code_position[i] = len(code_position)
    new_cells, defined_kept = [], set()
    removed_defs = {}
    for i, cell in enumerate(notebook["cells"]):
        if i not in kept:
            if cell["cell_type"] == "code":
                for name in _names(_src(cell))[0]:
                    removed_defs.setdefault(name, i)
            continue
        cell = json.loads(json.dumps(cell))
        cell["source"] = _unlink_solutions(kept[i].source, split.removed_labels)
        if cell["cell_type"] == "code":
            defined, used = _names(cell["source"])
            orphans = sorted(n for n in used - defined_kept if n in removed_defs)
            if orphans:
                raise ValueError(f"cell {i} uses {orphans}, which only the removed solution "
                                 f"cell {removed_defs[orphans[0]]} defines (CONVENTIONS: a "
                                 "cell never depends on a name defined in a hidden cell)")
            defined_kept |= defined
            if outputs is not None:
                done = outputs[code_position[i]]
                cell["outputs"], cell["execution_count"] = done["outputs"], \
                    done.get("execution_count")
        new_cells.append(cell)
    stripped = dict(notebook, cells=new_cells)
    return stripped, split


def _unlink_solutions(text, labels):
    """References to a removed solution become plain text."""
    for label in labels:
        text = re.sub(r"\{(?:ref|numref|prf:ref)\}`(?:([^<`]*?)\s*<)?" + re.escape(label) +
                      r">?`", lambda m: m.group(1) or "its solution", text)
    return text


def stage(root, source, executions, allow_unexecuted, execution_status, repository=None):
    """Write the stripped book into ``source``; return {docname: Split}."""
    root, source = Path(root), Path(source)
    if source.exists():
        shutil.rmtree(source)
    source.mkdir(parents=True)
    for name in ("_toc.yml", "references.bib"):
        shutil.copy2(root / name, source / name)
    shutil.copytree(root / "tools", source / "tools",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(root / "chapters", source / "chapters",
                    ignore=shutil.ignore_patterns("*.ipynb", "*.md", ".ipynb_checkpoints"))
    splits, stale = {}, []
    for docname in bookmeta.toc_docnames(root):
        path = bookmeta.doc_path(root, docname)
        relative = path.relative_to(root)
        target = source / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".md":
            split = bookmeta.split_solutions(bookmeta.read_cells(path))
            text = split.cells[0].source if split.cells else ""
            target.write_text(_unlink_solutions(text, split.removed_labels), encoding="utf-8")
        else:
            notebook = json.loads(path.read_text(encoding="utf-8"))
            outputs = executions.code_cells(relative, notebook)
            if outputs is None:
                stale.append(str(relative))
            stripped, split = strip_notebook(notebook, outputs)
            target.write_text(json.dumps(stripped, indent=1, ensure_ascii=False) + "\n",
                              encoding="utf-8")
        splits[docname] = split
    if stale and not allow_unexecuted:
        raise SystemExit("no outputs in " + str(executions.build_dir) + " for the current "
                         "version of: " + ", ".join(stale) + " (run `make book` first)")
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    config["title"] = config.get("title", "") + " (student edition)"
    config.setdefault("execute", {})["execute_notebooks"] = "off"
    html = config.setdefault("html", {})
    html.update(use_edit_page_button=False, use_download_button=True,
                announcement="Student edition: the exercises are here, their solutions are not.")
    if repository:      # a repository holding the stripped notebooks: its buttons may stay
        url, branch = repository
        config["repository"] = dict(config.get("repository", {}), url=url, branch=branch,
                                    path_to_book="")
    else:               # the book's repository has the solutions: no button may open it
        config["launch_buttons"] = {"notebook_interface": "classic", "binderhub_url": "",
                                    "jupyterhub_url": "", "colab_url": "", "deepnote_url": "",
                                    "thebe": False}
        html.update(use_repository_button=False, use_issues_button=False)
    sphinx_config = config.setdefault("sphinx", {}).setdefault("config", {})
    sphinx_config.update(hide_solutions=True, html_copy_source=True,
                         book_execution_status=str(Path(execution_status).resolve()))
    if stale:   # no outputs to glue from: the page shows no glued value, and says nothing
        sphinx_config["suppress_warnings"] = list(sphinx_config.get("suppress_warnings", [])) \
            + ["mystnb.glue"]
    (source / "_config.yml").write_text(
        "# Generated by tools/student_edition.py from the book's _config.yml: do not edit.\n" +
        yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return splits, stale


def build(source, out, warnings_are_errors=True):
    """Jupyter Book's build of ``source`` into ``out``/html (doctrees and myst-nb's files in
    ``out`` too, never in the normal build's folders)."""
    from jupyter_book.sphinx import build_sphinx
    source, out = Path(source).resolve(), Path(out).resolve()
    result = build_sphinx(source, out / "html", noconfig=True,
                          path_config=str(source / "_config.yml"),
                          confoverrides={"external_toc_path": (source / "_toc.yml").as_posix(),
                                         "latex_individualpages": False},
                          doctreedir=out / ".doctrees", warningiserror=warnings_are_errors,
                          keep_going=True, freshenv=True, quiet=True)
    if result and warnings_are_errors:
        raise SystemExit(f"the student edition did not build ({result})")


# ----------------------------------------------------------------------------- leak check

def tokens(text):
    return re.findall(r"\w+", text.lower())


def notebook_text(data):
    """Sources and text outputs of a notebook (dict)."""
    parts = []
    for cell in data.get("cells", []):
        parts.append(_src(cell))
        for out in cell.get("outputs", []):
            if "text" in out:
                parts.append("".join(out["text"]) if isinstance(out["text"], list)
                             else out["text"])
            for mime, value in out.get("data", {}).items():
                if mime.startswith("text/") or mime.endswith("json"):
                    value = "".join(value) if isinstance(value, list) else str(value)
                    parts.append(re.sub(r"<[^>]+>", " ", value) if "html" in mime else value)
    return "\n".join(parts)


def file_text(path):
    """The text of any built file, as a reader (or a search engine) would get it."""
    raw = path.read_bytes()
    suffix = path.suffix.lower()
    if path.name == "objects.inv":
        head = raw.split(b"\n", 4)
        try:
            return b"\n".join(head[:4]).decode() + zlib.decompress(head[4]).decode()
        except (zlib.error, IndexError):
            pass
    if suffix == ".ipynb":
        try:
            return notebook_text(json.loads(raw))
        except ValueError:
            pass
    text = raw.decode("utf-8", errors="ignore")
    if suffix in (".html", ".htm", ".xml", ".svg"):
        text = re.sub(r"<(script|style)\b[^>]*>(.*?)</\1>", r" \2 ", text, flags=re.S)
        text = html_lib.unescape(re.sub(r"<[^>]+>", " ", text))
    return text


def ngrams(words, n):
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


class Solutions:
    """What must not leak: fragments of the solutions that a student may not see anywhere."""

    def __init__(self, root, splits, visible_texts, executions=None):
        visible = []
        for text in visible_texts:
            visible += tokens(text) + ["\x00"]       # no n-gram across two files
        visible_sets = {n: ngrams(visible, n) for n in range(CODE_WORDS, PROSE_WORDS + 1)}
        self.prose, self.code, self.images = set(), set(), {}
        solution_words = set()
        for docname, split in splits.items():
            for text in split.removed_text:
                words = tokens(text)
                solution_words.update(w for w in words if w.isalpha() and len(w) > 2)
                self.prose |= ngrams(words, PROSE_WORDS) - visible_sets[PROSE_WORDS]
                for line in _code_lines(text):
                    self._add_code(line, visible_sets)
            for code in split.removed_code:
                for line in code.split("\n"):
                    self._add_code(line, visible_sets)
            self.images.update(self._removed_images(root, docname, split, executions))
        visible_words = set(visible)
        stem = _stemmer()
        visible_stems = {stem(w) for w in visible_words}
        self.stems = {stem(w) for w in solution_words - visible_words} - visible_stems
        self.code_sets = {}
        for frag in self.code:
            self.code_sets.setdefault(len(frag), set()).add(frag)

    def _add_code(self, line, visible_sets):
        words = tokens(line)
        if len(words) < CODE_WORDS:
            return
        frag = tuple(words[:PROSE_WORDS])
        if frag not in visible_sets[len(frag)]:
            self.code.add(frag)

    @staticmethod
    def _removed_images(root, docname, split, executions):
        """sha256 -> where, of the images that removed code cells drew."""
        found = {}
        path = bookmeta.doc_path(root, docname)
        if executions is None or path.suffix != ".ipynb":
            return found
        notebook = json.loads(path.read_text(encoding="utf-8"))
        done = executions.code_cells(path.relative_to(root), notebook)
        if done is None:
            return found
        position = {}
        for i, c in enumerate(notebook["cells"]):
            if c["cell_type"] == "code":
                position[i] = len(position)
        for i in split.removed_indices:
            for out in done[position[i]].get("outputs", []) if i in position else []:
                for mime, value in out.get("data", {}).items():
                    if mime.startswith("image/") and mime != "image/svg+xml":
                        data = base64.b64decode("".join(value) if isinstance(value, list)
                                                else value)
                        found[hashlib.sha256(data).hexdigest()] = f"{docname}, cell {i}"
        return found

    def leaks(self, path):
        """[(kind, fragment)] found in one file."""
        out = []
        if path.suffix.lower() in IMAGE_SUFFIXES and self.images:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if digest in self.images:
                out.append(("image", self.images[digest]))
        if path.suffix.lower() not in TEXT_SUFFIXES:
            return out
        words = tokens(file_text(path))
        for i in range(len(words)):
            frag = tuple(words[i:i + PROSE_WORDS])
            if frag in self.prose:
                out.append(("prose", " ".join(frag)))
            for n, frags in self.code_sets.items():
                if tuple(words[i:i + n]) in frags:
                    out.append(("code", " ".join(words[i:i + n])))
        if path.name.startswith("searchindex"):
            out += [("search term", t) for t in _index_terms(path) & self.stems]
        return out


def _code_lines(markdown):
    """The lines inside the code fences of a piece of Markdown."""
    lines = markdown.split("\n")
    return [l for b in bookmeta.fenced_blocks(markdown) if b.name is None
            for l in lines[b.start + 1:b.end]]


def _stemmer():
    from sphinx.search.en import SearchEnglish
    engine = SearchEnglish({})
    return engine.stem


def _index_terms(path):
    text = path.read_text(encoding="utf-8", errors="ignore")
    m = re.search(r"setIndex\((\{.*\})\)", text, re.S)
    if not m:
        return set()
    index = json.loads(m.group(1))
    return set(index.get("terms", {})) | set(index.get("titleterms", {}))


def visible_texts(root, source):
    """Everything a student may legitimately see: the staged (stripped) source, nnlib's code
    and docstrings (the API reference), the bibliography."""
    texts = []
    for path in sorted(Path(source).rglob("*")):
        if path.is_file() and path.suffix in (".md", ".ipynb", ".bib", ".yml", ".py"):
            texts.append(file_text(path))
    for path in sorted((Path(root) / "nnlib").glob("*.py")):
        texts.append(path.read_text(encoding="utf-8"))
    return texts


def check(root, out, splits, executions=None, limit=20):
    """Scan every file under ``out``; return the findings [(file, kind, fragment)]."""
    out = Path(out)
    solutions = Solutions(root, splits, visible_texts(root, out / "source"), executions)
    findings = []
    for path in sorted(out.rglob("*")):
        if path.is_file():
            findings += [(str(path.relative_to(out)), kind, frag)
                         for kind, frag in solutions.leaks(path)]
    for f in findings[:limit]:
        print("LEAK", *f, sep="  |  ")
    return findings, solutions


def splits_of(root):
    """{docname: Split} of the book's own (committed) sources."""
    out = {}
    for docname in bookmeta.toc_docnames(root):
        path = bookmeta.doc_path(root, docname)
        if path is not None:
            out[docname] = bookmeta.split_solutions(bookmeta.read_cells(path))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", default=str(ROOT), help="the book (default: this repository)")
    parser.add_argument("--out", default=None, help="default: ROOT/_build/student")
    parser.add_argument("--build", default=None,
                        help="the normal build's folder, whose execution cache holds the "
                             "notebooks' outputs (default: ROOT/_build)")
    parser.add_argument("--allow-unexecuted", action="store_true",
                        help="stage notebooks with no executed copy as they are (no outputs)")
    parser.add_argument("--execution-status", default=None,
                        help="the JSON the Execution status appendix shows "
                             "(default: ROOT/_build/execution-status.json)")
    parser.add_argument("--check-only", action="store_true")
    parser.add_argument("--repository-url", default=None,
                        help="a repository holding the stripped notebooks (_build/student/"
                             "source): launch and repository buttons point there")
    parser.add_argument("--repository-branch", default="main")
    parser.add_argument("--warnings-ok", action="store_true",
                        help="build even if Sphinx warns (a book whose chapters are being "
                             "written); the leak check still runs")
    args = parser.parse_args(argv)
    root = Path(args.root).resolve()
    out = Path(args.out or root / "_build" / "student").resolve()
    executions = Executions(Path(args.build or root / "_build"))
    status = args.execution_status or root / "_build" / "execution-status.json"
    if not args.check_only:
        if out.exists():
            shutil.rmtree(out)
        repository = ((args.repository_url, args.repository_branch) if args.repository_url
                      else None)
        splits, stale = stage(root, out / "source", executions, args.allow_unexecuted, status,
                              repository)
        if stale:
            print("not executed (no outputs in the student edition):", ", ".join(stale))
        build(out / "source", out, warnings_are_errors=not args.warnings_ok)
    splits = splits_of(root)
    findings, solutions = check(root, out, splits, executions)
    n_files = sum(1 for p in out.rglob("*") if p.is_file())
    print(f"student edition: {out / 'html' / 'index.html'}; checked {n_files} files for "
          f"{len(solutions.prose)} prose fragments, {len(solutions.code)} code lines, "
          f"{len(solutions.stems)} word stems and {len(solutions.images)} images found only "
          f"in solutions: {len(findings)} leaks")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
