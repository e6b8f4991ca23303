"""The package as released: wheel contents, metadata, optional PyTorch, the notebooks extra, Binder.

The wheel is built from a copy of the sources (nothing is written into the checkout) with the
environment's setuptools, which must satisfy ``build-system.requires``.
"""

from __future__ import annotations

import ast
import email.parser
import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "lib" / "lossbook"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
REPO_URL = CONFIG["repository"]["url"]
CORE = {"numpy", "scipy", "numba"}


def _version() -> str:
    tree = ast.parse((PKG / "__init__.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__version__" for t in node.targets):
            return node.value.value
    raise AssertionError("lossbook/__init__.py defines no __version__")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "lib", src / "lib", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    out = tmp_path_factory.mktemp("dist")
    res = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                          "-w", str(out), str(src)], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    (whl,) = out.glob("lossbook-*.whl")
    return whl


def _metadata(whl: Path):
    with zipfile.ZipFile(whl) as z:
        name = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        return email.parser.Parser().parsestr(z.read(name).decode())


def test_build_backend_accepts_the_license_expression():
    build = PYPROJECT["build-system"]
    reqs = [Requirement(r) for r in build["requires"]]
    setuptools = next(r for r in reqs if r.name == "setuptools")
    assert setuptools.specifier.contains("77") and not setuptools.specifier.contains("76.9"), setuptools
    assert Version(importlib.metadata.version("setuptools")) in setuptools.specifier
    assert PYPROJECT["project"]["license"] == "MIT"


def test_version_is_defined_once():
    project = PYPROJECT["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "lossbook.__version__"}
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff.get("version", _version()) == _version()
    changelog = (ROOT / "CHANGELOG.md").read_text()
    first = re.search(r"^## \[([^\]]+)\]", changelog, flags=re.M)
    assert first and first.group(1) in (_version(), "Unreleased"), "CHANGELOG's newest heading names another version"
    assert f"## [{_version()}]" in changelog


def test_wheel_holds_only_the_package(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
    dist_info = f"lossbook-{_version()}.dist-info/"
    package = {n for n in names if n.startswith("lossbook/")}
    meta = {n for n in names if n.startswith(dist_info)}
    assert set(names) == package | meta, f"unexpected files: {set(names) - package - meta}"
    sources = {"lossbook/" + p.relative_to(PKG).as_posix() for p in PKG.rglob("*.py") if "__pycache__" not in p.parts}
    assert package == sources | {"lossbook/py.typed"}
    assert {n[len(dist_info):] for n in meta} == {"METADATA", "WHEEL", "RECORD", "top_level.txt", "licenses/LICENSE"}


def test_wheel_metadata(wheel):
    meta = _metadata(wheel)
    assert meta["Name"] == "lossbook" and meta["Version"] == _version()
    assert meta["License-Expression"] == "MIT" and meta.get_all("License-File") == ["LICENSE"]
    assert meta["Requires-Python"] == ">=3.11"
    assert meta["Author"] or meta["Author-email"]
    assert "Typing :: Typed" in meta.get_all("Classifier")
    assert not [c for c in meta.get_all("Classifier") if c.startswith("License ::")], "use License-Expression only"
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL"))
    assert urls["Source"] == REPO_URL
    reqs = [Requirement(r) for r in meta.get_all("Requires-Dist")]
    core = {canonicalize_name(r.name) for r in reqs if r.marker is None}
    assert core == CORE, f"`pip install lossbook` would pull {core}"
    torch = [r for r in reqs if r.name == "torch"]
    assert torch and all(not any(s.operator == "==" for s in r.specifier) for r in torch), torch
    assert all(r.specifier.contains("2.2") and not r.specifier.contains("3.0") for r in torch)
    pinned = _constraints()["torch"]
    assert all(r.specifier.contains(pinned) for r in torch), f"constraints.txt's torch {pinned} is outside the range"


@pytest.mark.slow
def test_pip_install_pulls_only_numpy_scipy_numba(wheel):
    # resolve `pip install <wheel>` as in an empty environment (--ignore-installed), without installing
    res = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
                          "--report", "-", str(wheel)], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    names = {canonicalize_name(item["metadata"]["name"]) for item in json.loads(res.stdout)["install"]}
    assert names - {"lossbook"} <= CORE | {"llvmlite"}, names  # llvmlite: numba's own dependency
    assert CORE <= names


def _constraints() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-\[\]]+)==([^\s;#]+)", line.strip())
        if m:
            pins[canonicalize_name(m.group(1).split("[")[0])] = m.group(2)
    return pins


def test_every_extra_requirement_is_pinned_in_constraints():
    pins = _constraints()
    extras = PYPROJECT["project"]["optional-dependencies"]
    unpinned = sorted({Requirement(r).name for reqs in extras.values() for r in reqs
                       if canonicalize_name(Requirement(r).name) not in pins})
    assert not unpinned, f"add exact versions to constraints.txt for {unpinned}"
    outside = [(r, pins[canonicalize_name(Requirement(r).name)]) for reqs in extras.values() for r in reqs
               if not Requirement(r).specifier.contains(pins[canonicalize_name(Requirement(r).name)])]
    assert not outside, f"pins outside the declared ranges: {outside}"


# ---- PyTorch is optional --------------------------------------------------------------------------

def _torch_imports() -> list[str]:
    found = []
    for path in PKG.rglob("*.py"):
        if path.name == "_torch.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
            if any(n == "torch" or n.startswith("torch.") for n in names):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def _torch_functions() -> list[tuple[str, str]]:
    """Public functions of the package that call require_torch() (module, name)."""
    out = []
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG.parent).with_suffix("")
        if any(part.startswith("_") and part != "__init__" for part in rel.parts):
            continue
        module = ".".join(rel.parts).removesuffix(".__init__")
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_") and any(
                    isinstance(n, ast.Call) and getattr(n.func, "id", None) == "require_torch" for n in ast.walk(node)):
                out.append((module, node.name))
    return out


