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

.PHONY: page help venv book book-strict serve test lint pytest site-test bench sweep-regret chapter clean distclean mathjax \
        notebooks lab

# Every target documents itself with a "## text" comment on its rule line; `make help` lists them
# (tests/test_make_targets.py fails if a target has none).
help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-zA-Z_-]+):.*## (.*)$$/\1|\2/' \
	  | awk -F'|' '{ printf "make %-12s %s\n", $$1, $$2 }'

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[book,test,notebooks]"
	touch $@

venv: $(STAMP) ## create .venv with the pinned dependencies (constraints.txt)

# MathJax is served from the site itself, so math renders with no network (npm registry at build time).
$(MATHJAX_DIR)/tex-chtml.js:
	rm -rf _build/.mathjax && mkdir -p _build/.mathjax $(MATHJAX_DIR)
	cd _build/.mathjax && npm pack --silent mathjax@$(MATHJAX_VER) >/dev/null && tar xzf mathjax-$(MATHJAX_VER).tgz
	cd _build/.mathjax/package/es5 && cp -r tex-chtml.js a11y ui input $(CURDIR)/$(MATHJAX_DIR)/ \
	  && mkdir -p $(CURDIR)/$(MATHJAX_DIR)/output/chtml/fonts && cp -r output/chtml/fonts/woff-v2 $(CURDIR)/$(MATHJAX_DIR)/output/chtml/fonts/
	cp _build/.mathjax/package/LICENSE $(MATHJAX_DIR)/LICENSE

mathjax: $(MATHJAX_DIR)/tex-chtml.js ## fetch the MathJax copy the site ships (npm)

book: $(STAMP) mathjax ## build the website in _build/html (executes every chapter, cached)
	$(BIN)/python book/_ext/execute_all.py
	$(BIN)/jupyter-book build . --path-output . 
	@echo "Site: $(CURDIR)/$(HTML)/index.html"

# Same build, but any Sphinx warning (a broken reference, a missing glue key) or cell error fails it.
book-strict: $(STAMP) mathjax ## the same build, failing on any Sphinx warning or cell error
	$(BIN)/python book/_ext/execute_all.py
	$(BIN)/jupyter-book build . --path-output . -W --keep-going
	@echo "Site: $(CURDIR)/$(HTML)/index.html"

serve: ## serve _build/html on http://127.0.0.1:8000
	@test -f $(HTML)/index.html || { echo "no site yet: run 'make book' first"; exit 1; }
	$(BIN)/python -m http.server 8000 --bind 127.0.0.1 --directory $(HTML)

lint: $(STAMP) ## ruff over the library, tests, benchmarks and book extensions
	$(BIN)/ruff check lib tests benchmarks book/_ext

pytest: $(STAMP) ## the library tests and docstring examples (everything but the browser checks)
	MPLBACKEND=Agg $(BIN)/python -m pytest -q -n 2 -m "not site" --doctest-modules tests lib/lossbook

site-test: $(STAMP) ## browser checks of the built site and its notebooks (after a build)
	$(BIN)/python -m pytest -q -m site tests/site

test: lint pytest book-strict site-test ## everything a reviewer runs: lint, pytest, strict build, browser checks

# The regret-slope study at scale (K up to 1e7, 40 seeds: ~2 core-hours, ~1 GiB per worker). It resumes
# where it stopped. SWEEP_ARGS adds options (--k-max, --seeds, --estimate); LOSSBOOK_SWEEP_BACKEND=processes
# uses local processes, LOSSBOOK_SWEEP_ADDRESS=tcp://host:8786 a Dask cluster (see book/sweeps.md).
sweep-regret: $(STAMP) ## the regret-slope study at K <= 1e7 into sweeps/regret-slope.parquet (hours of CPU)
	$(BIN)/python -m lossbook.regret.cli --out sweeps/regret-slope.parquet $(SWEEP_ARGS)

bench: $(STAMP) ## run every benchmark in benchmarks/ and print one table
	$(BIN)/python benchmarks/run.py

chapter: $(STAMP) ## execute one chapter and report errors and time (CH=book/<part>/<slug>.md)
	@test -n "$(CH)" || { echo "usage: make chapter CH=book/<part>/<slug>.md"; exit 2; }
	$(BIN)/python book/_ext/execute_chapter.py $(CH)

# The chapters as notebooks for Jupyter and Colab (book/_ext/lossbook_notebooks.py runs at the end of every
# HTML build and writes them to _build/notebooks/ and _build/html/notebooks/); this checks each one.
notebooks: book ## the executed chapters as notebooks in _build/notebooks/, checked
	$(BIN)/python book/_ext/lossbook_notebooks.py --check

# JupyterLab on the repository with the chapters' .md files opened as notebooks (jupytext); the setting
# is written into .venv only. Progress bars are on here (TQDM_DISABLE is for builds). LAB_ARGS adds options.
LAB_SETTINGS := $(VENV)/share/jupyter/lab/settings
lab: $(STAMP) ## open the chapters in JupyterLab (.md files open as notebooks)
	mkdir -p $(LAB_SETTINGS) && cp binder/overrides.json $(LAB_SETTINGS)/overrides.json
	env -u TQDM_DISABLE $(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.root_dir=$(CURDIR) \
	  --LabApp.default_url=/lab/tree/book/intro.md $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

clean: ## remove _build
	rm -rf _build

distclean: clean ## remove _build, .venv and the MathJax copy
	rm -rf $(VENV) $(MATHJAX_DIR) lib/*.egg-info

# Build one chapter (plus the intro) as a strict mini-book in _build/page-<slug>/ with its own cache.
page: $(STAMP) mathjax ## strict build of one chapter in _build/page-<slug>/ (CH=book/<part>/<slug>.md)
	@test -n "$(CH)" || { echo "usage: make page CH=book/<part>/<slug>.md"; exit 2; }
	$(BIN)/python book/_ext/build_page.py $(CH)
