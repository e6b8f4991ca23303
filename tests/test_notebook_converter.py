"""The MyST -> Jupyter notebook converter (book/_ext/lossbook_notebooks.py) on a small synthetic book.

The built site is not needed: a tiny HTML page stands for what Sphinx writes (numbers as the site
shows them), an executed notebook and its glue file stand for what myst-nb writes. The generated
notebooks of the real book are checked in tests/site/test_notebooks.py after a build.
"""

from __future__ import annotations

import base64
import copy
import html
import importlib.util
import json
import re
import sys
import urllib.parse
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("lossbook_notebooks", ROOT / "book" / "_ext" / "lossbook_notebooks.py")
nbconv = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("lossbook_notebooks", nbconv)  # dataclasses look their module up there
_spec.loader.exec_module(nbconv)

MACROS = {"R": "\\mathbb{R}", "calH": "\\mathcal{H}", "norm": ["\\left\\lVert #1 \\right\\rVert", 1]}
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="

PAGE = "\n".join([
    r'<html><body><div class="bd-sidebar"><h2>Contents</h2></div><article class="bd-article">',
    r'<section id="my-chapter"><h1><span class="section-number">4. </span>My chapter',
    r'<a class="headerlink" href="#my-chapter">#</a></h1>',
    r'<section id="setup-x"><span id="sec-setup"></span><h2><span class="section-number">4.1. </span>Setup',
    r'<span class="math notranslate nohighlight">\(x\)</span><a class="headerlink" href="#setup-x">#</a></h2>',
    r'<div class="proof theorem admonition" id="thm-main"><p class="admonition-title">',
    r'<span class="caption-number">Theorem 4.1 </span> (Main)</p></div>',
    r'<div class="proof admonition" id="proof"><p class="admonition-title">Proof. </p></div>',
    r'<div class="math notranslate nohighlight" id="equation-eq-a"><span class="eqno">(4.7)',
    r'<a class="headerlink" href="#equation-eq-a">#</a></span>\[a=b\]</div>',
    r'<div class="proof lemma admonition" id="lem-b"><p class="admonition-title">',
    r'<span class="caption-number">Lemma 4.2 </span></p></div>',
    r'<figure class="align-default" id="fig-a"><img src="x.png"/><figcaption><p>',
    r'<span class="caption-number">Figure 4.2 </span><span class="caption-text">A caption</span></p></figcaption>',
    r'</figure>',
    r'<figure class="align-default" id="fig-glued"><img src="y.png"/><figcaption><p>',
    r'<span class="caption-number">Figure 4.3 </span><span class="caption-text">Glued</span></p></figcaption>',
    r'</figure>',
    r'<figure class="align-default" id="fig-file"><img src="z.png"/><figcaption><p>',
    r'<span class="caption-number">Figure 4.4 </span><span class="caption-text">From a file.</span></p></figcaption>',
    r'</figure></section>',
    r'<section id="exercises"><h2><span class="section-number">4.2. </span>Exercises',
    r'<a class="headerlink" href="#exercises">#</a></h2>',
    r'<div class="exercise admonition" id="ex-a"><p class="admonition-title">',
    r'<span class="caption-number">Exercise 4.1 </span></p></div>',
    r'</section></section></article></body></html>',
])

OTHER_PAGE = """<html><body><article class="bd-article"><section id="other"><h1>Other page</h1></section>
</article></body></html>"""

