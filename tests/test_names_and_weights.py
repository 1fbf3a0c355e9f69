"""An indicator named like an input, and wrong weights: clear messages, all at once."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from engine import api
from engine.diagnostics import Code, MethodologyError

HEAD = """\
indexlab: 1
id: t
title: names
data: {unit: region, period: year}
inputs:
  grp: {}
  employed: {}
"""


def validate(tmp_path: Path, body: str) -> api.Validated:
    m = tmp_path / "m.yaml"
    m.write_text(HEAD + textwrap.dedent(body), encoding="utf-8")
    return api.validate(m)


def test_an_indicator_named_like_an_input_is_one_clear_message_not_a_cycle(
    tmp_path: Path,
) -> None:
    with pytest.raises(MethodologyError) as err:
        validate(tmp_path, "indicators:\n  grp: {formula: grp / 1000}\n")
    (d,) = err.value.diagnostics
    assert d.code == Code.DUPLICATE_NAME and "could mean either" in d.message
    assert "replaces_input" in (d.expected or "")


def test_replaces_input_reads_the_input_in_its_own_formula_only(tmp_path: Path) -> None:
    body = """\
    indicators:
      grp: {formula: grp / 1000, replaces_input: true}
      productivity: {formula: grp / employed}
    """
    m = tmp_path / "m.yaml"
    m.write_text(HEAD + textwrap.dedent(body), encoding="utf-8")
    d = tmp_path / "d.csv"
    d.write_text("region,year,grp,employed\nA,2010,5000,10\nB,2010,3000,4\n", encoding="utf-8")
    frame = api.run(m, [d]).frame.sort("region")
    assert frame["grp"].to_list() == [5.0, 3.0]
    assert frame["productivity"].to_list() == [0.5, 0.75]


def test_every_wrong_weight_is_reported_at_once(tmp_path: Path) -> None:
    body = """\
    indicators:
      A: {formula: grp}
      B: {formula: employed}
      C: {formula: grp / employed}
    groups:
      G:
        members: [A, B]
        weights: {A: 1}
      H:
        members: [C, G]
        weights: {C: -1, Q: 1}
    index: {group: H}
    """
    with pytest.raises(MethodologyError) as err:
        validate(tmp_path, body)
    messages = [d.message for d in err.value.diagnostics]
    assert any("'G' gives no weight to member 'B'" in m for m in messages), messages
    assert any("'H' gives no weight to member 'G'" in m for m in messages)
    assert any("weights 'Q', which is not a member" in m for m in messages)
    assert any("must be at least 0" in m for m in messages)  # the schema's, in the same run
