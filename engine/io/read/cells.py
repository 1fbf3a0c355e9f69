"""Checking and typing the cells of one file, as polars expressions.

Nothing here loops over cells in Python. First :func:`clean_columns` screens the file
in one select of cheap aggregates: a key column whose every value is printable ASCII,
not empty and without a space at either end needs none of the key checks (one regex
over each value instead of four tests), and a numeric column with a finite sum holds no
NaN or infinity. Only a column the screen cannot clear is checked test by test, and
only a test that finds something locates the rows: numbers by a non-strict cast whose
failures are counted first; keys by the four tests, with Unicode normalisation and the
mixed-script check on the *distinct* non-ASCII values, the column only rewritten when
some distinct value changes.

Numbers follow the declared conventions: surrounding spaces are ignored; a thousands
separator is accepted only in 3-digit groups ("1,5" is never 15); with a decimal comma a
point is rejected rather than guessed at ("1.234" could be 1234); U+2212 is a minus when
declared (:attr:`ReadOptions.accepts_unicode_minus`); the declared missing tokens give
null; NaN and infinities are errors (``not-finite``).
"""

from __future__ import annotations

import math
import re

import polars as pl

from engine.diagnostics import Code, Diagnostic, Severity
from engine.io.read.options import SPACES, IdSpaces, ReadOptions
from engine.io.read.source import TYPED, Source, cells_problem, problem

__all__ = ["clean_columns", "key_column", "numeric_column", "text_column"]

SCRIPTS = ("Latin", "Cyrillic", "Greek")
#: Unicode category Cc, matched as literals (Aho-Corasick: faster than a regex class)
CONTROL = [chr(c) for c in (*range(0x20), *range(0x7F, 0xA0))]
PLAIN_INT = r"^-?(?:0|[1-9][0-9]{0,17})$"
_NUMBER = r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"
#: a key value that matches none of this needs no key check: printable ASCII (no control
#: character, nothing to normalise, no space but U+0020), not empty, no space at an end
CHECKED_KEY = r"^$|^ | $|[^\x20-\x7e]"
_TEXT_KEYS = (pl.String, pl.Categorical, pl.Enum)


def clean_columns(source: Source, keys: list[str], numbers: list[str]) -> set[str]:
    """The columns among `keys` and `numbers` that need no further check, from one select
    of cheap aggregates over all of them (polars evaluates them side by side).

    A text key (String, Categorical, Enum) is clean when no value is missing and none
    matches :data:`CHECKED_KEY`: then no key test (empty, control characters, spaces
    around, non-ASCII) can find anything. A numeric column is clean when its sum is
    finite: IEEE arithmetic keeps a NaN or an infinity through every addition, so a
    finite sum proves every present value finite; a sum that overflows, or a column
    that does hold a NaN, is checked value by value.

    >>> import polars as pl
    >>> from engine.io.read.source import Source, offset_locator
    >>> f = pl.DataFrame({"id": ["A", " B"], "x": [1.0, float("nan")], "y": [1.0, None]})
    >>> sorted(clean_columns(Source("f", "record", ("id", "x", "y"), f, offset_locator(1)),
    ...                      ["id"], ["x", "y"]))
    ['y']
    """
    schema = source.frame.schema
    tests = [
        (pl.col(k).null_count() == 0) & ~pl.col(k).cast(pl.String).str.contains(CHECKED_KEY).any()
        for k in keys
        if k in schema and isinstance(schema[k], _TEXT_KEYS)
    ]
    tests += [
        pl.col(n).cast(pl.Float64).sum().is_finite()
        for n in numbers
        if n in schema and schema[n].is_numeric()
    ]
    if not tests:
        return set()
    return {n for n, ok in source.frame.select(tests).row(0, named=True).items() if ok}


