"""Factor weights by the OECD/JRC Handbook: principal components, varimax, squared loadings.

``weighting: pca_rotated`` follows the Handbook on Constructing Composite Indicators
(OECD/JRC 2008, section 6.1, the worked example of its table 6.6), on the correlation
matrix of a group's members over the units of a period (complete cases):

1. keep the leading principal components whose eigenvalue is above 1 and that each
   explain more than 10 % of the variance (at least the first one);
2. rotate their loadings (eigenvector × √eigenvalue) by varimax, with Kaiser's
   normalisation (as R's ``stats::varimax``), to a relative change of the criterion below
   1e-12 (R stops at 1e-5);
3. square the rotated loadings and scale each factor's column to sum 1;
4. give each member to the factor on which its scaled squared loading is largest, with
   that scaled squared loading as its weight within the factor;
5. weight each factor by its share of the variance the retained factors explain after
   rotation (the column sums of the squared rotated loadings);
6. a member's weight is its weight within its factor times its factor's weight; the
   weights are then divided by their sum.

With a single retained component this is ``weighting: pca`` (the squared loadings of the
first component). Signs of loadings do not matter: they are squared.
"""

from __future__ import annotations

import numpy as np

__all__ = ["RELATIVE_TOLERANCE", "handbook_weights", "retained", "varimax"]

RELATIVE_TOLERANCE = 1e-12
MAX_ITERATIONS = 1000


def varimax(loadings: np.ndarray) -> np.ndarray:
    """The varimax rotation of `loadings` (members × factors), Kaiser-normalised.

    >>> rotated = varimax(np.array([[0.8, 0.3], [0.7, 0.4], [0.3, 0.8], [0.2, 0.9]]))
    >>> np.allclose((rotated**2).sum(axis=1), [0.73, 0.65, 0.73, 0.85])  # communalities kept
    True
    """
    p, k = loadings.shape
    if k < 2:
        return loadings.copy()
    norms = np.sqrt((loadings**2).sum(axis=1))
    norms[norms == 0] = 1.0
    x = loadings / norms[:, None]
    rotation = np.eye(k)
    criterion = 0.0
    for _ in range(MAX_ITERATIONS):
        z = x @ rotation
        b = x.T @ (z**3 - z @ np.diag((z**2).sum(axis=0)) / p)
        u, s, vt = np.linalg.svd(b)
        rotation = u @ vt
        previous, criterion = criterion, float(s.sum())
        if criterion < previous * (1 + RELATIVE_TOLERANCE):
            break
    rotated: np.ndarray = (x @ rotation) * norms[:, None]
    return rotated


def retained(eigenvalues: np.ndarray) -> int:
    """How many leading components the Handbook keeps: eigenvalue > 1 and more than 10 %
    of the variance each (eigenvalues sorted in decreasing order); at least one."""
    share = eigenvalues / eigenvalues.sum()
    k = 0
    while k < len(eigenvalues) and eigenvalues[k] > 1 and share[k] > 0.10:
        k += 1
    return max(k, 1)


def handbook_weights(values: np.ndarray) -> list[float]:
    """The Handbook's factor weights of the columns of `values` (rows: units; no missing
    value), adding up to 1."""
    corr = np.corrcoef(values, rowvar=False)
    eigenvalues, eigenvectors = np.linalg.eigh(corr)
    order = np.argsort(eigenvalues)[::-1]
    eigenvalues, eigenvectors = eigenvalues[order], eigenvectors[:, order]
    k = retained(eigenvalues)
    loadings = eigenvectors[:, :k] * np.sqrt(eigenvalues[:k])
    squared = varimax(loadings) ** 2
    scaled = squared / squared.sum(axis=0)
    factor_weight = squared.sum(axis=0) / squared.sum()
    home = np.argmax(scaled, axis=1)
    raw = scaled[np.arange(len(home)), home] * factor_weight[home]
    return [float(w) for w in raw / raw.sum()]
