"""The deployment's resources are chosen by SHELFGUARD_ENV: local defaults, production settings read
through dg.EnvVar when a run starts (a missing one fails the run, it is never guessed), and a name that
is no deployment refused in one line."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from assets.definitions import build_definitions
from assets.definitions.deployments import UnknownDeploymentError, deployment, deployment_resources
from assets.definitions.resources.home import DataHomeResource
from assets.definitions.resources.notifiers import NotifierResource
from tests.conftest import CONTRACTS_DIR


@dg.asset
def where_data_lives(home: DataHomeResource, shelfguard_notifier: NotifierResource) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"root": str(home.home().root),
                                          "channels": ",".join(shelfguard_notifier.channel_names())})


def _materialize(environment: str) -> dg.ExecuteInProcessResult:
    return dg.materialize([where_data_lives], resources=deployment_resources(environment))


def _metadata(result: dg.ExecuteInProcessResult) -> dict[str, str]:
    event = result.asset_materializations_for_node("where_data_lives")[0]
    return {name: value.value for name, value in event.metadata.items()}


def test_local_is_the_default_and_falls_back_to_the_environment(shelfguard_home: Path, monkeypatch):
    monkeypatch.delenv("SHELFGUARD_ENV", raising=False)
    monkeypatch.delenv("SHELFGUARD_NOTIFIER", raising=False)
    assert deployment() == "local"
    assert _metadata(_materialize("local")) == {"root": str(shelfguard_home.resolve()), "channels": "log"}


def test_production_reads_its_settings_when_the_run_starts(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("OPENLINEAGE_NAMESPACE", "pos-prod")
    monkeypatch.delenv("SHELFGUARD_NOTIFIER", raising=False)
    monkeypatch.setenv("SHELFGUARD_HOME", str(tmp_path / "mounted"))
    with pytest.raises(dg.DagsterInvalidConfigError, match="SHELFGUARD_NOTIFIER"):
        _materialize("production")  # no silent log-only alerts in production
    monkeypatch.setenv("SHELFGUARD_NOTIFIER", "webhook")
    assert _metadata(_materialize("production")) == {"root": str((tmp_path / "mounted").resolve()),
                                                     "channels": "webhook"}


def test_the_definitions_carry_the_chosen_deployment(monkeypatch):
    monkeypatch.setenv("SHELFGUARD_ENV", "production")
    production = build_definitions(CONTRACTS_DIR)
    home = production.resources["home"]
    assert isinstance(home, DataHomeResource) and isinstance(home.root, dg.EnvVar)
    monkeypatch.setenv("SHELFGUARD_ENV", "local")
    assert build_definitions(CONTRACTS_DIR).resources["home"].root == ""


def test_an_unknown_deployment_is_refused_in_one_line(monkeypatch):
    monkeypatch.setenv("SHELFGUARD_ENV", "staging")
    with pytest.raises(UnknownDeploymentError, match=r"^SHELFGUARD_ENV='staging' is not a deployment; "
                                                      r"expected one of local, production$"):
        deployment()
