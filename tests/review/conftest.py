"""A throw-away git repository holding copies of the project's contracts, for review tests."""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from shelfguard.cli import main
from tests.review.contract_edits import ALP_DE, CANONICAL, MASTER, NWG_US, Edit, apply

ALP_DE_PATH = "contracts/retailers/alp_de/alp_de.odcs.yaml"
NWG_US_PATH = "contracts/retailers/nwg_us/nwg_us.odcs.yaml"
CANONICAL_PATH = "contracts/canonical/pos_canonical.odcs.yaml"


@dataclass
class Review:
    status: int
    out: str
    err: str

    @property
    def json(self) -> dict:
        return json.loads(self.out)


@dataclass
class Repo:
    root: Path

    def git(self, *args: str) -> str:
        done = subprocess.run(
            [
                "git",
                "-c",
                "user.name=Review Test",
                "-c",
                "user.email=review@example.com",
                "-c",
                "commit.gpgsign=false",
                *args,
            ],
            cwd=self.root,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout

    def edit(self, relative: str, edit: Edit) -> Path:
        path = self.root / relative
        apply(path, edit)
        return path

    def commit(self, message: str) -> None:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)


def make_repo(root: Path) -> Repo:
    """Canonical contracts, alp_de and nwg_us committed on `main` in a new repository at `root`."""
    for source, relative in (
        (CANONICAL, CANONICAL_PATH),
        (MASTER, "contracts/canonical/corporate_master.odcs.yaml"),
        (ALP_DE, ALP_DE_PATH),
        (NWG_US, NWG_US_PATH),
    ):
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, root / relative)
    created = Repo(root)
    created.git("init", "-q", "-b", "main")
    created.commit("base contracts")
    return created


def run_review(root: Path, home: Path, *args: str) -> Review:
    """`shelfguard contracts review ARGS…` run inside `root` with SHELFGUARD_HOME=`home`."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.setenv("SHELFGUARD_HOME", str(home))
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(["contracts", "review", *args])
    return Review(status, out.getvalue(), err.getvalue())


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return make_repo(tmp_path / "repo")


@pytest.fixture
def review(repo: Repo, shelfguard_home: Path) -> Callable[..., Review]:
    """Run `shelfguard contracts review ARGS…` inside the test's repository."""
    return lambda *args: run_review(repo.root, shelfguard_home, *args)
