"""Cubical persistence of a 2-D image by union-find, in dimensions 0 and 1.

Chapter ``book/physics/betti-matching``. The image's pixels are the top-dimensional cells (squares) of a
cubical complex; every edge and vertex carries the smallest value of the squares that contain it. This is the
convention of gudhi's ``CubicalComplex(top_dimensional_cells=...)`` (the "T-construction"): a sublevel set is a
union of closed squares, so it is 8-connected, and its holes are 4-connected sets of pixels above the level.

Dimension 0 is computed by adding the pixels in the total order (value, flat index) and merging 8-neighbours
with a union-find under the elder rule (:prf:ref:`bm-thm-dim0`). Dimension 1 uses Alexander duality
(:prf:ref:`bm-thm-dim1`): the pixels are added in the reverse order, 4-neighbours are merged, the border pixels
join one extra "outside" node, and a merge kills the component whose largest pixel is smaller.

The Numba kernel :func:`_sweep` is compiled on first use (``cache=True``); :func:`_sweep_reference` is a plain
Python edge-list implementation that the tests compare with it.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .._validate import check_array, check_size

__all__ = ["betti_numbers", "cubical_barcode", "persistence_pairs"]

_OFF8 = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))
_OFF4 = ((-1, 0), (0, -1), (0, 1), (1, 0))


@njit(cache=True)
def _find(parent, x):
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


@njit(cache=True)
def _sweep(order, rank_a, rank_b, rank_c, h, w, dual):
    """Add the pixels in ``order`` and merge neighbours; report, for every merge, the dying representative.

    Three rankings share one partition. Under each ranking a component's representative is its elder pixel:
    the smallest rank (``dual=False``, 8-neighbours) or the largest rank (``dual=True``, 4-neighbours plus an
    outside node ``h*w`` that every border pixel joins and that outranks every pixel). Returns ``(event,
    young_a, young_b, young_c)``: the pixel being added at each merge and the representative that stops being
    one under each ranking.
    """
    n = h * w
    parent = np.arange(n + 1)
    size = np.ones(n + 1, dtype=np.int64)
    rep_a = np.arange(n + 1)
    rep_b = np.arange(n + 1)
    rep_c = np.arange(n + 1)
    present = np.zeros(n + 1, dtype=np.bool_)
    present[n] = True
    ra = np.empty(n + 1, dtype=np.int64)
    rb = np.empty(n + 1, dtype=np.int64)
    rc = np.empty(n + 1, dtype=np.int64)
    ra[:n] = rank_a
    rb[:n] = rank_b
    rc[:n] = rank_c
    ra[n] = n
    rb[n] = n
    rc[n] = n
    sign = -1 if dual else 1  # elder = smaller sign * rank
    ev = np.empty(n + 1, dtype=np.int64)
    ya = np.empty(n + 1, dtype=np.int64)
    yb = np.empty(n + 1, dtype=np.int64)
    yc = np.empty(n + 1, dtype=np.int64)
    m = 0
    if dual:
        di = np.array([-1, 0, 0, 1])
        dj = np.array([0, -1, 1, 0])
    else:
        di = np.array([-1, -1, -1, 0, 0, 1, 1, 1])
        dj = np.array([-1, 0, 1, -1, 1, -1, 0, 1])
    for t in range(n):
        p = order[t]
        present[p] = True
        pi = p // w
        pj = p - pi * w
        k_nb = di.shape[0] + (1 if dual else 0)
        for k in range(k_nb):
            if k < di.shape[0]:
                qi = pi + di[k]
                qj = pj + dj[k]
                if qi < 0 or qi >= h or qj < 0 or qj >= w:
                    continue
                q = qi * w + qj
                if not present[q]:
                    continue
            else:
                if not (pi == 0 or pi == h - 1 or pj == 0 or pj == w - 1):
                    continue
                q = n
            r1 = _find(parent, p)
            r2 = _find(parent, q)
            if r1 == r2:
                continue
            a1 = rep_a[r1]
            a2 = rep_a[r2]
            b1 = rep_b[r1]
            b2 = rep_b[r2]
            c1 = rep_c[r1]
            c2 = rep_c[r2]
            ev[m] = p
            if sign * ra[a1] < sign * ra[a2]:
                ya[m] = a2
                na = a1
            else:
                ya[m] = a1
                na = a2
            if sign * rb[b1] < sign * rb[b2]:
                yb[m] = b2
                nb = b1
            else:
                yb[m] = b1
                nb = b2
            if sign * rc[c1] < sign * rc[c2]:
                yc[m] = c2
                nc = c1
            else:
                yc[m] = c1
                nc = c2
            m += 1
            if size[r1] < size[r2]:
                r1, r2 = r2, r1
            parent[r2] = r1
            size[r1] += size[r2]
            rep_a[r1] = na
            rep_b[r1] = nb
            rep_c[r1] = nc
    return ev[:m], ya[:m], yb[:m], yc[:m]


def _sweep_reference(order, rank_a, rank_b, rank_c, h, w, dual):
    """Plain-Python reference for :func:`_sweep`: an explicit sorted edge list and dictionary union-find."""
    n = h * w
    pos = np.empty(n, dtype=np.int64)
    pos[np.asarray(order)] = np.arange(n)
    edges = []
    offs = _OFF4 if dual else _OFF8
    for p in range(n):
        pi, pj = divmod(p, w)
        for di, dj in offs:
            qi, qj = pi + di, pj + dj
            if 0 <= qi < h and 0 <= qj < w:
                q = qi * w + qj
                later = p if pos[p] > pos[q] else q
                edges.append((int(pos[later]), 0 if (later == p) else 1, offs.index((di, dj)) if later == p
                              else offs.index((-di, -dj)), later, p if later == q else q))
        if dual and (pi in (0, h - 1) or pj in (0, w - 1)):
            edges.append((int(pos[p]), 0, len(offs), p, n))
    # the kernel visits a pixel's neighbours in the fixed offset order, then the outside node
    edges = sorted(set((t, k, a, b) for t, _, k, a, b in edges))
    ranks = [np.append(np.asarray(r, dtype=np.int64), n) for r in (rank_a, rank_b, rank_c)]
    sign = -1 if dual else 1
    parent = {}
    members = {}

    def root(x):
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    out = ([], [], [], [])
    for _, _, a, b in edges:
        r1, r2 = root(a), root(b)
        if r1 == r2:
            continue
        s1, s2 = members.get(r1, [r1]), members.get(r2, [r2])
        out[0].append(a)
        for z, rk in enumerate(ranks):
            e1 = min(s1, key=lambda v, rk=rk: sign * rk[v])
            e2 = min(s2, key=lambda v, rk=rk: sign * rk[v])
            out[z + 1].append(e2 if sign * rk[e1] < sign * rk[e2] else e1)
        parent[r2] = r1
        members[r1] = s1 + s2
        members.pop(r2, None)
    return tuple(np.asarray(o, dtype=np.int64) for o in out)


def _ranks(f):
    order = np.argsort(f, kind="stable")
    rank = np.empty(f.size, dtype=np.int64)
    rank[order] = np.arange(f.size)
    return order, rank


def _pairs_flat(f, h, w, dims=(0, 1)):
    """Pixel pairs of the sublevel filtration of the flat image ``f``: ``(pairs0, pairs1)``.

    ``pairs0`` rows are (birth pixel, death pixel), the essential class last with death pixel -1;
    ``pairs1`` rows are (birth pixel, death pixel). Only positive-length intervals are kept; a dimension
    not in ``dims`` is returned as None.
    """
    order, rank = _ranks(f)
    p0 = p1 = None
    if 0 in dims:
        ev, young, _, _ = _sweep(order, rank, rank, rank, h, w, False)
        keep = f[young] < f[ev]
        p0 = np.stack([young[keep], ev[keep]], axis=1)
        p0 = np.vstack([p0, [[order[0], -1]]]).astype(np.int64)
    if 1 in dims:
        ev, young, _, _ = _sweep(order[::-1].copy(), rank, rank, rank, h, w, True)
        keep = f[young] > f[ev]
        p1 = np.stack([ev[keep], young[keep]], axis=1).astype(np.int64)
    return p0, p1


def _check_image(image, name="image"):
    f = check_array(image, name, ndim=2, min_size=1)
    check_size(f.size, name, what="pixels")
    return f


def _check_flag(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def persistence_pairs(image, *, superlevel=False):
    """Critical pixels of the persistence pairs of a 2-D image, dimensions 0 and 1.

    Parameters
    ----------
    image : array_like, shape (h, w)
        Pixel values (finite), the top-dimensional cells of the cubical complex.
    superlevel : bool, default False
        Filter by superlevel sets (pairs of ``-image``).

    Returns
    -------
    tuple of ndarray
        ``(pairs0, pairs1)``, integer arrays of shape (k, 2) holding flat pixel indices (row-major) of the
        birth and death cells of each positive-length interval; the essential class of dimension 0 is the
        last row of ``pairs0``, with death index -1.

    Raises
    ------
    ValueError
        If ``image`` is not 2-D, is empty or holds NaN/inf.
    TypeError
        If ``superlevel`` is not a bool.

    Examples
    --------
    >>> p0, p1 = persistence_pairs([[0.0, 2.0, 1.0]])
    >>> p0.tolist()
    [[2, 1], [0, -1]]
    """
    f = _check_image(image)
    flat = (-f if _check_flag(superlevel, "superlevel") else f).ravel()
    return _pairs_flat(flat, f.shape[0], f.shape[1])


def cubical_barcode(image, dim, *, superlevel=False):
    """Persistence barcode of a 2-D image (gudhi's ``top_dimensional_cells`` convention), eqs. :eq:`bm-dims`.

    Parameters
    ----------
    image : array_like, shape (h, w)
        Pixel values (finite); pixels are the squares of the cubical complex and lower cells take the minimum
        (sublevel) or maximum (superlevel) of the squares around them.
    dim : {0, 1}
        Homological dimension.
    superlevel : bool, default False
        Use the superlevel filtration: intervals then have birth >= death and the essential class of
        dimension 0 dies at ``-inf``.

    Returns
    -------
    ndarray, shape (k, 2)
        Rows (birth, death), zero-length intervals omitted, sorted by birth then death; the essential class
        of dimension 0 has death ``+inf`` (``-inf`` for ``superlevel=True``). Dimension 1 has no essential
        class.

    Raises
    ------
    ValueError
        If ``image`` is not 2-D, empty or not finite, or ``dim`` is not 0 or 1.
    TypeError
        If ``superlevel`` is not a bool.

    Examples
    --------
    >>> img = [[0.0, 0.0, 0.0], [0.0, 5.0, 0.0], [0.0, 0.0, 0.0]]
    >>> cubical_barcode(img, 1).tolist()
    [[0.0, 5.0]]
    >>> cubical_barcode(img, 0, superlevel=True).tolist()
    [[5.0, -inf]]
    """
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or int(dim) not in (0, 1):
        raise ValueError(f"dim must be 0 or 1, got {dim!r}")
    f = _check_image(image)
    superlevel = _check_flag(superlevel, "superlevel")
    flat = (-f if superlevel else f).ravel()
    pairs = _pairs_flat(flat, f.shape[0], f.shape[1], (int(dim),))[int(dim)]
    birth = flat[pairs[:, 0]]
    death = np.where(pairs[:, 1] >= 0, flat[np.maximum(pairs[:, 1], 0)], np.inf)
    out = np.stack([birth, death], axis=1) if pairs.size else np.zeros((0, 2))
    if superlevel:
        out = -out
    idx = np.lexsort((out[:, 1], out[:, 0]))
    return out[idx] + 0.0  # + 0.0 turns -0.0 into 0.0


def betti_numbers(mask):
    """Betti numbers (components, holes) of the foreground of a binary mask.

    The foreground is 8-connected and its holes 4-connected (the convention of :func:`cubical_barcode`).

    Parameters
    ----------
    mask : array_like of bool or {0, 1}, shape (h, w)
        The mask; non-zero entries are foreground.

    Returns
    -------
    ndarray of int, shape (2,)
        ``(beta_0, beta_1)``.

    Raises
    ------
    ValueError
        If ``mask`` is not 2-D, empty, or holds values other than 0 and 1.

    Examples
    --------
    >>> betti_numbers([[1, 1, 1], [1, 0, 1], [1, 1, 1]]).tolist()
    [1, 1]
    """
    m = _check_mask(mask, "mask")
    out = np.zeros(2, dtype=np.int64)
    if not m.any():
        return out
    for d in (0, 1):
        bars = cubical_barcode(m, d, superlevel=True)
        out[d] = int(np.sum((bars[:, 0] >= 0.5) & (bars[:, 1] < 0.5)))
    return out


def _check_mask(mask, name):
    m = check_array(mask, name, ndim=2, min_size=1)
    check_size(m.size, name, what="pixels")
    if not np.all((m == 0) | (m == 1)):
        raise ValueError(f"{name} must be a binary mask (entries 0 or 1, or bool)")
    return m
