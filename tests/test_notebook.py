"""The example notebook (examples/notebook/paper.ipynb) runs from top to bottom.

It is executed with nbclient in a fresh kernel of this interpreter, from its own folder,
as a reader would run it; any failing cell (including its asserts against the published
table 6) fails the test. The outputs checked are the ones a reader looks for.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "examples" / "notebook" / "paper.ipynb"

nbformat = pytest.importorskip("nbformat", reason="the test extra installs nbformat")
nbclient = pytest.importorskip("nbclient", reason="the test extra installs nbclient")


def test_the_paper_notebook_runs() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert not any(c.get("outputs") for c in notebook.cells if c.cell_type == "code"), (
        "commit the notebook without outputs"
    )
    client = nbclient.NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    )
    client.execute()
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    html = "\n".join(o.get("data", {}).get("text/html", "") for o in outputs)
    assert "RunResult" in html and "Almaty" in html  # the run's summary and top units
    assert "Rank agreement" in html and "Rank intervals" in html
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 2  # the bump chart and the sensitivity chart
    text = "\n".join(o.get("text", "") for o in outputs)
    assert "kireeva.xlsx" in str(outputs[-1].get("data", {}).get("text/plain", "")), text
    assert sys.executable  # the kernel is this interpreter's (ipykernel in the test extra)
