"""The terminal form of an explanation: one table per section, formulas with their numbers."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from engine.analysis.explanation import DetailValue, Explanation
from engine.analysis.substitute import number
from engine.formula import grain

_SECTIONS = {
    "input": "inputs",
    "indicator": "indicators",
    "imputed": "imputed values",
    "treated": "treated values",
    "normalised": "normalised values",
    "group": "groups",
    "index": "index",
    "rank": "rank",
    "class": "class",
    "class_value": "class",
    "derived": "derived outputs",
    "screen": "screening",
    "check": "failed checks",
    "hidden": "statistics computed first",
    "part": "parts of imputations computed first",
}


def print_explanation(
    explanation: Explanation, title: str = "", console: Console | None = None
) -> None:
    """One block per step: name and label, formula, the formula with its numbers, ``= value``."""
    console = console or Console(soft_wrap=True, highlight=False)
    e = explanation
    when = f" — {e.period}" if e.period is not None else ""
    console.rule(
        f"[bold]{escape(e.unit)}{escape(when)}[/bold]" + (f"  {escape(title)}" if title else ""),
        align="left",
    )
    section = None
    for s in e.steps:
        if _SECTIONS[s.kind] != section:
            section = _SECTIONS[s.kind]
            console.print(f"\n[bold underline]{section}[/bold underline]")
        label = f"  [dim]{escape(s.label)}[/dim]" if s.label and s.label != s.name else ""
        if s.kind == "input":
            measured = f" {escape(s.measured_in)}" if s.measured_in else ""
            if s.grain == grain.DETAIL:
                unit = f" [dim]\\[{escape(s.measured_in)}][/dim]" if s.measured_in else ""
                console.print(f"  [bold]{escape(s.name)}[/bold]{label}{unit}")
                console.print(f"      [dim]{escape(s.note)}[/dim]")
            else:
                value = escape(str(s.substituted))
                console.print(f"  [bold]{escape(s.name)}[/bold] = {value}{measured}{label}")
                if s.note:
                    console.print(f"      [yellow]{escape(s.note)}[/yellow]")
            for d in s.detail:
                console.print(f"      {escape(_keys_text(d))}: {escape(str(d.substituted))}")
            continue
        head = (
            s.column if s.column == s.name or s.kind == "normalised" else f"{s.column} ({s.name})"
        )
        measured = f" [dim]\\[{escape(s.measured_in)}][/dim]" if s.measured_in else ""
        console.print(f"  [bold]{escape(head)}[/bold]{label}{measured}")
        if s.formula_text and s.formula_text != s.symbolic:
            console.print(f"      formula      {escape(s.formula_text)}")
        console.print(f"      computed as  {escape(s.symbolic)}")
        if s.substituted is not None:
            console.print(f"      with values  {escape(s.substituted)}")
        if s.value is not None or s.substituted is not None:
            console.print(f"      = [bold]{escape(_value_text(s.value))}[/bold]")
        if s.note:
            console.print(f"      [dim]{escape(s.note)}[/dim]")
        for d in s.detail:
            value = _value_text(d.value)
            shown = value if d.substituted in (None, value) else f"{d.substituted} = {value}"
            console.print(f"        {escape(_keys_text(d))}: {escape(shown)}")
    console.print()


def _keys_text(d: DetailValue) -> str:
    return ", ".join(str(v) for _, v in d.keys)


def _value_text(value: object) -> str:
    return value if isinstance(value, str) else number(value, 6)
