"""Shared pytest configuration.

Hypothesis runs derandomized (a fixed seed per test), so the suite is reproducible run to run
like everything else in the book; deadlines are off because timings on a shared 2-core machine
say nothing about correctness.
"""

from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[1]

settings.register_profile(
    "lossbook", derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile("lossbook")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


# --- the robustness contract (tests/contracts): cases tried per subpackage, printed at the end --------
# Counts live in the contracts_dsl module of each process; xdist workers send theirs to the controller.

def _contract_counts() -> dict:
    import sys

    mod = sys.modules.get("contracts_dsl")
    return {k: dict(v) for k, v in mod.COUNTS.items()} if mod is not None else {}


def pytest_sessionfinish(session):
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["lossbook_contract_counts"] = _contract_counts()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    merged = node.config.stash.setdefault(_COUNTS_KEY, {})
    for sub, counts in getattr(node, "workeroutput", {}).get("lossbook_contract_counts", {}).items():
        for kind, n in counts.items():
            merged.setdefault(sub, {}).setdefault(kind, 0)
            merged[sub][kind] += n


_COUNTS_KEY = pytest.StashKey[dict]()


def pytest_terminal_summary(terminalreporter, config):
    counts = config.stash.get(_COUNTS_KEY, None) or _contract_counts()
    if not counts:
        return
    tr = terminalreporter
    tr.section("robustness contract: cases tried per subpackage")
    tr.write_line(f"{'subpackage':<14}{'names':>7}{'valid':>9}{'invalid':>9}{'total':>9}")
    tot = {"names": 0, "valid": 0, "invalid": 0}
    for sub in sorted(counts):
        c = counts[sub]
        row = {k: c.get(k, 0) for k in tot}
        tr.write_line(f"{sub:<14}{row['names']:>7}{row['valid']:>9}{row['invalid']:>9}"
                      f"{row['valid'] + row['invalid']:>9}")
        for k in tot:
            tot[k] += row[k]
    tr.write_line(f"{'all':<14}{tot['names']:>7}{tot['valid']:>9}{tot['invalid']:>9}"
                  f"{tot['valid'] + tot['invalid']:>9}")
