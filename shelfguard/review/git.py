"""The two sides of a contract review, read from git.

Each revision's `contracts/` folder is exported whole into a temporary folder (the working tree is
used in place), so the contracts of a revision are linted, loaded and planned exactly as they would
be in a checkout of it: lint finds each retailer's canonical contract beside it, and the asset
graph is built from the revision's own contracts.
"""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

from checks.contract import CONTRACT_SUFFIXES, ContractError

CONTRACTS_FOLDER = "contracts"
WORKING_TREE = "working tree"


class ReviewError(Exception):
    """Input the review cannot judge (a bad revision, an invalid contract): exit status 2.

    `lines` are shown one per line; contract problems (`located`) as `path:line:column: message`.
    """

    def __init__(self, *lines: str, located: bool = False):
        self.lines = list(lines)
        self.located = located
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class Revision:
    """One side of the review: a commit exported to `root`, or the working tree (commit None)."""

    label: str
    commit: str | None
    root: Path
    """Folder holding this revision's `contracts/` folder."""

    @property
    def contracts_dir(self) -> Path:
        return self.root / CONTRACTS_FOLDER

    def display(self, relative: str) -> str:
        """How to name a file of this revision: `REF:path` (git's notation) or the plain path."""
        return f"{self.label}:{relative}" if self.commit else relative

    def locate(self, error: ContractError) -> str:
        """A contract problem of this revision as `path:line:column: message`, the path as people know it."""
        try:
            relative = error.path.resolve().relative_to(self.root.resolve()).as_posix()
        except ValueError:
            relative = str(error.path)
        return f"{self.display(relative)}:{error.line}:{error.column}: {error.message}"

    @property
    def short(self) -> str:
        return f"{self.label} ({self.commit[:7]})" if self.commit else self.label


class Repository:
    """The git repository around a folder, driven through the `git` command."""

    def __init__(self, folder: Path):
        top = self._run(
            folder, "rev-parse", "--show-toplevel", error=f"not inside a git repository: {folder}"
        )
        self.root = Path(top.decode("utf-8").strip())

    @staticmethod
    def _run(folder: Path, *args: str, error: str) -> bytes:
        environment = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
        try:
            done = subprocess.run(
                ["git", "-C", str(folder), *args], capture_output=True, env=environment, check=False
            )
        except FileNotFoundError:
            raise ReviewError("git is not installed") from None
        if done.returncode != 0:
            detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise ReviewError(f"{error}" + (f" ({detail[-1]})" if detail else ""))
        return done.stdout

    def git(self, *args: str, error: str) -> str:
        return self._run(self.root, *args, error=error).decode("utf-8", "replace")

    def commit(self, ref: str) -> str:
        """The commit a revision names; a bad revision is a `ReviewError` naming it."""
        if not ref or ref.startswith("-"):
            raise ReviewError(f"bad revision {ref!r}")
        return self.git(
            "rev-parse", "--verify", "--end-of-options", f"{ref}^{{commit}}", error=f"bad revision {ref!r}"
        ).strip()

    def changed_contracts(self, base: str, head: str | None) -> list[str]:
        """Contract files that differ between `base` and `head` (None: the working tree, untracked
        files included), as repository-relative paths. Renames are a removal and an addition; the
        review pairs them again by contract id."""
        args = [
            "diff",
            "--name-only",
            "--no-renames",
            "-z",
            base,
            *([head] if head else []),
            "--",
            CONTRACTS_FOLDER,
        ]
        names = self.git(*args, error="cannot list changed files").split("\0")
        if head is None:
            names += self.git(
                "ls-files",
                "--others",
                "--exclude-standard",
                "-z",
                "--",
                CONTRACTS_FOLDER,
                error="cannot list untracked files",
            ).split("\0")
        return sorted({n for n in names if n.endswith(CONTRACT_SUFFIXES)})

    def export(self, commit: str, label: str, destination: Path) -> Revision:
        """Write the revision's `contracts/` folder under `destination`."""
        destination.mkdir(parents=True, exist_ok=True)
        listed = self.git(
            "ls-tree", "--name-only", commit, "--", CONTRACTS_FOLDER, error=f"cannot read {label}"
        )
        if listed.strip():
            archive = self._run(
                self.root,
                "archive",
                "--format=tar",
                commit,
                "--",
                CONTRACTS_FOLDER,
                error=f"cannot export the contracts of {label}",
            )
            with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
                tar.extractall(destination, filter="data")
        return Revision(label, commit, destination)

    def working_tree(self) -> Revision:
        return Revision(WORKING_TREE, None, self.root)