def _whole_floats(series: pl.Series) -> pl.Series | None:
    """Integral floats (Excel's and Parquet's 2020.0) as Int64; None if any is not whole."""
    present = series.drop_nulls()
    if present.len() and not (present.is_finite() & (present == present.round(0))).all():
        return None
    return series.cast(pl.Int64)


def key_column(
    source: Source,
    name: str,
    options: ReadOptions,
    period: bool,
    problems: list[Diagnostic],
    warnings: list[Diagnostic],
    screened: bool = False,
) -> pl.Series:
    """A key (unit id, period, detail key) as Int64 when every value is a plain integer
    ('2020', not '01'), else as String.

    It must not be empty or hold control characters; NFC-normalised; spaces around it
    trimmed (reported) or kept per ``options.id_spaces``. A period may be written as a
    whole float ("2010.0" is 2010); a period that is not a whole number is an error.

    The checks are aggregates over the column; only the values that fail are looked at
    again, and Unicode normalisation and the mixed-script check run on the distinct
    non-ASCII values only (an ASCII string is always NFC and single-script).
    `screened`: :func:`clean_columns` cleared the column (no test can find anything).
    """
    series = source.frame.get_column(name)
    if series.dtype.is_float():
        whole = _whole_floats(series)
        if whole is None and period:
            bad = series.is_not_null() & (~series.is_finite() | (series != series.round(0)))
            what = f"period column '{name}' has values that are not whole numbers"
            problems.append(cells_problem(source, Code.BAD_PERIOD, what, bad, series))
            return series.cast(pl.String)
        series = whole if whole is not None else series.cast(pl.String)
    if series.dtype.is_integer():
        series = series.cast(pl.Int64)
        if series.null_count():
            what = f"key column '{name}' is empty"
            problems.append(cells_problem(source, Code.MISSING_KEY, what, series.is_null(), None))
        return series
    series = series.cast(pl.String)
    trim = options.id_spaces == IdSpaces.TRIM
    s = pl.col(name)
    stripped = s.str.strip_chars()
    tests = {
        "empty": s.is_null() | ((stripped if trim else s) == ""),
        "control": (stripped if trim else s).str.contains_any(CONTROL).fill_null(False),
        "spaced": (s != stripped).fill_null(False),
        "wide": (s.str.len_bytes() != s.str.len_chars()).fill_null(False),
    }
    if period:  # a few distinct values: when all are clean whole numbers, no row is looked at
        distinct = series.unique().to_frame(name)
        clean = distinct.select(
            pl.any_horizontal(t.any() for t in tests.values()).not_()
            & s.str.contains(PLAIN_INT).all()
        ).item()
        if clean:
            return series.cast(pl.Int64)
    frame = series.to_frame(name)
    if screened:
        found = dict.fromkeys(tests, False)
    else:
        found = frame.select(t.any().alias(k) for k, t in tests.items()).row(0, named=True)

    def mask(test: str) -> pl.Series:
        return frame.select(tests[test]).to_series()

    if found["empty"]:
        what = f"key column '{name}' is empty"
        problems.append(cells_problem(source, Code.MISSING_KEY, what, mask("empty"), None))
    if found["control"]:
        what = f"key column '{name}' has control characters (tab, newline, …)"
        problems.append(cells_problem(source, Code.MISSING_KEY, what, mask("control"), series))
    if trim and found["spaced"]:
        what = f"key column '{name}': spaces around values were trimmed"
        hint = "to keep them (two different ids), read with id_spaces='keep' (--id-spaces keep)"
        warnings.append(
            cells_problem(
                source,
                Code.ID_SPACES,
                what,
                mask("spaced"),
                series,
                severity=Severity.WARNING,
                hint=hint,
            )
        )
    clean = series.str.strip_chars() if trim and found["spaced"] else series
    if found["wide"]:
        clean = _normalise_wide(source, name, series, clean, warnings)
    if period:
        clean = _period_values(source, name, clean, problems)
    return _plain_integers(clean)


