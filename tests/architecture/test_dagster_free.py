"""`checks`, the pipeline steps and the contract review are plain Python: importing them must not
load Dagster (a Spark job, CI or a test can use them without it). Only the Dagster layer that wires
them into assets, checks, sensors and resources may import it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("checks", "assets", "shelfguard/review")
DAGSTER_LAYER = "assets.definitions"
"""The one package of the pipeline that may import Dagster: assets, checks, sensors, resources."""
IMPORTS_DAGSTER = re.compile(r"^\s*(import|from) dagster(\.|\s|$)", re.M)
"""`dagster` itself; `dagster_pipes` (the protocol library a Pipes job uses, no Dagster) is plain."""


def modules() -> dict[str, bool]:
    """Every module of the packages, and whether its own code imports Dagster (the Dagster layer:
    definitions, assets, checks, sensors, resources)."""
    found = {}
    for package in PACKAGES:
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            parts = path.relative_to(REPO_ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = bool(IMPORTS_DAGSTER.search(path.read_text("utf-8")))
    # a module inside a package of the Dagster layer (`assets.definitions`) is part of that layer
    return {name: any(found.get(".".join(name.split(".")[:n])) for n in range(1, name.count(".") + 2))
            for name in found}


def test_checks_review_and_pipeline_steps_are_not_dagster_code() -> None:
    found = modules()
    steps = [n for n in found if n.startswith("assets") and not n.startswith(DAGSTER_LAYER)]
    required = [n for n in found if n.startswith(("checks", "shelfguard.review"))] + steps
    assert {"assets.intake.landing", "assets.bronze.ingest", "assets.silver.publish", "assets.gold.views",
            "assets.lineage.emit"} <= set(steps)
    assert [n for n in required if found[n]] == []


PROBE = """
import importlib, json, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
    if "dagster" in sys.modules:
        print(json.dumps(name))
        break
else:
    print(json.dumps(None))
"""


def test_plain_modules_do_not_load_dagster() -> None:
    """In a fresh interpreter, no module outside the Dagster layer loads Dagster through its imports."""
    plain = [name for name, dagster_code in modules().items() if not dagster_code]
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *plain],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    first = json.loads(done.stdout.strip().splitlines()[-1])
    assert first is None, f"importing {first} loads dagster: it imports the Dagster layer"
