"""engine.io.read: the fast verdicts that let clean data skip the reader's checks.

Each fast path is compared with an independent computation in plain Python and with
the reader's slow path (the test-by-test checks it lets a clean column skip): a column
the screen clears must be one the slow path has nothing to say about, and the typed
result must be the same either way. Issue 10 item 1.
"""

from __future__ import annotations

import math
from itertools import pairwise
from pathlib import Path

import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from engine.diagnostics import Code, DataError, Diagnostic
from engine.io.read import IdSpaces, InMemory, ReadOptions, load_data
from engine.io.read.cells import clean_columns, key_column, numeric_column, text_column
from engine.io.read.combine import combine, in_key_order
from engine.io.read.source import Source, offset_locator

#: Unicode White_Space, the characters polars' strip_chars() removes (Rust's trim)
WHITE_SPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680"
    + "".join(chr(c) for c in range(0x2000, 0x200B))
    + "\u2028\u2029\u202f\u205f\u3000"
)
# letters, digits, space kinds, control characters, Cyrillic and combining letters
ALPHABET = "aAz09-_. " + WHITE_SPACE[:6] + "\x00\x1f\x7f\x9f\u0410\u0430\u00e9e\u0301"
values = st.lists(st.one_of(st.none(), st.text(ALPHABET, max_size=6)), min_size=1, max_size=30)
OPTIONS = ReadOptions()


def source(frame: pl.DataFrame) -> Source:
    return Source("f.parquet", "record", tuple(frame.columns), frame, offset_locator(1))


def plain(value: str | None) -> bool:
    """What the key screen promises, in Python: printable ASCII, not empty, no space at
    either end."""
    return (
        value is not None
        and value != ""
        and all(0x20 <= ord(c) <= 0x7E for c in value)
        and value[0] != " "
        and value[-1] != " "
    )


# ------------------------------------------------------------------ key columns


@settings(max_examples=300)
@given(values, st.sampled_from(list(IdSpaces)))
def test_key_screen_clears_exactly_the_plain_columns(
    cells: list[str | None], spaces: IdSpaces
) -> None:
    frame = pl.DataFrame({"id": cells}, schema={"id": pl.String})
    clean = "id" in clean_columns(source(frame), ["id"], [])
    assert clean == all(plain(v) for v in cells)
    if not clean:
        return
    # the slow path has nothing to report on a cleared column and types it the same
    options = ReadOptions(id_spaces=spaces)
    slow: list[Diagnostic] = []
    fast: list[Diagnostic] = []
    a = key_column(source(frame), "id", options, False, slow, slow, screened=False)
    b = key_column(source(frame), "id", options, False, fast, fast, screened=True)
    assert slow == fast == []
    assert a.equals(b) and a.dtype == b.dtype


@pytest.mark.parametrize("dtype", [pl.Categorical, pl.Enum(["A", " B", "C"])])
def test_key_screen_reads_categorical_and_enum_keys(dtype: pl.DataType) -> None:
    clean = pl.DataFrame({"id": ["A", "C"]}, schema={"id": dtype})
    dirty = pl.DataFrame({"id": ["A", " B"]}, schema={"id": dtype})
    assert clean_columns(source(clean), ["id"], []) == {"id"}
    assert clean_columns(source(dirty), ["id"], []) == set()
    loaded = load_data(
        [InMemory("<DataFrame 1>", dirty.with_columns(x=pl.lit(1.0)))], keys=["id"], numeric=["x"]
    )
    assert loaded.frame.get_column("id").to_list() == ["A", "B"]
    assert [w.code for w in loaded.warnings] == [Code.ID_SPACES]
    assert "row 2" in loaded.warnings[0].message


