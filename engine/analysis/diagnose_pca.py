"""Principal components of each group's members, per period: COINr's ``get_PCA``.

The members are standardised (each centred and divided by its sample SD) over the units
where every member is present (complete cases, as COINr), so the components are the
eigenvectors of the members' correlation matrix (R's ``prcomp(scale. = TRUE)``).
Per group and component: the ``eigenvalue``, its ``variance_share`` of the total (k, the
number of members) and the ``cumulative_share``; per member: its ``loading`` (the
eigenvector's entry; an eigenvector's sign is arbitrary, so each is turned to have a
positive sum) and its PCA-based ``weight``: the squared loading on the first component
(they add up to 1), the weights ``weighting: pca`` gives a group. ``n`` is the number of
complete cases; a group needs two members and three complete cases.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import polars as pl

COLUMNS = (
    "component",
    "eigenvalue",
    "variance_share",
    "cumulative_share",
    "member",
    "loading",
    "weight",
    "n",
)


def components(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (descending) and unit eigenvectors (columns) of the correlation matrix
    of `values` (rows are units), each eigenvector with a positive sum.

    >>> vals, vecs = components(np.array([[1.0, 2.0], [2.0, 4.5], [3.0, 5.0]]))
    >>> round(float(vals.sum()), 12)
    2.0
    """
    corr = np.corrcoef(values, rowvar=False)
    eigenvalues, eigenvectors = np.linalg.eigh(corr)
    order = np.argsort(eigenvalues)[::-1]
    eigenvalues, eigenvectors = eigenvalues[order], eigenvectors[:, order]
    signs = np.where(eigenvectors.sum(axis=0) < 0, -1.0, 1.0)
    return eigenvalues, eigenvectors * signs


def pca(
    data: pl.DataFrame, members: Mapping[str, tuple[str, ...]], period: str | None
) -> pl.DataFrame:
    """One row per group, (period,) component and member, ``group`` first."""
    by = [period] if period else []
    parts = data.partition_by(by, as_dict=True, maintain_order=True) if by else {(): data}
    rows: dict[str, list[object]] = {c: [] for c in ("group", *by, *COLUMNS)}
    for g, mem in members.items():
        if len(mem) < 2:
            continue
        for key, part in sorted(parts.items(), key=lambda kv: kv[0]):
            values = part.select(mem).drop_nulls().to_numpy().astype(float)
            if values.shape[0] < 3 or np.any(values.std(axis=0) == 0):
                continue
            eigenvalues, vectors = components(values)
            shares = eigenvalues / eigenvalues.sum()
            weights = vectors[:, 0] ** 2
            for j in range(len(mem)):
                for i, member in enumerate(mem):
                    rows["group"].append(g)
                    if by:
                        rows[by[0]].append(key[0])
                    rows["component"].append(j + 1)
                    rows["eigenvalue"].append(float(eigenvalues[j]))
                    rows["variance_share"].append(float(shares[j]))
                    rows["cumulative_share"].append(float(shares[: j + 1].sum()))
                    rows["member"].append(member)
                    rows["loading"].append(float(vectors[i, j]))
                    rows["weight"].append(float(weights[i]))
                    rows["n"].append(values.shape[0])
    schema: dict[str, pl.DataType | type[pl.DataType]] = {
        "group": pl.String,
        **{p: data.schema[p] for p in by},
        "component": pl.Int64,
        "eigenvalue": pl.Float64,
        "variance_share": pl.Float64,
        "cumulative_share": pl.Float64,
        "member": pl.String,
        "loading": pl.Float64,
        "weight": pl.Float64,
        "n": pl.Int64,
    }
    return pl.DataFrame(rows, schema=schema)
