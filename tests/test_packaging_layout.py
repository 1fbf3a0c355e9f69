"""The wheel's package list in pyproject.toml names every package of engine/.

setuptools is given an explicit list (so that the shipped methodologies, which live in
the repository's top-level methodologies/ folder, can be mapped into the package); a
package missing from the list would be missing from every wheel.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_engine_package_is_listed() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    on_disk = {
        ".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "engine").rglob("__init__.py")
    }
    missing = sorted(on_disk - listed)
    assert not missing, (
        f"add these packages to [tool.setuptools] packages in pyproject.toml: {missing}"
    )
    mapped = config["tool"]["setuptools"]["package-dir"]
    # folders of data only (no module; the report's assets) are packages of their own too
    data_only = {
        p
        for p in listed - on_disk
        if (ROOT / p.replace(".", "/")).is_dir()
        and not any((ROOT / p.replace(".", "/")).glob("*.py"))
    }
    assert data_only == {"engine.report.html.assets"}
    assert listed - on_disk - data_only == set(mapped), (
        "only mapped packages and data folders may be listed without engine/ packages"
    )
    for package, folder in mapped.items():
        assert (ROOT / folder).is_dir(), f"{package} maps to a missing folder {folder}"


def test_no_symbolic_links_in_the_package() -> None:
    links = [str(p.relative_to(ROOT)) for p in (ROOT / "engine").rglob("*") if p.is_symlink()]
    assert not links, f"symbolic links break Windows checkouts and sdists: {links}"
