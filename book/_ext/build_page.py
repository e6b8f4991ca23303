"""Build one chapter as a tiny strict book (notation, the chapter, references), isolated from the full build.

    python book/_ext/build_page.py book/<part>/<slug>.md

Writes a private table of contents and execution cache under ``_build/page-<slug>/`` so that
several chapters can be checked at once without sharing a cache; fails on any Sphinx warning.
Used while writing a chapter (``make page CH=...``); the real site is ``make book``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def main(chapter: str) -> int:
    ch = Path(chapter)
    slug = ch.stem
    out = ROOT / "_build" / f"page-{slug}"
    out.mkdir(parents=True, exist_ok=True)
    # The chapter sits in a numbered part, as in the book, so it shows Fig. 1.2, (1.7), Theorem 1.1
    # (the root document of a book is never numbered) and the numbering site check applies to it.
    toc = {"format": "jb-book", "root": "book/notation",
           "parts": [{"caption": "Chapter", "numbered": True, "chapters": [{"file": str(ch.with_suffix(""))}]},
                     {"caption": "Back", "numbered": False, "chapters": [{"file": "book/references"}]}]}
    (out / "_toc.yml").write_text(yaml.safe_dump(toc))
    cfg = yaml.safe_load((ROOT / "_config.yml").read_text())
    cfg["execute"]["cache"] = str(out / ".jupyter_cache")
    ext = str(ROOT / "book" / "_ext")
    cfg["sphinx"]["local_extensions"] = {name: ext for name in cfg["sphinx"]["local_extensions"]}
    (out / "_config.yml").write_text(yaml.safe_dump(cfg))
    cmd = [str(ROOT / ".venv" / "bin" / "jupyter-book"), "build", str(ROOT), "--toc", str(out / "_toc.yml"),
           "--config", str(out / "_config.yml"), "--path-output", str(out), "-W", "--keep-going"]
    rc = subprocess.call(cmd, cwd=ROOT)
    print(f"page build {'OK' if rc == 0 else 'FAILED'}: {out / '_build' / 'html' / ch.with_suffix('.html')}")
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