def _normalise_wide(
    source: Source, name: str, series: pl.Series, clean: pl.Series, warnings: list[Diagnostic]
) -> pl.Series:
    """NFC and the mixed-script check, on the distinct non-ASCII values of a key."""
    wide = clean.filter(clean.str.len_bytes() != clean.str.len_chars()).unique()
    table = wide.to_frame("raw").with_columns(
        pl.col("raw").str.normalize("NFC").alias("nfc"),
        (
            pl.sum_horizontal(
                pl.col("raw").str.contains(rf"\p{{{s}}}").cast(pl.Int8) for s in SCRIPTS
            )
            > 1
        ).alias("mixed"),
    )
    mixed = table.filter("mixed").get_column("raw")
    if mixed.len():
        what = f"key column '{name}' mixes Latin, Cyrillic or Greek letters in one value"
        warnings.append(
            cells_problem(
                source,
                Code.MIXED_SCRIPT,
                what,
                clean.is_in(mixed.implode()),
                series,
                severity=Severity.WARNING,
                hint="look-alike letters make two different ids (Cyrillic 'А' is not 'A')",
            )
        )
    changed = table.filter(pl.col("raw") != pl.col("nfc"))
    if changed.height == 0:
        return clean
    return clean.replace(changed.get_column("raw"), changed.get_column("nfc"))


def _plain_integers(series: pl.Series) -> pl.Series:
    """Int64 when every value is a plain integer ('2020', not '01' or '+5'), else as is."""
    first = series.drop_nulls().head(1)
    if first.len() == 0 or not first.str.contains(PLAIN_INT).all():
        return series
    if series.str.contains(PLAIN_INT).fill_null(False).all():
        return series.cast(pl.Int64)
    return series


def _period_values(
    source: Source, name: str, series: pl.Series, problems: list[Diagnostic]
) -> pl.Series:
    """Periods written as numbers ('2010', '2010.0') as their integer text; a number that
    is not whole is an error. Periods that are not numbers ('2020-Q1') stay as they are."""
    if series.str.contains(PLAIN_INT).fill_null(True).all():
        return series
    distinct = series.unique().drop_nulls()
    numbers = distinct.str.contains(_NUMBER)
    if distinct.len() == 0 or not numbers.all():
        return series
    values = distinct.cast(pl.Float64, strict=False)
    whole = values.is_finite() & (values == values.round(0))
    if not whole.all():
        bad = series.is_in(distinct.filter(~whole).implode())
        what = f"period column '{name}' has values that are not whole numbers"
        problems.append(cells_problem(source, Code.BAD_PERIOD, what, bad, series))
        return series
    odd = distinct.filter(~distinct.str.contains(PLAIN_INT))
    fixed = odd.cast(pl.Float64).cast(pl.Int64).cast(pl.String)
    return series.replace(odd, fixed)


def text_column(source: Source, name: str, options: ReadOptions) -> pl.Series:
    """A label: surrounding spaces stripped, a missing token becomes null; otherwise kept
    exactly as written (labels are shown, never matched, so they are not normalised)."""
    series = source.frame.get_column(name)
    if series.dtype.is_float() and (whole := _whole_floats(series)) is not None:
        series = whole
    stripped = series.cast(pl.String).str.strip_chars()
    missing = stripped.is_in(list(options.missing))
    if not missing.any():  # nulls in `missing` (a missing cell) count as False
        return stripped
    return stripped.to_frame(name).select(pl.when(~missing).then(pl.col(name))).to_series()


def _all_finite(values: pl.Series) -> bool:
    """Every present value finite: a finite sum proves it (see :func:`clean_columns`);
    otherwise value by value."""
    return math.isfinite(values.sum()) or bool(values.is_finite().fill_null(True).all())


