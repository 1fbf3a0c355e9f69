"""Rules for the uncertainty section: the alternatives sensitivity analysis samples.

Alternative normalisations are built for every unit-level indicator as the main ones
are; probabilities must be one per alternative and add up to 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.diagnostics import Code
from engine.format.build_normalisation import NormalisationRules
from engine.format.model import (
    Layout,
    Uncertainty,
)
from engine.formula import grain
from engine.methods.registry import Stage


class UncertaintyRules(NormalisationRules):
    """The uncertain choices of sensitivity analysis."""

    def uncertainty(self, layout: Layout) -> Uncertainty | None:
        spec = self.data.get("uncertainty")
        if spec is None:
            return None
        specs: Mapping[str, Any] = self.data["indicators"]

        def probabilities(section: str, n: int) -> tuple[float, ...]:
            probs = (spec.get(section) or {}).get("probabilities")
            if probs is None:
                return tuple([1.0 / n] * n) if n else ()
            if len(probs) != n or abs(sum(probs) - 1) > 1e-9:
                self.error(
                    Code.BAD_ARGUMENTS,
                    f"uncertainty.{section}.probabilities must be one per "
                    "alternative and add up to 1",
                    self.at("uncertainty", section, "probabilities"),
                    expected=f"{n} numbers adding up to 1",
                )
            return tuple(float(p) for p in probs)

        alternatives = []
        for k, alt in enumerate((spec.get("normalisation") or {}).get("alternatives", [])):
            per = []
            for name, ind in specs.items():
                if self.grains.get(name, grain.UNIT) == grain.UNIT:
                    per.append(
                        (
                            name,
                            self.normalisation(
                                alt,
                                ("uncertainty", "normalisation", "alternatives", k),
                                layout,
                                ind.get("direction") == "lower",
                                name,
                            ),
                        )
                    )
            alternatives.append(tuple(per))
        aggregations = tuple((spec.get("aggregation") or {}).get("alternatives", []))
        weights = None
        if spec.get("weights"):
            ((kind, value),) = spec["weights"].items()
            weights = (kind, float(value))
        imputations = self.alternatives(Stage.IMPUTE, spec, layout)
        treatments = self.alternatives(Stage.TREAT, spec, layout)
        return Uncertainty(
            int(spec.get("replications", 1000)),
            int(spec.get("seed", 0)),
            weights,
            tuple(alternatives),
            probabilities("normalisation", len(alternatives)),
            aggregations,
            probabilities("aggregation", len(aggregations)),
            spec.get("drop"),
            imputations,
            probabilities("imputation", len(imputations)),
            treatments,
            probabilities("treatment", len(treatments)),
        )

    def alternatives(
        self, stage: Stage, spec: Mapping[str, Any], layout: Layout
    ) -> tuple[tuple[tuple[str, object], ...], ...]:
        """The imputation or treatment alternatives, each checked by its method's rules for
        every indicator it would apply to."""
        written = (spec.get(stage.value) or {}).get("alternatives", [])
        for k, alt in enumerate(written):
            for name in self.data["indicators"]:
                self.preparation(
                    stage, alt, ("uncertainty", stage.value, "alternatives", k), name, layout
                )
        return tuple(tuple(a.items()) for a in written)
