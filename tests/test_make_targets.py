"""Makefile targets a reader uses outside the site: `make help` and `make lab`."""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _rule_names() -> list[str]:
    names = []
    for line in (ROOT / "Makefile").read_text().splitlines():
        m = re.match(r"^([A-Za-z][\w-]*)\s*:(?!=)", line)  # a rule, not a ":=" assignment
        if m and m.group(1) not in names:
            names.append(m.group(1))
    return names


def test_make_help_lists_every_target():
    out = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    listed = {m.group(1) for m in re.finditer(r"^make (\S+)\s+\S", out.stdout, flags=re.M)}
    rules = _rule_names()
    assert {"book", "test", "notebooks", "lab", "chapter"} <= set(rules)
    missing = [r for r in rules if r not in listed]
    assert not missing, f"targets without a '## description' on their rule line: {missing}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_make_lab_serves_the_chapters_as_notebooks():
    if not (ROOT / ".venv" / "bin" / "jupyter-lab").exists():
        pytest.skip("no .venv with JupyterLab (make venv)")
    port, token = _free_port(), secrets.token_hex(8)
    args = f"--no-browser --port={port} --IdentityProvider.token={token} --ServerApp.port_retries=0"
    env = {**os.environ, "LAB_ARGS": args}
    # a process group of our own, so that stopping it stops make, jupyter and its kernels
    proc = subprocess.Popen(["make", "-s", "lab"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"

    def get(path):
        req = urllib.request.Request(base + path, headers={"Authorization": f"token {token}"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read()

    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                status, _ = get("/api/status")
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    out = proc.stdout.read().decode(errors="replace") if proc.poll() is not None else ""
                    pytest.fail(f"JupyterLab did not start: {out[-2000:]}")
                time.sleep(0.5)
        assert status == 200
        status, body = get("/lab")
        assert status == 200 and b"JupyterLab" in body
        # jupytext serves a chapter's MyST source as a notebook ...
        _, body = get("/api/contents/book/consistency/comp-sum-h-consistency.md?type=notebook&content=1")
        content = json.loads(body)["content"]
        assert content["nbformat"] == 4 and any(c["cell_type"] == "code" for c in content["cells"])
        # ... and double-clicking a .md file opens it as one
        _, body = get("/lab/api/settings/@jupyterlab/docmanager-extension:plugin")
        viewers = json.loads(body)["schema"]["properties"]["defaultViewers"]["default"]
        assert viewers.get("markdown") == "Jupytext Notebook", viewers
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
