"""The contract suite imports ``contracts_dsl`` from here; spec files are data, not tests."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

# the spec modules are loaded by test_contracts.py; never import them as test or doctest modules
collect_ignore_glob = ["specs/*.py"]