@pytest.mark.parametrize(
    ("cell", "code", "words"),
    [
        ("", Code.MISSING_KEY, "is empty"),
        ("   ", Code.MISSING_KEY, "is empty"),
        ("B\tC", Code.MISSING_KEY, "control characters"),
        ("B\x85C", Code.MISSING_KEY, "control characters"),
        ("B\x85", Code.ID_SPACES, "spaces around values were trimmed"),
        ("\u00a0B", Code.ID_SPACES, "spaces around values were trimmed"),
        ("B\u3000", Code.ID_SPACES, "spaces around values were trimmed"),
        ("\u0412B", Code.MIXED_SCRIPT, "mixes Latin, Cyrillic or Greek"),
    ],
)
def test_one_bad_key_among_many_clean_ones_is_still_found(
    tmp_path: Path, cell: str, code: Code, words: str
) -> None:
    """A column that fails the screen gets every check and message, with its row."""
    ids = [f"R{i:05d}" for i in range(2000)]
    ids[1234] = cell
    path = tmp_path / "d.parquet"
    pl.DataFrame({"region": ids, "x": [1.0] * len(ids)}).write_parquet(path)
    try:
        found = load_data([path], keys=["region"], numeric=["x"]).warnings
    except DataError as exc:
        found = exc.diagnostics
    hits = [d for d in found if d.code == code]
    assert len(hits) == 1 and words in hits[0].message, [d.render() for d in found]
    assert "record 1235" in hits[0].message


# ------------------------------------------------------------------ numbers

floats = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e308, -1e308, float("nan"), float("inf"), -float("inf")]),
)


@settings(max_examples=300)
@given(st.lists(floats, max_size=30), st.sampled_from([pl.Float64, pl.Float32]))
def test_number_screen_is_sound_and_the_reports_are_exact(
    cells: list[float | None], dtype: pl.DataType
) -> None:
    frame = pl.DataFrame({"x": cells}, schema={"x": pl.Float64}).with_columns(
        pl.col("x").cast(dtype)
    )
    stored = frame.get_column("x").to_list()
    finite = all(v is None or math.isfinite(v) for v in stored)
    clean = "x" in clean_columns(source(frame), [], ["x"])
    assert finite or not clean  # a cleared column is finite
    if finite and not clean:  # only a sum that may overflow leaves a finite column uncleared
        assert sum(abs(v) for v in stored if v is not None) > 1e307
    problems: list[Diagnostic] = []
    values = numeric_column(source(frame), "x", OPTIONS, problems, clean)
    assert values.dtype == pl.Float64 and values.len() == len(cells)
    bad = [i + 1 for i, v in enumerate(stored) if v is not None and not math.isfinite(v)]
    if not bad:
        assert problems == []
    else:
        (d,) = problems
        assert d.code == Code.NOT_FINITE and d.location is not None
        assert d.location.line == bad[0]


def test_number_screen_takes_ints_and_missing_columns() -> None:
    frame = pl.DataFrame(
        {"i": [1, None, 3], "n": [None, None, None]}, schema={"i": pl.Int32, "n": pl.Float64}
    )
    assert clean_columns(source(frame), [], ["i", "n"]) == {"i", "n"}


def test_an_overflowing_sum_is_not_a_bad_number(tmp_path: Path) -> None:
    path = tmp_path / "d.parquet"
    pl.DataFrame({"u": ["a", "b", "c"], "x": [1e308, 1e308, 1.0]}).write_parquet(path)
    assert clean_columns(source(pl.read_parquet(path)), [], ["x"]) == set()
    frame = load_data([path], keys=["u"], numeric=["x"]).frame
    assert frame.get_column("x").to_list() == [1e308, 1e308, 1.0]


# ------------------------------------------------------------------ labels

MARKERS = list(OPTIONS.missing)


@settings(max_examples=300)
@given(
    st.lists(
        st.one_of(st.none(), st.sampled_from(MARKERS), st.text(ALPHABET + "N/A.…", max_size=5)),
        max_size=30,
    )
)
def test_labels_are_stripped_and_markers_become_missing(cells: list[str | None]) -> None:
    frame = pl.DataFrame({"label": cells}, schema={"label": pl.String})
    got = text_column(source(frame), "label", OPTIONS).to_list()

    def expected(v: str | None) -> str | None:
        if v is None:
            return None
        s = v.strip(WHITE_SPACE)
        return None if s in MARKERS else s

    assert got == [expected(v) for v in cells]


