"""Edit copies of the project's contracts structurally (YAML round trip), so tests survive
reformatting of the shipped contracts and each edit names what it changes."""

from __future__ import annotations

import copy
import io
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

REPO_ROOT = Path(__file__).resolve().parents[2]
CONTRACTS_DIR = REPO_ROOT / "contracts"
CANONICAL = CONTRACTS_DIR / "canonical" / "pos_canonical.odcs.yaml"
MASTER = CONTRACTS_DIR / "canonical" / "corporate_master.odcs.yaml"
ALP_DE = CONTRACTS_DIR / "retailers" / "alp_de" / "alp_de.odcs.yaml"
NWG_US = CONTRACTS_DIR / "retailers" / "nwg_us" / "nwg_us.odcs.yaml"
CRL_AU = CONTRACTS_DIR / "retailers" / "crl_au" / "crl_au.odcs.yaml"

Edit = Callable[[dict[str, Any]], None]


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.width = 4096
    yaml.preserve_quotes = True
    return yaml


@cache
def _parsed(source: Path, text: str) -> Any:
    return _yaml().load(text)


def edited_text(source: Path, edit: Edit) -> str:
    """The contract's text after `edit` changed (a copy of) its parsed document."""
    document = copy.deepcopy(_parsed(source, source.read_text("utf-8")))
    edit(document)
    out = io.StringIO()
    _yaml().dump(document, out)
    return out.getvalue()


def apply(path: Path, edit: Edit) -> None:
    path.write_text(edited_text(path, edit), "utf-8")


def find(items: list[dict[str, Any]], key: str, value: str) -> dict[str, Any]:
    matches = [item for item in items if item.get(key) == value]
    assert len(matches) == 1, f"expected one item with {key}={value!r}, found {len(matches)}"
    return matches[0]


def obj(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return find(doc["schema"], "name", name)


def prop(doc: dict[str, Any], object_name: str, name: str) -> dict[str, Any]:
    return find(obj(doc, object_name)["properties"], "name", name)


def rule(doc: dict[str, Any], rule_id: str) -> dict[str, Any]:
    for schema_object in doc["schema"]:
        candidates = [
            *(schema_object.get("quality") or []),
            *(q for p in schema_object["properties"] for q in p.get("quality") or []),
        ]
        for quality in candidates:
            if quality.get("id") == rule_id:
                return quality
    raise AssertionError(f"no rule {rule_id!r}")


def set_custom(entry: dict[str, Any], name: str, value: Any) -> None:
    """Set (or with None remove) a customProperty of a contract element."""
    items = entry.setdefault("customProperties", [])
    for item in list(items):
        if item.get("property") == name:
            if value is None:
                items.remove(item)
            else:
                item["value"] = value
            return
    if value is not None:
        items.append({"property": name, "value": value})


def remove(items: list[Any], item: Any) -> None:
    items.remove(item)


def set_threshold(quality: dict[str, Any], operator: str, value: Any) -> None:
    """Replace a rule's operator (ODCS allows exactly one)."""
    for key in [k for k in quality if k.startswith("must")]:
        del quality[key]
    quality[operator] = value