def test_torch_is_imported_only_through_the_helper():
    assert _torch_imports() == [], "import torch through lossbook._torch.require_torch() (one message when missing)"
    assert len(_torch_functions()) >= 3


def test_functions_that_need_torch_say_how_to_install_it():
    calls = "\n".join(
        f"""
import inspect, {module}
f = {module}.{name}
args = [None for p in inspect.signature(f).parameters.values()
        if p.default is p.empty and p.kind == p.POSITIONAL_OR_KEYWORD]
kwargs = {{p.name: None for p in inspect.signature(f).parameters.values()
          if p.default is p.empty and p.kind == p.KEYWORD_ONLY}}
try:
    result = f(*args, **kwargs)
    if hasattr(result, "__enter__"):  # a @contextmanager runs its body on entry
        result.__enter__()
except ImportError as exc:
    assert "pip install lossbook[torch]" in str(exc), str(exc)
    print("ok {module}.{name}")
else:
    raise AssertionError("{module}.{name} ran without torch")
""" for module, name in _torch_functions())
    code = "import sys\nsys.modules['torch'] = None  # as if PyTorch were not installed\n" + calls
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert res.stdout.count("ok ") == len(_torch_functions())


# ---- The notebooks extra runs every chapter -------------------------------------------------------

def _chapter_imports() -> dict[str, set[str]]:
    """Top-level modules imported by the code cells of each page of the book (stdlib excluded)."""
    import jupytext

    out = {}
    for path in sorted((ROOT / "book").rglob("*.md")):
        if path.parts[len(ROOT.parts) + 1].startswith("_"):
            continue
        nb = jupytext.read(path)
        mods = set()
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            src = "\n".join(line for line in cell.source.split("\n") if not line.lstrip().startswith(("%", "!")))
            for node in ast.walk(ast.parse(src)):
                if isinstance(node, ast.Import):
                    mods |= {a.name.split(".")[0] for a in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0:
                    mods.add(node.module.split(".")[0])
        out[str(path.relative_to(ROOT))] = {m for m in mods if m not in sys.stdlib_module_names}
    return out


def _closure(requirements: list[str]) -> set[str]:
    """Distributions that installing ``requirements`` brings, following installed metadata."""
    seen: set[str] = set()
    todo = [(Requirement(r), frozenset(Requirement(r).extras)) for r in requirements]
    while todo:
        req, extras = todo.pop()
        name = canonicalize_name(req.name)
        key = name + "[" + ",".join(sorted(extras)) + "]"
        if key in seen:
            continue
        seen.add(key)
        seen.add(name)
        try:
            deps = importlib.metadata.requires(name) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        for dep in deps:
            r = Requirement(dep)
            envs = [{"extra": e} for e in extras] or [{"extra": ""}]
            if r.marker is None or any(r.marker.evaluate(env) for env in envs):
                todo.append((r, frozenset(r.extras)))
    return {s for s in seen if "[" not in s}


def test_notebooks_extra_covers_every_chapter_import():
    project = PYPROJECT["project"]
    provided = _closure(project["dependencies"] + project["optional-dependencies"]["notebooks"])
    provided.add("lossbook")
    dists = importlib.metadata.packages_distributions()
    missing = {}
    for page, mods in _chapter_imports().items():
        for mod in sorted(mods):
            names = {canonicalize_name(d) for d in dists.get(mod, [])} or {f"<no distribution provides {mod!r}>"}
            if not names & provided:
                missing.setdefault(page, []).append(f"{mod} ({', '.join(sorted(names))})")
    assert not missing, f"imports that `pip install lossbook[notebooks]` does not provide: {missing}"


# ---- Binder: reading, not testing -----------------------------------------------------------------

def test_binder_environment_installs_the_notebooks_extra_and_no_test_tools():
    env = yaml.safe_load((ROOT / "binder" / "environment.yml").read_text())
    post = (ROOT / "binder" / "postBuild").read_text()
    assert (ROOT / "binder" / "postBuild").stat().st_mode & 0o111, "postBuild must be executable"
    assert re.findall(r'"\.\[([^\]]+)\]"', post) == ["notebooks"]
    assert "-c constraints.txt" in post
    assert "nbgitpuller" in env["dependencies"]  # the launch buttons pull the published notebooks
    extras = PYPROJECT["project"]["optional-dependencies"]
    test_tools = {canonicalize_name(Requirement(r).name) for r in extras["test"]}
    notebooks = {canonicalize_name(Requirement(r).name) for r in extras["notebooks"]}
    binder_text = json.dumps(env) + post
    for tool in test_tools - notebooks:
        assert not re.search(rf"\b{re.escape(tool)}\b", binder_text), f"binder/ installs the test tool {tool}"
    overrides = json.loads((ROOT / "binder" / "overrides.json").read_text())
    viewers = overrides["@jupyterlab/docmanager-extension:plugin"]["defaultViewers"]
    assert viewers["markdown"] == "Jupytext Notebook"