# ------------------------------------------------------------------ duplicate keys

key_rows = st.lists(
    st.tuples(st.sampled_from(["a", "b", "B", "ab", "\u0410", "é", "a "]), st.integers(2000, 2003)),
    max_size=25,
)


@settings(max_examples=400)
@given(key_rows, st.booleans())
def test_key_order_proves_unique_keys(rows: list[tuple[str, int]], sort: bool) -> None:
    """True exactly when the rows are strictly increasing, unit first or period first;
    then no key repeats."""
    if sort:
        rows = sorted(set(rows), key=lambda r: (r[1], r[0]) if len(rows) % 2 else r)
    frame = pl.DataFrame(rows, schema={"u": pl.String, "t": pl.Int64}, orient="row")
    by_unit = all(a < b for a, b in pairwise(rows))
    by_period = all((a[1], a[0]) < (b[1], b[0]) for a, b in pairwise(rows))
    assert in_key_order(frame, ["u", "t"]) == (by_unit or by_period)
    if in_key_order(frame, ["u", "t"]):
        assert len(set(rows)) == len(rows)
    one = frame.select("u")
    assert in_key_order(one, ["u"]) == all(a[0] < b[0] for a, b in pairwise(rows))


three_keys = st.lists(
    st.tuples(st.sampled_from("ab"), st.sampled_from("xy"), st.integers(1, 2)), max_size=9
)


@settings(max_examples=300)
@given(three_keys, st.sampled_from(["no", "unit", "period"]))
def test_key_order_with_three_keys(rows: list[tuple[str, str, int]], sort: str) -> None:
    if sort == "unit":
        rows = sorted(set(rows))
    elif sort == "period":
        rows = sorted(set(rows), key=lambda r: (r[2], r[0], r[1]))
    frame = pl.DataFrame(rows, schema={"u": pl.String, "d": pl.String, "t": pl.Int64}, orient="row")
    by_unit = all(a < b for a, b in pairwise(rows))
    by_period = all((a[2], a[0], a[1]) < (b[2], b[0], b[1]) for a, b in pairwise(rows))
    assert in_key_order(frame, ["u", "d", "t"]) == (by_unit or by_period)
    if sort != "no":
        assert in_key_order(frame, ["u", "d", "t"])


def test_key_order_with_three_keys_and_missing_keys() -> None:
    frame = pl.DataFrame({"u": ["a", "a", "a", "b"], "d": ["x", "y", "y", "x"], "t": [1, 1, 2, 1]})
    assert in_key_order(frame, ["u", "d", "t"])
    assert not in_key_order(frame.with_columns(t=pl.lit(1)), ["u", "d", "t"])
    assert not in_key_order(pl.DataFrame({"u": [None, "a"]}, schema={"u": pl.String}), ["u"])


@settings(max_examples=200)
@given(key_rows, st.integers(0, 3))
def test_duplicates_are_reported_whatever_the_order(
    rows: list[tuple[str, int]], split: int
) -> None:
    """The files are stacked (each sorted, as files often are); a repeated key is
    reported with every row it is on, whichever route proved the others unique."""
    files = [sorted(rows[i :: split + 1]) for i in range(split + 1)]
    frames, sources = [], []
    for i, part in enumerate(files):
        frame = pl.DataFrame(part, schema={"u": pl.String, "t": pl.Int64}, orient="row")
        frames.append(frame)
        sources.append(Source(f"f{i}", "record", ("u", "t"), frame, offset_locator(1)))
    problems: list[Diagnostic] = []
    combine(frames, sources, ["u", "t"], ["u", "t"], problems)
    stacked = [r for part in files for r in part]
    repeated = {r for r in stacked if stacked.count(r) > 1}
    assert len(problems) == len(repeated)
    assert all(d.code == Code.DUPLICATE_ROW for d in problems)
    for d in problems:
        assert int(d.message.split(" rows for ")[0]) == stacked.count(
            next(r for r in repeated if f"u={r[0]!r}, t='{r[1]}'" in d.message)
        )