def numeric_column(
    source: Source,
    name: str,
    options: ReadOptions,
    problems: list[Diagnostic],
    finite: bool = False,
) -> pl.Series:
    """Float64 values; every cell that is not a finite number or missing is reported.

    `finite`: the column is numeric and known to hold only finite values
    (:func:`clean_columns`).
    """
    frame = source.frame
    series = frame.get_column(name)
    tokens: pl.Series
    if series.dtype.is_numeric() or series.dtype == pl.Null:
        values = series.cast(pl.Float64)
        tokens = values
    elif series.dtype == pl.String:
        value, bad = parse_numbers(pl.col(name), options)
        typed = TYPED + name
        if typed in frame.columns:  # Excel: keep the exact float of a number cell
            is_bool = pl.col(name).str.to_lowercase().is_in(["true", "false"])
            exact = pl.when(~is_bool).then(pl.col(typed))
            value, bad = pl.coalesce(exact, value), bad & exact.is_null()
        parsed = frame.select(value.alias("value"), bad.alias("bad"))
        values, mask = parsed.get_column("value").alias(name), parsed.get_column("bad")
        tokens = series
        if mask.any():
            what = f"column '{name}' has text where a number is expected"
            hint = _number_hint(series.filter(mask), options)
            problems.append(cells_problem(source, Code.NOT_NUMERIC, what, mask, series, hint=hint))
    else:
        problems.append(
            problem(Code.NOT_NUMERIC, source.file, f"column '{name}' has type {series.dtype}")
        )
        return pl.Series(name, [None] * series.len(), pl.Float64)
    if not finite and not _all_finite(values):
        odd = (values.is_nan() | values.is_infinite()).fill_null(False)
        what = f"column '{name}' has NaN or infinite values"
        shown = tokens.cast(pl.String)
        problems.append(cells_problem(source, Code.NOT_FINITE, what, odd, shown))
    return values


def parse_numbers(token: pl.Expr, options: ReadOptions) -> tuple[pl.Expr, pl.Expr]:
    """(value, bad) for strings: missing tokens give null; anything unparsable is bad."""
    s = token.str.strip_chars()
    missing = s.is_null() | s.is_in(list(options.missing))
    if options.accepts_unicode_minus:
        s = s.str.replace_all("\u2212", "-", literal=True)
    ok = pl.lit(True)
    if options.thousands is not None:
        seps = SPACES if options.thousands == " " else (options.thousands,)
        group = "[" + "".join(re.escape(c) for c in seps) + "]"
        point = re.escape(options.decimal)
        grouped = rf"^[+-]?[0-9]{{1,3}}(?:{group}[0-9]{{3}})+(?:{point}[0-9]*)?$"
        ok = ~s.str.contains(group) | s.str.contains(grouped)
        s = s.str.replace_all(group, "")
    if options.decimal == ",":
        ok = ok & ~s.str.contains(".", literal=True)
        s = s.str.replace_all(",", ".", literal=True)
    value = pl.when(ok & ~missing).then(s.cast(pl.Float64, strict=False))
    return value, ~missing & value.is_null()


def _number_hint(tokens: pl.Series, options: ReadOptions) -> str | None:
    """Every reading option the bad cells suggest (as the API and the command line
    spell it), or the missing markers."""
    sample = tokens.drop_nulls().str.strip_chars()
    hints = []
    if options.decimal == "." and sample.str.contains(r"^[+\-\u2212]?[0-9]+,[0-9]+$").any():
        hints.append("is ',' the decimal mark? set decimal=',' (--decimal ,)")
    if options.thousands is None and sample.str.contains(r"[0-9][ \u00a0\u202f\u2009][0-9]").any():
        hints.append("are spaces thousands separators? set thousands=' ' (--thousands ' ')")
    if not options.accepts_unicode_minus and sample.str.contains("\u2212", literal=True).any():
        hints.append(
            "'−' (U+2212) is a minus sign in typeset numbers: set unicode_minus=True "
            "(--unicode-minus)"
        )
    return "; ".join(hints) or "add the token to the missing markers if it means 'no data'"
