"""Descriptive statistics of each variable, per period: COINr's ``get_stats``.

Definitions (so that users can compare with COINr and Excel):

* ``n``: present values; ``available``: n / units in the period; ``zeros``: values equal
  to 0; ``unique``: distinct present values;
* ``sd``: the sample standard deviation (n - 1 in the denominator);
* ``skewness``: the adjusted Fisher-Pearson coefficient G1 (COINr's ``skew``, e1071
  type 2, Excel's ``SKEW``), undefined below 3 values;
* ``kurtosis``: the excess kurtosis G2 (COINr's ``kurt``, e1071 type 2, Excel's
  ``KURT``), undefined below 4 values;
* ``outlier``: |skewness| > 2 and kurtosis > 3.5 (COINr's ``Flag.SkewKurt``, the
  thresholds of its default treatment).

Missing values are skipped by every statistic.
"""

from __future__ import annotations

import polars as pl

#: COINr's thresholds for the outlier flag
SKEW_LIMIT = 2.0
KURTOSIS_LIMIT = 3.5


def long_form(data: pl.DataFrame, variables: tuple[str, ...], period: str | None) -> pl.DataFrame:
    """One row per unit, period and variable: ``name``, (period), ``value``."""
    index = [period] if period else []
    return data.select(*index, *variables).unpivot(
        index=index, on=list(variables), variable_name="name", value_name="value"
    )


def statistics(data: pl.DataFrame, variables: tuple[str, ...], period: str | None) -> pl.DataFrame:
    """One row per variable (and period), ``name`` first, in the order of `variables`.

    >>> frame = pl.DataFrame({"a": [1.0, 2.0, 3.0, 10.0]})
    >>> statistics(frame, ("a",), None)["sd"].round(4).to_list()
    [4.0825]
    """
    by = ["name", *([period] if period else [])]
    x = pl.col("value")
    n = x.count()
    order = {v: i for i, v in enumerate(variables)}
    out = (
        long_form(data, variables, period)
        .group_by(by, maintain_order=True)
        .agg(
            n.alias("n"),
            (n / pl.len()).alias("available"),
            (x == 0).sum().alias("zeros"),
            x.drop_nulls().n_unique().alias("unique"),
            x.min().alias("min"),
            x.max().alias("max"),
            x.mean().alias("mean"),
            x.median().alias("median"),
            x.std(ddof=1).alias("sd"),
            pl.when(n >= 3).then(x.drop_nulls().skew(bias=False)).alias("skewness"),
            pl.when(n >= 4)
            .then(x.drop_nulls().kurtosis(fisher=True, bias=False))
            .alias("kurtosis"),
        )
        .with_columns(
            ((pl.col("skewness").abs() > SKEW_LIMIT) & (pl.col("kurtosis") > KURTOSIS_LIMIT)).alias(
                "outlier"
            )
        )
    )
    return out.sort(
        pl.col("name").replace_strict(order, return_dtype=pl.Int64), *by[1:], maintain_order=True
    )