# ------------------------------------------------------------------ the streamed run's scan

panel_rows = st.lists(
    st.tuples(
        st.sampled_from(["A", "B", " B", "", "2020", "\u0410", "A\u0301", "\u00c1", "a\tb", "7"]),
        st.sampled_from([2010, 2011]),
        st.one_of(st.none(), st.sampled_from([1.0, -0.0, 2.5, float("nan"), float("inf")])),
    ),
    max_size=8,
)


@settings(max_examples=200, deadline=None)
@given(panel_rows, st.sampled_from(["no", "unit", "period"]), st.integers(1, 2))
# found by this test: an empty file beside one with rows was scanned (the reader reports it)
@example([("A", 2010, None)], "no", 2)
def test_a_scan_is_only_taken_when_the_reader_has_nothing_to_say(
    rows: list[tuple[str, int, float | None]], sort: str, files: int
) -> None:
    """Scanned data is the reader's frame, and only data the reader reads without a
    message is scanned (the rest goes to the reader, which names every problem). Rows
    sorted by unit or by period (duplicates included) take the key-order proof."""
    import tempfile

    from engine.io.read.scan import Scanned, scan_data

    if sort != "no":
        rows = sorted(rows, key=lambda r: (r[0], r[1]) if sort == "unit" else (r[1], r[0]))

    frame = pl.DataFrame(
        rows, schema={"u": pl.String, "t": pl.Int64, "x": pl.Float64}, orient="row"
    )
    with tempfile.TemporaryDirectory() as folder:
        half = len(rows) // files
        paths = [Path(folder) / f"d{i}.parquet" for i in range(files)]
        for i, path in enumerate(paths):  # the last file takes the rest
            frame.slice(i * half, None if i == files - 1 else half).write_parquet(path)
        kwargs = {"keys": ["u", "t"], "numeric": ["x"], "period": "t"}
        scanned = scan_data(paths, text=[], options=OPTIONS, **kwargs)  # type: ignore[arg-type]
        try:
            loaded = load_data(paths, **kwargs)  # type: ignore[arg-type]
        except DataError:
            loaded = None
        if not isinstance(scanned, Scanned):
            return
        assert loaded is not None and loaded.warnings == ()
        got = scanned.frame.collect()
        assert got.schema == loaded.frame.schema
        assert got.sort("u", "t").equals(loaded.frame.sort("u", "t"))
        assert scanned.rows == loaded.frame.height


# ------------------------------------------------------------------ blank CSV lines


@pytest.mark.parametrize(
    ("text", "line"),
    [
        # a blank line and a line of empty fields are dropped; later lines keep their numbers
        ("region,gdp\nA,1\n\n,\nB,bad\n", 5),
        # the first column empty on a line that is not blank: the line is kept (and reported)
        ("region,gdp\nA,1\n,2\nB,bad\n", 4),
        # no empty cell in the first column: nothing is dropped
        ("region,gdp\nA,1\nC,\nB,bad\n", 4),
    ],
)
def test_blank_csv_lines_are_dropped_and_counted(tmp_path: Path, text: str, line: int) -> None:
    path = tmp_path / "d.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError) as caught:
        load_data([path], keys=["region"], numeric=["gdp"])
    bad = [d for d in caught.value.diagnostics if d.code == Code.NOT_NUMERIC]
    assert len(bad) == 1 and f"line {line}" in bad[0].message
    empty = [d for d in caught.value.diagnostics if d.code == Code.MISSING_KEY]
    assert len(empty) == (1 if ",2\n" in text else 0)
