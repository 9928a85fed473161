"""Validate events against the OpenLineage JSON schemas, offline.

The core event is checked against `OpenLineage.json`, and every facet against the schema its
`_schemaURL` names: OpenLineage facets against the specification's facet files (in
`OPENLINEAGE_SPEC_DIR`, default `../shared/openlineage-spec` beside the repository), ours against
the schemas we ship.
A URL must be a schema's `$id` exactly, version included: a facet that claims another version of
the schema than the one we have is reported, not validated against the wrong one. Nothing is
fetched over the network; references resolve through a local registry.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

from assets.lineage.facets import SCHEMAS_DIR

DEFAULT_SPEC_DIR = Path(__file__).resolve().parents[3] / "shared" / "openlineage-spec"
"""`../shared/openlineage-spec` beside the clone, as CI lays it out."""
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
    def _core(self) -> dict[str, Any]:
        return json.loads((self.spec_dir / CORE_FILE).read_text("utf-8"))

    @cached_property
    def _schemas(self) -> dict[str, dict[str, Any]]:
        """Schema documents by `$id`: the core, the spec's facets, then ours."""
        files = [*sorted((self.spec_dir / "facets").glob("*.json")),
                 *sorted(self.own_schemas_dir.glob("*.json"))]
        documents = [self._core, *(json.loads(path.read_text("utf-8")) for path in files)]
        return {document["$id"]: document for document in documents}

    @cached_property
    def _ids_by_file(self) -> dict[str, str]:
        return {schema_id.rsplit("/", 1)[-1]: schema_id for schema_id in self._schemas}

    @cached_property
    def _registry(self) -> Any:
        from referencing import Registry, Resource

        resources = [(schema_id, Resource.from_contents(schema))
                     for schema_id, schema in self._schemas.items()]
        return Registry().with_resources(resources)

    def _validate(self, instance: Any, document: dict[str, Any], fragment: str) -> list[str]:
        from jsonschema import FormatChecker
        from jsonschema.validators import validator_for

        schema = {"$schema": document.get("$schema"), "$ref": f"{document['$id']}#{fragment}"}
        validator = validator_for(document)(schema, registry=self._registry, format_checker=FormatChecker())
        return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
                for e in validator.iter_errors(instance)]

    def _unknown(self, url: str) -> str:
        """Why a schema URL has no local schema: another version of one we have, or none at all."""
        file_name = url.partition("#")[0].rsplit("/", 1)[-1]
        known = self._ids_by_file.get(file_name)
        if known is not None:
            return f"_schemaURL {url} does not match the local schema {known} (another version)"
        return f"no local schema {file_name} for _schemaURL {url}"

    def errors(self, event: dict[str, Any]) -> list[str]:
        problems = [f"event: {p}" for p in self._validate(event, self._core, "/$defs/RunEvent")]
        core_url = str(event.get("schemaURL") or "")
        if core_url.partition("#")[0] != self._core["$id"]:
            problems.append(f"event: {self._unknown(core_url)}")
        for where, facet in _facets(event):
            url = facet.get("_schemaURL") if isinstance(facet, dict) else None
            if not url:
                problems.append(f"{where}: no _schemaURL")
                continue
            base, _, fragment = str(url).partition("#")
            document = self._schemas.get(base)
            if document is None:
                problems.append(f"{where}: {self._unknown(str(url))}")
                continue
            problems += [f"{where}: {p}" for p in self._validate(facet, document, fragment or "")]
        return problems
