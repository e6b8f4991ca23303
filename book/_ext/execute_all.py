"""Execute every out-of-date page of the book into the execution cache, several at a time.

    python book/_ext/execute_all.py [--jobs 2] [--limit 150]

``jupyter-book build`` executes pages one after the other. This script runs first (``make book``,
``make book-strict``): it reads each page of ``_toc.yml`` with myst-nb's own reader, asks the
jupyter cache whether a notebook with the same code is already cached, and executes the others in
``--jobs`` worker processes, each kernel limited to one BLAS/OpenMP/PyTorch thread so that two
kernels share two cores instead of fighting over them. Results go into the same cache that the
Sphinx build reads, which then executes nothing. A cell error stops everything with the
traceback (exit status 1); a page slower than ``--limit`` seconds is an error too, so a chapter
that outgrows its budget is caught by ``make test`` (the budget is in CONTRIBUTING.md).

The executed notebooks' times are recorded in the cache and shown on the book's *Build status* page.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS",
               "NUMBA_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")


def _config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text())


def toc_sources() -> list[Path]:
    sys.path.insert(0, str(Path(__file__).parent))
    from lossbook_ledger import toc_files

    out = []
    for doc in toc_files(ROOT):
        for ext in (".md", ".ipynb"):
            p = ROOT / (doc + ext)
            if p.exists():
                out.append(p)
                break
    return out


def read_notebook(path: Path):
    """The notebook myst-nb builds from ``path`` (same code cells, so the same cache key)."""
    import nbformat
    from myst_nb.core.read import read_myst_markdown_notebook
    from myst_parser.config.main import MdParserConfig

    text = path.read_text(encoding="utf-8")
    if path.suffix == ".ipynb":
        return nbformat.reads(text, as_version=4)
    exts = _config().get("parse", {}).get("myst_enable_extensions", [])
    return read_myst_markdown_notebook(text, MdParserConfig(enable_extensions=set(exts)))


def is_notebook(path: Path) -> bool:
    if path.suffix == ".ipynb":
        return True
    head = path.read_text(encoding="utf-8")[:400]
    return head.startswith("---") and "kernelspec:" in head


def _execute(path_str: str, timeout: int) -> tuple[str, str | None, float, str | None]:
    """Worker: execute one notebook; returns (path, notebook JSON or None, seconds, traceback or None)."""
    for var in THREAD_VARS:
        os.environ[var] = "1"
    os.environ["TQDM_DISABLE"] = "1"
    os.environ["LOSSBOOK_PROGRESS"] = "0"
    import nbformat
    from jupyter_cache.executors.utils import single_nb_execution

    path = Path(path_str)
    nb = read_notebook(path)
    result = single_nb_execution(nb, cwd=str(path.parent), timeout=timeout, allow_errors=False, meta_override=True)
    if result.err is not None:
        return path_str, None, result.time, result.exc_string or repr(result.err)
    return path_str, nbformat.writes(nb), result.time, None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=int(os.environ.get("LOSSBOOK_BUILD_JOBS", "2")))
    ap.add_argument("--limit", type=float, default=float(os.environ.get("LOSSBOOK_CHAPTER_LIMIT", "150")),
                    help="hard limit on one page's execution time, seconds (the budget is 45 s alone)")
    args = ap.parse_args(argv)
    if args.jobs < 1:
        ap.error("--jobs must be at least 1")
    import nbformat
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    cfg = _config()
    cache = get_cache(str(ROOT / cfg["execute"]["cache"]))
    timeout = int(cfg["execute"].get("timeout", 300))
    todo = []
    for path in toc_sources():
        if not is_notebook(path):
            continue
        try:
            cache.match_cache_notebook(read_notebook(path))
        except KeyError:
            todo.append(path)
    if not todo:
        print("execute_all: every page is cached; nothing to execute")
        return 0
    print(f"execute_all: {len(todo)} page(s) to execute with {args.jobs} worker(s): "
          + ", ".join(p.stem for p in todo), flush=True)
    t0 = time.perf_counter()
    failures, slow = [], []
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(_execute, str(p), timeout) for p in todo]
        for fut in as_completed(futures):
            path_str, nb_json, secs, tb = fut.result()
            rel = Path(path_str).relative_to(ROOT)
            if tb is not None:
                failures.append((rel, tb))
                print(f"execute_all: FAILED {rel} after {secs:.1f} s", flush=True)
                continue
            flag = "" if secs <= args.limit else f"  > limit {args.limit:.0f} s (not cached)"
            if flag:
                slow.append((rel, secs))  # not cached, so it fails again until it is made faster
            else:
                cache.cache_notebook_bundle(
                    CacheBundleIn(nbformat.reads(nb_json, as_version=4), path_str, data={"execution_seconds": secs}),
                    check_validity=False, overwrite=True)
            print(f"execute_all: {secs:6.1f} s  {rel}{flag}", flush=True)
    print(f"execute_all: done in {time.perf_counter() - t0:.1f} s wall", flush=True)
    for rel, tb in failures:
        print(f"\n===== {rel} =====\n{tb}", file=sys.stderr)
    for rel, secs in slow:
        print(f"execute_all: {rel} took {secs:.1f} s, over the hard limit of {args.limit:.0f} s "
              "(budget: 45 s alone on 2 cores; see CONTRIBUTING.md)", file=sys.stderr)
    return 1 if failures or slow else 0


if __name__ == "__main__":
    sys.exit(main())
