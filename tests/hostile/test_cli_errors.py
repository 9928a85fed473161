"""An unexpected error in any command is one redacted line and exit 2, never a traceback."""

from __future__ import annotations

import pytest

import shelfguard.commands.freshness as freshness
from shelfguard.cli import main


def _broken(args):
    raise RuntimeError("cannot open postgresql://etl:pw-Secret-1@db/pos\n  with a long story")


def test_an_unexpected_error_is_one_redacted_line(monkeypatch, capsys):
    monkeypatch.setattr(freshness, "run", _broken)
    monkeypatch.delenv("SHELFGUARD_DEBUG", raising=False)
    assert main(["freshness"]) == 2
    err = capsys.readouterr().err
    assert err == ("shelfguard freshness: RuntimeError: cannot open postgresql://***@db/pos "
                   "(set SHELFGUARD_DEBUG=1 for the traceback)\n")


def test_shelfguard_debug_shows_the_traceback(monkeypatch):
    monkeypatch.setattr(freshness, "run", _broken)
    monkeypatch.setenv("SHELFGUARD_DEBUG", "1")
    with pytest.raises(RuntimeError):
        main(["freshness"])
