"""One pipeline run on a data home, as its own process, for the fault-injection tests.

`python -m tests.faults.pipeline_process HOME RETAILER...`: bronze → silver → gold on the home's
persistent Dagster instance with the demo's pull sources up; exit 0 when every step worked, 1
(with the failing steps on stderr) otherwise. `SHELFGUARD_KILL_AT` makes it die at a commit point.
"""

from __future__ import annotations

import sys
from pathlib import Path

from shelfguard.demo_sources import demo_sources
from shelfguard.pipeline import run_pipeline
from shelfguard.settings import DataHome


def main(argv: list[str]) -> int:
    home = DataHome(Path(argv[0]).resolve()).ensure()
    retailers = argv[1:]
    with demo_sources(home, retailers=retailers):
        errors = run_pipeline(home, retailers=retailers, log_level="CRITICAL").errors()
    print(*errors, sep="\n", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
