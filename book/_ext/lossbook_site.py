"""Sphinx extension: small fixes to the generated pages.

* Jupyter Book 1 registers sphinx-thebe's inline configuration script twice, so every page
  declared ``const THEBE_JS_URL`` twice and the browser raised a SyntaxError. Identical script
  entries are dropped here, per page, keeping the first.
* Search snippets are cut from a page's text, where a formula is its TeX source: the search page
  loads the site's MathJax and ``search-math.js``, which typesets the formulas of each snippet.
"""

from __future__ import annotations

import json


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen = set()
    unique = []
    for js in scripts:
        # an inline script is registered once with filename None and once with "": key on the content
        filename = getattr(js, "filename", js) or ""
        key = (str(filename), repr(sorted(getattr(js, "attributes", {}).items())))
        if key in seen:
            continue
        seen.add(key)
        unique.append(js)
    scripts[:] = unique


def _search_math(app, pagename, templatename, context, doctree):
    # Sphinx loads MathJax only on pages with equations; the search page shows formulas in snippets.
    if pagename != "search" or app.builder.format != "html" or not app.config.mathjax_path:
        return
    if app.config.mathjax3_config:
        app.add_js_file(None, body="window.MathJax = " + json.dumps(app.config.mathjax3_config))
    app.add_js_file(app.config.mathjax_path, loading_method="defer")
    app.add_js_file("search-math.js", loading_method="defer")  # after searchtools.js (a plain script)


def setup(app):
    app.connect("html-page-context", _search_math)
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
