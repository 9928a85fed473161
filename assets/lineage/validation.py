"""Validate events against the OpenLineage JSON schemas, offline.

The core event is checked against `OpenLineage.json`, and every facet against the schema its
`_schemaURL` names: OpenLineage facets against the specification's facet files (found by file name
in `OPENLINEAGE_SPEC_DIR`, default `/work/shared/openlineage-spec`), ours against the schemas we
ship. Nothing is fetched over the network; references resolve through a local registry.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

from .facets import SCHEMA_BASE_URL, SCHEMAS_DIR

DEFAULT_SPEC_DIR = Path("/work/shared/openlineage-spec")
CORE_FILE = "OpenLineage.json"


def spec_dir() -> Path:
    return Path(os.environ.get("OPENLINEAGE_SPEC_DIR") or DEFAULT_SPEC_DIR)


def _facets(event: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """(where, facet) for every facet of a run event."""
    for where, holder in (("run", event.get("run")), ("job", event.get("job"))):
        for key, facet in ((holder or {}).get("facets") or {}).items():
            yield f"{where}.facets.{key}", facet
    for role in ("inputs", "outputs"):
        for index, dataset in enumerate(event.get(role) or []):
            for facet_group in ("facets", "inputFacets", "outputFacets"):
                for key, facet in (dataset.get(facet_group) or {}).items():
                    yield f"{role}[{index}].{facet_group}.{key}", facet


class EventValidator:
    """Validates run events; `errors(event)` lists every violation as `where: message`."""

    def __init__(self, openlineage_spec_dir: Path | None = None, own_schemas_dir: Path = SCHEMAS_DIR) -> None:
        self.spec_dir = openlineage_spec_dir or spec_dir()
        self.own_schemas_dir = own_schemas_dir
        if not (self.spec_dir / CORE_FILE).is_file():
            raise FileNotFoundError(f"no {CORE_FILE} in {self.spec_dir} (set OPENLINEAGE_SPEC_DIR)")

    @cached_property
    def _schemas(self) -> dict[str, dict[str, Any]]:
        """Schema documents by file name: the core, the spec's facets, then ours."""
        files = [self.spec_dir / CORE_FILE, *sorted((self.spec_dir / "facets").glob("*.json")),
                 *sorted(self.own_schemas_dir.glob("*.json"))]
        return {path.name: json.loads(path.read_text("utf-8")) for path in files}

    @cached_property
    def _registry(self) -> Any:
        from referencing import Registry, Resource

        resources = [(schema["$id"], Resource.from_contents(schema)) for schema in self._schemas.values()]
        return Registry().with_resources(resources)

    def _validate(self, instance: Any, document: dict[str, Any], fragment: str) -> list[str]:
        from jsonschema import FormatChecker
        from jsonschema.validators import validator_for

        schema = {"$schema": document.get("$schema"), "$ref": f"{document['$id']}#{fragment}"}
        validator = validator_for(document)(schema, registry=self._registry, format_checker=FormatChecker())
        return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
                for e in validator.iter_errors(instance)]

    def errors(self, event: dict[str, Any]) -> list[str]:
        problems = [f"event: {p}" for p in self._validate(event, self._schemas[CORE_FILE], "/$defs/RunEvent")]
        own = {path.name for path in self.own_schemas_dir.glob("*.json")}
        for where, facet in _facets(event):
            url = facet.get("_schemaURL") if isinstance(facet, dict) else None
            if not url:
                problems.append(f"{where}: no _schemaURL")
                continue
            base, _, fragment = str(url).partition("#")
            file_name = base.rsplit("/", 1)[-1]
            if file_name in own and base != SCHEMA_BASE_URL + file_name:
                problems.append(f"{where}: _schemaURL {url} is not where our schema is published")
            document = self._schemas.get(file_name)
            if document is None:
                problems.append(f"{where}: no local schema {file_name} for _schemaURL {url}")
                continue
            problems += [f"{where}: {p}" for p in self._validate(facet, document, fragment or "")]
        return problems
