# Two commands a newcomer needs:  make book   and   make test
# Everything runs in .venv/, created and filled from requirements.txt + constraints.txt.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8000
# TensorFlow stays quiet in every notebook, test and build (see CONVENTIONS: Testing).
export TF_CPP_MIN_LOG_LEVEL := 3
export TF_ENABLE_ONEDNN_OPTS := 0
export PYTHONHASHSEED := 0

.PHONY: install book test test-unit pdf student bench serve strip clean distclean lock

install: $(STAMP)

$(STAMP): requirements.txt constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -c constraints.txt
	touch $(STAMP)

## make book: execute every notebook and build the HTML book in _build/html (warnings are errors)
book: install
	$(BIN)/jupyter-book build . --warningiserror --keep-going
	@echo "The book is in _build/html/index.html  (make serve  to view it)"

## make test: unit tests of nnlib, every chapter through nbval, a -W build of the book, and the
## built book in Chromium (tests/test_browser.py; skipped without Chromium unless REQUIRE_BROWSER=1)
test: install
	$(BIN)/python -m pytest

test-unit: install
	$(BIN)/python -m pytest tests -m "not slow"

## make pdf: the whole book as one PDF, _build/pdf/book.pdf, printed by the system's Chromium
pdf: book
	$(BIN)/python tools/make_pdf.py

## make student: the student edition, no solution anywhere, in _build/student/html (built from
## the executed notebooks of `make book`, then scanned for leaks; see tools/student_edition.py)
student: book
	$(BIN)/python tools/student_edition.py

# Every pytest run records each notebook's run time and its kernel's peak memory in
# _build/execution-status.json, for the appendix "Execution status" (tools/execution_status.py)
export PYTEST_PLUGINS := tools.execution_status

## make bench: time nnlib against Keras and against the machine's matrix-multiply rate
bench: install
	$(BIN)/python benchmarks/run.py

## make strip: remove outputs and execution counts from every chapter notebook (before a commit)
strip: install
	$(BIN)/python -c "import glob, nbformat; \
	notebooks = {p: nbformat.read(p, as_version=4) for p in glob.glob('chapters/*.ipynb')}; \
	[c.update(outputs=[], execution_count=None) for nb in notebooks.values() for c in nb.cells if c.cell_type == 'code']; \
	[nbformat.write(nb, p) for p, nb in notebooks.items()]"

## make serve: serve _build/html on http://localhost:$(PORT)
serve:
	$(BIN)/python -m http.server $(PORT) --bind 127.0.0.1 --directory _build/html

## make lock: record the exact versions the environment resolved into constraints.txt
lock: install
	{ echo "# Exact versions of a green build (make lock). requirements.txt says what is needed; this, which versions."; \
	  $(BIN)/python -m pip freeze --exclude-editable | grep -v '^nnlib'; } > constraints.txt

clean:
	rm -rf _build .pytest_cache .hypothesis
	find . -name __pycache__ -not -path './.venv/*' -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)
