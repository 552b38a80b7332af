"""make pdf: the whole book as one PDF, printed by the system's Chromium (no LaTeX, no download).

The pages of the built book (_build/html), in _toc.yml order, are joined into one HTML document
(_build/pdf/book.html) that keeps the theme's style and scripts: a title page, a table of
contents (chapters and their sections), then every page starting on a new sheet. Chromium opens
it, MathJax typesets every formula, and Chromium prints it. Joining the pages first, rather than
printing them one by one, gives one run of page numbers and cross-chapter links that work inside
the PDF. The first print tells on which page each entry starts (the PDF's named destinations);
the second prints those numbers into the contents, and pypdf adds the bookmark outline.

    make pdf                                   (builds the book first, then runs this)
    .venv/bin/python tools/make_pdf.py [--html DIR] [--output FILE]
"""
import argparse
import html
import logging
import posixpath
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import yaml
from bs4 import BeautifulSoup

sys.path.insert(0, str(Path(__file__).resolve().parent))
from book_browser import BUILD, ROOT, html_dir, launch, wait_until_typeset  # noqa: E402
from bookmeta import page_title, toc_pages  # noqa: E402

OUTPUT = BUILD / "pdf" / "book.pdf"
# pypdf warns that Chromium's cross-reference table is a few entries short; it reads it anyway.
logging.getLogger("pypdf").setLevel(logging.ERROR)

# Added to the theme's own print rules, which already hide the sidebars and the header. The
# theme hides `.bd-article h1:first-of-type` (it prints the page title separately): with many
# pages in one article, that would hide every chapter's title, so it is shown again. Code boxes
# are flex boxes kept whole on a sheet: a cell taller than the space left then leaves an empty
# box behind, so they are made plain blocks that may break; long lines wrap instead of clipping.
PRINT_CSS = """
@page { size: A4; margin: 16mm 15mm 18mm 15mm; }
.bd-main .bd-content .bd-article h1:first-of-type { display: block !important; }
.bd-page-width, .bd-main .bd-content, .bd-article-container, .bd-article {
  max-width: none !important; margin-left: 0 !important; margin-right: 0 !important;
  padding-left: 0 !important; padding-right: 0 !important;
}
.book-page, .book-contents { break-before: page; }
.book-title { text-align: center; padding-top: 35%; }
.book-title h1 { font-size: 2.6em; }
.book-title p { font-size: 1.2em; }
.book-contents ol { list-style: none; padding-left: 0; }
.book-contents li { display: flex; gap: .4em; margin: .15em 0; break-inside: avoid; }
.book-contents li .leader { flex: 1; border-bottom: 1px dotted #999; margin-bottom: .35em; }
.book-contents li.part { font-weight: bold; margin-top: 1.1em; }
.book-contents li.chapter { font-weight: bold; margin-top: .5em; }
.book-contents li.section { padding-left: 1.5em; font-size: .92em; }
.book-contents a { text-decoration: none; }
pre { white-space: pre-wrap !important; overflow-wrap: anywhere; }
div.cell_input, div[class*=highlight-], div.highlight {
  display: block !important; break-inside: auto !important;
}
div.highlight, div.cell_input, div.cell_output, div.output { overflow: visible !important; }
figure, img, div.math { break-inside: avoid; }
"""
FOOTER = ('<div style="font-size:8px;width:100%;text-align:center;color:#555">'
          '<span class="pageNumber"></span></div>')


def slug(docname):
    return "page-" + docname.replace("/", "-")


def joined_document(html_root, pages):
    """The whole book as one HTML document, and its contents: [(anchor, title, kind, part)].

    The first page gives the <head> and the frame; every page's article is appended, its ids
    prefixed with the page's slug and its links pointed inside the document."""
    docnames = [doc for doc, _ in pages]
    frame = BeautifulSoup((html_root / (docnames[0] + ".html")).read_text(), "html.parser")

    def absolute(url, page_dir):
        """A page's relative URL as a file:// URL (the joined document lives in _build/pdf)."""
        parts = urlsplit(url)
        target = (html_root / page_dir / unquote(parts.path)).resolve().as_uri()
        return target + (f"#{parts.fragment}" if parts.fragment else "")

    def internal(href, doc):
        parts = urlsplit(href)
        if parts.scheme or href.startswith("mailto:"):
            return href
        target = doc
        if parts.path:
            target = posixpath.normpath(posixpath.join(posixpath.dirname(doc), unquote(parts.path)))
            if not (target.endswith(".html") and target[:-5] in docnames):
                return absolute(href, posixpath.dirname(doc))
            target = target[:-5]
        return f"#{slug(target)}--{parts.fragment}" if parts.fragment else f"#{slug(target)}"

    for tag, attr in (("link", "href"), ("script", "src")):
        for element in frame.head.find_all(tag, attrs={attr: True}):
            if "://" not in element[attr]:
                element[attr] = absolute(element[attr], posixpath.dirname(docnames[0]))
    for element in frame.select("#jb-print-docs-body"):     # the theme's per-page print title
        element.decompose()
    article = frame.select_one("article.bd-article")
    article.clear()

    contents, bodies = [], []
    for doc, part in pages:
        page = BeautifulSoup((html_root / (doc + ".html")).read_text(), "html.parser")
        body = page.select_one("article.bd-article")
        # Not for print: permalinks, the hidden code that draws figures, thebe's live-code setup.
        for element in body.select("a.headerlink, details.hide.above-input, script"):
            element.decompose()
        contents.append((slug(doc), page_title(ROOT, doc), "chapter", part))
        for heading in body.select("section > h2"):
            contents.append((f"{slug(doc)}--{heading.parent['id']}",
                             heading.decode_contents().strip(), "section", part))
        for element in body.find_all(id=True):
            element["id"] = f"{slug(doc)}--{element['id']}"
        for link in body.find_all("a", href=True):
            link["href"] = internal(link["href"], doc)
        for image in body.find_all("img", src=True):
            if "://" not in image["src"]:
                image["src"] = absolute(image["src"], posixpath.dirname(doc))
        wrapper = frame.new_tag("section", attrs={"class": "book-page", "id": slug(doc)})
        wrapper.extend(list(body.contents))
        bodies.append(wrapper)

    article.append(BeautifulSoup(front_matter(contents), "html.parser"))
    article.extend(bodies)
    style = frame.new_tag("style")
    style.string = PRINT_CSS
    frame.head.append(style)
    return str(frame), contents


