"""The engines that measure rules, imported only when asked for.

`get_engine("soda")` imports Soda Core on first use; importing this package (or `checks.gate`, or the
command line) never imports Great Expectations or Soda. The definitions all engines share are in
`checks.engines.semantics`.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the registry is read by `contracts lint`, which never imports Polars
    from checks.engines.base import Engine

ENGINES: dict[str, str] = {
    "pandera": "checks.engines.pandera_engine:PanderaEngine",
    "soda": "checks.engines.soda_engine:SodaEngine",
    "gx": "checks.engines.gx_engine:GxEngine",
    "spark": "checks.engines.spark_engine:SparkEngine",
}
DEFAULT_ENGINE = "pandera"

CUSTOM_RULE_ENGINES: dict[str, str] = {
    "soda": "soda",
    "greatExpectations": "gx",
    "great-expectations": "gx",  # the spelling of the ODCS examples
}
"""ODCS `engine` of a `type: custom` rule -> the registry name of the engine that runs it."""


class UnknownEngineError(ValueError):
    """An engine name that is not in the registry."""


class EngineUnavailableError(RuntimeError):
    """A registered engine whose module or library cannot be imported here."""


def get_engine(name: str) -> Engine:
    """A new instance of the named engine (`pandera`, `soda`, `gx` or `spark`), imported on demand."""
    return _engine_class(name)()


def warm_up(names: Iterable[str]) -> None:
    """Start loading, off the caller's core, what the named engines will need (GX's worker process):
    a pipeline calls it before its first run, so the import is done when a gate needs it."""
    for name in sorted(set(names)):
        start = getattr(_engine_class(name), "warm_up", None)
        if start is not None:
            start()


def _engine_class(name: str) -> type[Engine]:
    if name not in ENGINES:
        raise UnknownEngineError(f"unknown engine {name!r}; known engines: {', '.join(ENGINES)}")
    module_name, class_name = ENGINES[name].split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise EngineUnavailableError(f"engine {name!r} cannot be loaded: {exc}") from exc
    return getattr(module, class_name)
