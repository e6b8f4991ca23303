# lossbook: two commands. `make book` builds the site; `make test` runs everything a reviewer would.
SHELL        := /bin/bash
PYTHON       ?= python3
VENV         := .venv
BIN          := $(VENV)/bin
STAMP        := $(VENV)/.installed
MATHJAX_VER  := 3.2.2
MATHJAX_DIR  := book/_static/mathjax
HTML         := _build/html
export PYTHONHASHSEED := 0
export TQDM_DISABLE   := 1

.PHONY: page help venv book book-strict serve test lint pytest site-test bench chapter clean distclean mathjax

help:
	@echo "make book       build the website (creates .venv, installs pinned deps, executes every chapter)"
	@echo "make serve      serve $(HTML) on http://127.0.0.1:8000"
	@echo "make test       lint + library tests + strict book build + browser checks of the site"
	@echo "make bench      run every benchmark in benchmarks/ and print one table"
	@echo "make chapter CH=book/<part>/<slug>.md   execute one chapter and report errors and time"

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[book,test]"
	touch $@

venv: $(STAMP)

# MathJax is served from the site itself, so math renders with no network (npm registry at build time).
$(MATHJAX_DIR)/tex-chtml.js:
	rm -rf _build/.mathjax && mkdir -p _build/.mathjax $(MATHJAX_DIR)
	cd _build/.mathjax && npm pack --silent mathjax@$(MATHJAX_VER) >/dev/null && tar xzf mathjax-$(MATHJAX_VER).tgz
	cd _build/.mathjax/package/es5 && cp -r tex-chtml.js a11y ui input $(CURDIR)/$(MATHJAX_DIR)/ \
	  && mkdir -p $(CURDIR)/$(MATHJAX_DIR)/output/chtml/fonts && cp -r output/chtml/fonts/woff-v2 $(CURDIR)/$(MATHJAX_DIR)/output/chtml/fonts/
	cp _build/.mathjax/package/LICENSE $(MATHJAX_DIR)/LICENSE

mathjax: $(MATHJAX_DIR)/tex-chtml.js

book: $(STAMP) mathjax
	$(BIN)/python book/_ext/execute_all.py
	$(BIN)/jupyter-book build . --path-output . 
	@echo "Site: $(CURDIR)/$(HTML)/index.html"

# Same build, but any Sphinx warning (a broken reference, a missing glue key) or cell error fails it.
book-strict: $(STAMP) mathjax
	$(BIN)/python book/_ext/execute_all.py
	$(BIN)/jupyter-book build . --path-output . -W --keep-going
	@echo "Site: $(CURDIR)/$(HTML)/index.html"

serve:
	@test -f $(HTML)/index.html || { echo "no site yet: run 'make book' first"; exit 1; }
	$(BIN)/python -m http.server 8000 --bind 127.0.0.1 --directory $(HTML)

lint: $(STAMP)
	$(BIN)/ruff check lib tests benchmarks book/_ext

pytest: $(STAMP)
	MPLBACKEND=Agg $(BIN)/python -m pytest -q -n 2 -m "not site" --doctest-modules tests lib/lossbook

site-test: $(STAMP)
	$(BIN)/python -m pytest -q -m site tests/site

test: lint pytest book-strict site-test

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

chapter: $(STAMP)
	@test -n "$(CH)" || { echo "usage: make chapter CH=book/<part>/<slug>.md"; exit 2; }
	$(BIN)/python book/_ext/execute_chapter.py $(CH)

clean:
	rm -rf _build

distclean: clean
	rm -rf $(VENV) $(MATHJAX_DIR) lib/*.egg-info

# Build one chapter (plus the intro) as a strict mini-book in _build/page-<slug>/ with its own cache.
page: $(STAMP) mathjax
	@test -n "$(CH)" || { echo "usage: make page CH=book/<part>/<slug>.md"; exit 2; }
	$(BIN)/python book/_ext/build_page.py $(CH)
