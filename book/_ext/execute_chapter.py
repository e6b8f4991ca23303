"""Execute one MyST chapter outside the book build and report errors and wall time.

    python book/_ext/execute_chapter.py book/<part>/<slug>.md

Used while writing a chapter (``make chapter CH=...``); the book build itself executes through
jupyter-cache. Exits non-zero on the first cell error, printing the traceback.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import jupytext
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError


def main(path: str) -> int:
    src = Path(path)
    nb = jupytext.read(src)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(src.parent)}})
    t0 = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as exc:
        print(exc)
        print(f"FAILED after {time.perf_counter() - t0:.1f} s")
        return 1
    print(f"OK: {src} executed in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