CHAPTER_MD = [
    "# My chapter\n\n{cite:t}`doe2020first` found it; others agree {cite:p}`doe2020first`.",
    "(sec-setup)=\n## Setup $x$\n\nA value {glue:text}`v_half:.2f` and one from elsewhere "
    "{glue:text}`../other.md::answer:s`. Notation: {doc}`the other page <../other>`.\n\n"
    "| what | value |\n|---|---|\n| pipe | {glue:text}`v_pipe` |",
    "```{prf:theorem} Main\n:label: thm-main\n\nFor every $h\\in\\calH$,\n\n$$\n\\norm{h} \\ge 0\n$$ (eq-a)\n```\n\n"
    "```{prf:proof}\nTrivial; see {eq}`eq-a` and {prf:ref}`thm-main`.\n```\n\n"
    "````{prf:lemma}\n:label: lem-b\n\n```{math}\nx = y\n```\n````\n\n"
    "See {numref}`fig-a`, {numref}`Plot %s <fig-a>` and {ref}`sec-setup`.\n\n"
    "```{note}\nA note with {glue:text}`v_half`.\n```\n\n"
    ":::{admonition} Careful\n:class: warning\nColon fences too.\n:::\n\n"
    "```{some-unknown-directive} A title\n:option: 1\n\nIts content.\n```\n\n"
    "```python\nprint('{glue:text}`not_a_role`')  # code blocks stay verbatim\n```\n\n"
    "% a MyST comment\n+++\nEnd.",
    "```{glue:figure} glued_fig\n:name: fig-glued\n\nThe glued figure.\n```\n\nAfter the figure.",
    "```{figure} pic.png\n:name: fig-file\n\nFrom a file.\n```\n\n"
    "## Exercises\n\n```{exercise}\n:label: ex-a\nDo it.\n```\n\n```{solution} ex-a\n:class: dropdown\nDone.\n```",
]

BIB = """@article{doe2020first,
  author = {Doe, Jane and Roe, Richard},
  title = {A first result},
  journal = {Journal of Results},
  year = {2020},
}
"""


def _glue(name, data):
    return {"output_type": "display_data", "metadata": {"scrapbook": {"name": name, "mime_prefix": nbconv.GLUE_PREFIX}},
            "data": data}


def _md(text):
    return {"cell_type": "markdown", "metadata": {}, "source": text}


def _code(source, outputs=(), **meta):
    return {"cell_type": "code", "metadata": dict(meta), "execution_count": 1, "outputs": list(outputs),
            "source": source}


