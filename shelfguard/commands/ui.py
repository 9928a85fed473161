"""`shelfguard ui`: start the Dagster UI and daemon on the data home's instance."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from shelfguard.dagster_home import prepare_dagster_home
from shelfguard.settings import PROJECT_ROOT, DataHome


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=3000, help="port of the web UI (default 3000)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")


def run(args: argparse.Namespace) -> int:
    home = DataHome.from_env().ensure()
    prepare_dagster_home(home)
    os.environ.setdefault("SHELFGUARD_HOME", str(home.root))
    command = ["dg", "dev", "--port", str(args.port), "--host", args.host]
    print(f"Dagster UI on http://{args.host}:{args.port} (DAGSTER_HOME={home.dagster_home})", flush=True)
    return subprocess.call(command, cwd=PROJECT_ROOT, env=os.environ.copy(), stdin=sys.stdin)
