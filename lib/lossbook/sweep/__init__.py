"""Parameter sweeps that can outgrow one machine.

A sweep is a grid of parameters times a list of seeds, and one *pure* function evaluated at every
point. :func:`run_sweep` evaluates the points that are not yet in its result file, on one of three
backends, and returns a tidy :class:`pandas.DataFrame`: one row per (point, seed), the point's
parameters, the seed, the function's results and the provenance of the row.

Backends (argument ``backend`` or the environment variable ``LOSSBOOK_SWEEP_BACKEND``):

``"serial"`` (default)
    In this process, one point after the other.
``"processes"``
    Local worker processes through joblib's ``loky`` backend.
``"dask"``
    A Dask cluster through :mod:`dask.distributed`: the scheduler at ``address`` (or
    ``LOSSBOOK_SWEEP_ADDRESS``, e.g. ``tcp://10.0.0.5:8786``), or a ``LocalCluster`` on loopback that
    the sweep starts and stops when no address is given.

The results do not depend on the backend, bit for bit: the function receives the grid point and
the grid's seed, never anything about the worker, and the table is sorted in grid order. Finished
points are written to disk as they arrive (one small Parquet part each, then merged into the
result file), so a crash loses only the points that were running, and running the same sweep again
skips every point already in the file (resuming).

The chapter on adversarial MDPs runs its regret-slope study through this module
(:doc:`/book/feedback/adversarial-mdp-regret`); :doc:`/book/sweeps` shows how to run it on a cluster.
"""

from lossbook.sweep.runner import (
    BACKENDS,
    PROVENANCE_COLUMNS,
    SweepError,
    git_commit,
    grid_points,
    load_sweep,
    run_sweep,
    study_key,
)

__all__ = [
    "BACKENDS",
    "PROVENANCE_COLUMNS",
    "SweepError",
    "git_commit",
    "grid_points",
    "load_sweep",
    "run_sweep",
    "study_key",
]