def _write_book(tmp_path: Path):
    html_dir, exec_dir = tmp_path / "html", tmp_path / "jupyter_execute"
    (html_dir / "book" / "part").mkdir(parents=True)
    (exec_dir / "book" / "part").mkdir(parents=True)
    (html_dir / "book" / "part" / "ch.html").write_text(PAGE)
    (html_dir / "book" / "other.html").write_text(OTHER_PAGE)
    figure_cell = _code("plt.plot([1, 2])", [{"output_type": "display_data", "metadata": {},
                                              "data": {"image/png": PNG, "text/plain": "<Figure>"}}],
                        tags=["remove-input"], mystnb={"figure": {"name": "fig-a", "caption": "A caption"}})
    cells = [_md(CHAPTER_MD[0]), _code("import x", tags=["remove-cell"]), _md(CHAPTER_MD[1]), figure_cell,
             _md(CHAPTER_MD[2]), _code("glue('glued_fig', fig, display=False)"), _md(CHAPTER_MD[3]),
             _md(CHAPTER_MD[4])]
    executed = {"cells": cells, "nbformat": 4, "nbformat_minor": 5,
                "metadata": {"jupytext": {"text_representation": {"format_name": "myst"}}, "source_map": [1, 2],
                             "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}}
    (exec_dir / "book" / "part" / "ch.ipynb").write_text(json.dumps(executed))
    (exec_dir / "book" / "other.ipynb").write_text(json.dumps({**executed, "cells": [_md("# Other page")]}))
    glue = {"v_half": _glue("v_half", {"text/plain": "0.25"}),
            "v_pipe": _glue("v_pipe", {"text/plain": "'|a| < 1'"}),
            "glued_fig": _glue("glued_fig", {"text/plain": "<Figure>", "image/png": PNG})}
    (exec_dir / "book" / "part" / "ch.glue.json").write_text(json.dumps(glue))
    (exec_dir / "book" / "other.glue.json").write_text(json.dumps({"answer": _glue("answer", {"text/plain": "42"})}))
    (tmp_path / "refs.bib").write_text(BIB)
    (tmp_path / "book" / "part").mkdir(parents=True)
    (tmp_path / "book" / "part" / "pic.png").write_bytes(base64.b64decode(PNG))
    return nbconv.Book(html_dir=html_dir, exec_dir=exec_dir, macros=MACROS, bibfiles=[tmp_path / "refs.bib"],
                       src_dir=tmp_path,
                       repo_url="https://github.com/org/repo", branch="main", site_url="https://org.github.io/repo/",
                       docs=["book/part/ch", "book/other"])


@pytest.fixture
def converted(tmp_path):
    book = _write_book(tmp_path)
    executed = json.loads((book.exec_dir / "book/part/ch.ipynb").read_text())
    nb, problems = nbconv.convert(book, "book/part/ch", executed)
    return nb, problems


def _markdown(nb):
    return "\n\n".join(c["source"] for c in nb["cells"] if c["cell_type"] == "markdown")


def test_converted_chapter_passes_the_checks_and_is_a_valid_notebook(converted):
    import nbformat

    nb, problems = converted
    assert problems == []
    assert nbconv.check_notebook(nb, MACROS) == []
    nbformat.validate(nbformat.from_dict(copy.deepcopy(nb)))


def test_first_cells_define_the_macros_and_install_lossbook(converted):
    nb, _ = converted
    first, second = nb["cells"][:2]
    assert first["cell_type"] == "markdown"
    assert nbconv.defined_macros(nb) == set(MACROS)
    assert "\\def\\norm#1{\\left\\lVert #1 \\right\\rVert}" in first["source"]
    assert second["cell_type"] == "code"
    assert 'find_spec("lossbook") is None' in second["source"]
    assert "lossbook[notebooks] @ git+https://github.com/org/repo@main" in second["source"]
    compile(second["source"], "install-cell", "exec")


def test_glued_values_replace_the_roles(converted):
    text = _markdown(converted[0])
    assert "A value 0.25 and one from elsewhere 42." in text
    assert "| pipe | \\|a\\| \\< 1 |" in text  # escaped, so the table keeps two columns
    assert "A note with 0.25" in text


def test_numbers_are_the_sites(converted):
    text = _markdown(converted[0])
    assert "# 4. My chapter" in text
    assert "## 4.1. Setup $x$" in text
    assert "**Theorem 4.1** (Main). For every $h\\in\\calH$," in text
    assert "\\tag{4.7}" in text and "see (4.7) and Theorem 4.1" in text
    assert "**Lemma 4.2**." in text
    assert "See Figure 4.2, Plot 4.2 and Setup $x$." in text
    assert "**Exercise 4.1**. Do it." in text
    assert "<summary>Solution to Exercise 4.1</summary>" in text


def test_directives_become_plain_markdown(converted):
    text = _markdown(converted[0])
    assert "*Proof.* Trivial;" in text and "∎" in text
    assert "**Note.** A note" in text
    assert "**Careful.** Colon fences too." in text
    assert "**A title** Its content." in text
    assert "$$\nx = y\n$$" in text
    assert "print('{glue:text}`not_a_role`')" in text  # code blocks are not touched
    assert "% a MyST comment" not in text and "+++" not in text and "(sec-setup)=" not in text
    assert ":label:" not in text and "```{" not in text and ":::" not in text


def test_citations_and_document_links(converted):
    text = _markdown(converted[0])
    assert "Doe and Roe (2020) found it; others agree (Doe and Roe, 2020)." in text
    assert "[the other page](../other.ipynb)" in text  # notebook to notebook, relative
    assert "A first result" in converted[0]["cells"][-1]["source"]  # works cited, at the end


def test_every_figure_is_an_image_output_followed_by_its_caption(converted):
    nb, _ = converted
    cells = nb["cells"]
    captions = [i for i, c in enumerate(cells) if nbconv.FIGURE_CAPTION_TAG in c["metadata"].get("tags", [])]
    assert [cells[i]["source"] for i in captions] == [
        "**Figure 4.2.** A caption", "**Figure 4.3.** The glued figure.", "**Figure 4.4.** From a file."]
    for i in captions:
        assert any("image/png" in o.get("data", {}) for o in cells[i - 1]["outputs"])
    assert "After the figure." in cells[captions[1] + 1]["source"]


def test_myst_metadata_is_removed_and_hidden_cells_stay_hidden(converted):
    nb, _ = converted
    assert set(nb["metadata"]) <= {"kernelspec", "language_info"}
    for cell in nb["cells"]:
        assert set(cell["metadata"]) <= set(nbconv.KEEP_CELL_METADATA), cell["metadata"]
        for out in cell.get("outputs", []):
            assert "scrapbook" not in out.get("metadata", {})
            assert not any(k.startswith(nbconv.GLUE_PREFIX) for k in out.get("data", {}))
    hidden = [c for c in nb["cells"]
              if c["cell_type"] == "code" and c["metadata"].get("jupyter", {}).get("source_hidden")]
    assert any(c["source"] == "import x" for c in hidden)


def test_check_notebook_fails_on_each_kind_of_broken_input(converted):
    good, _ = converted
    assert nbconv.check_notebook(good, MACROS) == []

    def broken(mutate):
        nb = copy.deepcopy(good)
        mutate(nb)
        return nbconv.check_notebook(nb, MACROS)

    def add_md(nb, text):
        nb["cells"].append({"cell_type": "markdown", "metadata": {}, "source": text, "id": "x1"})

    assert any("glue" in p for p in broken(lambda nb: add_md(nb, "value {glue:text}`key`")))
    assert any(":label:" in p for p in broken(lambda nb: add_md(nb, "**Theorem**\n:label: thm-x")))
    assert any("directive fence" in p for p in broken(lambda nb: add_md(nb, "```{prf:lemma}\nx\n```")))
    assert any("directive fence" in p for p in broken(lambda nb: add_md(nb, ":::{note}\nx\n:::")))

    def drop_macro(nb):
        nb["cells"][0]["source"] = nb["cells"][0]["source"].replace("\\def\\calH{\\mathcal{H}}", "")
    assert any("calH" in p for p in broken(drop_macro))

    def drop_image(nb):
        i = next(i for i, c in enumerate(nb["cells"]) if nbconv.FIGURE_CAPTION_TAG in c["metadata"].get("tags", []))
        nb["cells"][i - 1]["outputs"] = []
    assert any("no image" in p for p in broken(drop_image))

    # MyST shown inside code is not a leftover
    assert broken(lambda nb: add_md(nb, "Write `{glue:text}` roles like\n\n```md\n{glue:text}`key`\n```")) == []


def test_missing_glue_keys_and_labels_are_reported(tmp_path):
    book = _write_book(tmp_path)
    executed = {"cells": [_md("A {glue:text}`nope` and {eq}`eq-missing` and {numref}`fig-missing`.")],
                "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    nb, problems = nbconv.convert(book, "book/part/ch", executed)
    assert len(problems) == 3, problems
    # what could not be resolved stays visible, so check_notebook flags it as well
    assert any("glue" in p for p in nbconv.check_notebook(nb, MACROS))


def test_macro_definitions_come_from_the_config_form():
    assert nbconv.macro_definitions({"R": "\\mathbb{R}", "ip": ["\\langle #1, #2 \\rangle", 2]}) == [
        "\\def\\R{\\mathbb{R}}", "\\def\\ip#1#2{\\langle #1, #2 \\rangle}"]


@pytest.mark.parametrize("text", ["|a| < 1", "x_1 * y_2", "[link](url)", "<b>bold</b>", "$x$ and \\alpha", "a ~~b~~"])
def test_escaped_glue_text_renders_as_itself(text):
    from markdown_it import MarkdownIt

    rendered = MarkdownIt("gfm-like").render(nbconv.md_escape(text)).strip()
    assert html.unescape(re.sub(r"^<p>|</p>$", "", rendered)) == text


def test_launch_urls_open_the_published_notebook(tmp_path):
    book = _write_book(tmp_path)
    urls = nbconv.launch_urls(book, "book/part/ch", "https://mybinder.org", "https://colab.research.google.com",
                              "jupyterlab")
    assert urls["Colab"] == "https://colab.research.google.com/github/org/repo/blob/gh-pages/notebooks/part/ch.ipynb"
    binder = urllib.parse.urlparse(urls["Binder"])
    assert binder.path == "/v2/gh/org/repo/main"  # the reading environment: binder/ on the source branch
    pull = urllib.parse.urlparse(urllib.parse.parse_qs(binder.query)["urlpath"][0])
    args = urllib.parse.parse_qs(pull.query)
    assert pull.path == "git-pull"
    assert args == {"repo": ["https://github.com/org/repo"], "branch": ["gh-pages"],
                    "urlpath": ["lab/tree/repo/notebooks/part/ch.ipynb"]}
