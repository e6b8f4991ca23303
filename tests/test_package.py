"""Package hygiene: cheap import, lazy and cached Numba kernels, ``__all__`` everywhere,
and kernels that still work when the installed package directory is read-only."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "lib" / "lossbook"
SUBPACKAGES = sorted(p.name for p in PKG.iterdir() if (p / "__init__.py").exists())


def _run(code: str, env: dict | None = None, cmd_prefix: list[str] | None = None) -> str:
    full_env = {**os.environ, **(env or {})}
    out = subprocess.run((cmd_prefix or []) + [sys.executable, "-c", code], capture_output=True, text=True,
                         env=full_env, timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_import_lossbook_pulls_in_no_heavy_dependency():
    # The budget is 0.3 s for `import lossbook`; it holds because nothing heavy is imported. This is
    # checked structurally rather than by timing (timings belong in benchmarks, not tests).
    mods = json.loads(_run("import sys, json, lossbook; print(json.dumps(sorted(sys.modules)))"))
    for heavy in ("numpy", "scipy", "numba", "torch", "matplotlib", "sympy"):
        assert heavy not in mods, f"import lossbook imports {heavy}"


def test_lazy_subpackage_attribute():
    assert _run("import lossbook; print(lossbook.losses.__name__)").strip() == "lossbook.losses"


@pytest.mark.parametrize("sub", SUBPACKAGES)
def test_numba_kernels_are_cached_and_not_compiled_at_import(sub):
    code = f"""
import importlib, pkgutil, json
import numba.core.registry as reg
from numba.core.caching import NullCache
pkg = importlib.import_module("lossbook.{sub}")
mods = [pkg] + [importlib.import_module(m.name) for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + ".")]
bad = []
for mod in mods:
    for name, obj in vars(mod).items():
        if isinstance(obj, reg.CPUDispatcher) and obj.__module__ == mod.__name__:
            if obj.signatures:
                bad.append(f"{{mod.__name__}}.{{name}} compiled at import")
            if isinstance(obj._cache, NullCache):
                bad.append(f"{{mod.__name__}}.{{name}} lacks cache=True")
print(json.dumps(bad))
"""
    assert json.loads(_run(code)) == []


@pytest.mark.parametrize("sub", SUBPACKAGES)
def test_every_module_declares_all(sub):
    for path in (PKG / sub).rglob("*.py"):
        text = path.read_text()
        if path.name.startswith("_") and path.name != "__init__.py":
            continue
        assert "__all__" in text, f"{path.relative_to(ROOT)} has no __all__"


def test_numba_cache_works_with_read_only_package(tmp_path):
    pkg_copy = tmp_path / "site"
    shutil.copytree(PKG, pkg_copy / "lossbook", ignore=shutil.ignore_patterns("__pycache__"))
    home = tmp_path / "home"
    home.mkdir()
    code = (
        "import numpy as np, lossbook; from lossbook.losses import logsumexp_rows; "
        f"assert lossbook.__file__.startswith({str(pkg_copy)!r}); print(logsumexp_rows(np.zeros((2, 4)))[0])"
    )
    env = {"PYTHONPATH": str(pkg_copy), "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache")}
    env.pop("NUMBA_CACHE_DIR", None)
    os.environ.pop("NUMBA_CACHE_DIR", None)
    if os.geteuid() == 0:
        # root ignores file modes, so make the copy truly read-only with a private read-only bind mount
        if shutil.which("unshare") is None:
            pytest.fail("running as root needs `unshare` (util-linux) to mount the package read-only")
        script = f"mount --bind -o ro {pkg_copy} {pkg_copy} && exec \"$@\""
        prefix = ["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh"]
    else:
        for p in pkg_copy.rglob("*"):
            p.chmod(p.stat().st_mode & ~0o222)
        pkg_copy.chmod(0o555)
        prefix = None
    for _ in range(2):  # the second run loads the kernel from the user-wide cache
        out = _run(code, env=env, cmd_prefix=prefix)
        assert abs(float(out) - __import__("math").log(4.0)) < 1e-12
    assert not list(pkg_copy.rglob("__pycache__")), "something was written into the read-only package"
    assert list((home / ".cache").rglob("*.nbi")), "numba did not fall back to the user-wide cache"