def front_matter(contents):
    """Title page and table of contents, its page numbers blank (make_pdf fills them in)."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    rows, caption = [], None
    for anchor, title, kind, part in contents:
        if part and part != caption:
            rows.append(f'<li class="part">{html.escape(part)}</li>')
            caption = part
        rows.append(f'<li class="{kind}"><a href="#{anchor}">{title}</a><span class="leader">'
                    f'</span><span></span></li>')   # the page number, once known
    return (f'<section class="book-title"><h1>{html.escape(config["title"])}</h1>'
            f'<p>{html.escape(config.get("author", ""))}</p></section>'
            f'<section class="book-contents"><h2>Contents</h2><ol>{"".join(rows)}</ol></section>')


def open_document(browser, document):
    """The joined document in a browser page, typeset and ready to print."""
    page = browser.new_page(viewport={"width": 1000, "height": 1400})
    page.goto(document.as_uri())
    wait_until_typeset(page)
    # What the browser's own print does: sphinx-togglebutton opens the solution dropdowns.
    page.evaluate("() => window.dispatchEvent(new Event('beforeprint'))")
    return page


def print_pdf(page, output):
    page.pdf(path=str(output), print_background=True, tagged=True, prefer_css_page_size=True,
             scale=0.85,                       # the screen's 16 px type is large on A4 paper
             display_header_footer=True, header_template="<span></span>",
             footer_template=FOOTER)


FILL_PAGE_NUMBERS = """numbers => {
  for (const [anchor, number] of Object.entries(numbers)) {
    const link = document.querySelector(`.book-contents a[href="#${CSS.escape(anchor)}"]`);
    link.parentElement.lastElementChild.textContent = number;
  }
}"""


def start_pages(pdf, contents):
    """{anchor: page (1-based)} from the PDF's named destinations (Chromium writes one for
    every in-document link target, so for every entry of the contents)."""
    from pypdf import PdfReader
    reader = PdfReader(pdf)
    named = reader.named_destinations
    return {anchor: reader.get_destination_page_number(named[f"/{anchor}"]) + 1
            for anchor, *_ in contents if f"/{anchor}" in named}


def add_outline(pdf, contents, page_numbers):
    """Bookmarks: parts, their chapters, the chapters' sections; and the PDF's title metadata."""
    from pypdf import PdfWriter
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    writer = PdfWriter(pdf, incremental=True)       # appends to the file: no copy of its pages
    part_item, chapter_item, caption = None, None, None
    for anchor, title, kind, part in contents:
        text = BeautifulSoup(title, "html.parser").get_text(" ", strip=True)
        index = page_numbers[anchor] - 1
        if part != caption:
            part_item = writer.add_outline_item(title=part, page_number=index) if part else None
            caption = part
        if kind == "chapter":
            chapter_item = writer.add_outline_item(title=text, page_number=index, parent=part_item)
        else:
            writer.add_outline_item(title=text, page_number=index, parent=chapter_item)
    writer.add_metadata({"/Title": config["title"], "/Author": config.get("author", "")})
    writer.page_mode = "/UseOutlines"
    with open(pdf, "wb") as handle:
        writer.write(handle)


def make_pdf(html_root=None, output=OUTPUT, browser=None):
    """Print the book built in html_root into `output`; returns {anchor: first page}."""
    if browser is None:
        from playwright.sync_api import sync_playwright
        with sync_playwright() as playwright:
            browser = launch(playwright)
            try:
                return make_pdf(html_root, output, browser)
            finally:
                browser.close()
    html_root = Path(html_root or html_dir())
    if not (html_root / "index.html").is_file():
        raise SystemExit(f"no built book in {html_root}: run `make book` first")
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    document = output.with_suffix(".html")
    pages = toc_pages()
    text, contents = joined_document(html_root, pages)
    document.write_text(text)
    page = open_document(browser, document)
    try:
        print_pdf(page, output)                           # first pass: where each entry starts
        numbers = start_pages(output, contents)
        missing = [anchor for anchor, *_ in contents if anchor not in numbers]
        if missing:
            raise RuntimeError(f"{output}: no destination for {missing}")
        page.evaluate(FILL_PAGE_NUMBERS, numbers)         # into the same page: no new typesetting
        print_pdf(page, output)                           # second pass: numbers in the contents
    finally:
        page.close()
    if start_pages(output, contents) != numbers:
        raise RuntimeError(f"{output}: the page numbers moved between the two passes")
    add_outline(output, contents, numbers)
    return numbers


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", type=Path, default=None, help="the built book (_build/html)")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="default: _build/pdf/book.pdf")
    args = parser.parse_args()
    start = time.perf_counter()
    numbers = make_pdf(args.html, args.output)
    from pypdf import PdfReader
    print(f"{args.output}: {len(PdfReader(args.output).pages)} pages, {len(numbers)} entries "
          f"in the contents, {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
