"""``python -m lossbook.regret.cli``: run or cost the regret-slope study (see :mod:`lossbook.regret.study`)."""

import sys

from lossbook.regret.study import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
