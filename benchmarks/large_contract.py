"""A large, nested, valid ODCS v3.1.0 contract, generated: what contract-load time is measured on.

    large_contract_text(lines=3000) -> str

Objects of properties with rules, each property an object of nested properties three levels deep
(the shape whose JSON-schema validation with `unevaluatedProperties` explodes in a backtracking
validator), until the text has about `lines` lines. Used by `benchmarks/gate_bench.py` and by the
test that bounds contract loading (tests/contracts).
"""

from __future__ import annotations

HEADER = """apiVersion: v3.1.0
kind: DataContract
id: urn:shelfguard:benchmark:large
name: large_contract_bench
version: 1.0.0
status: draft
description:
  purpose: A generated contract of nested objects, to measure contract loading.
team:
  name: pos-data-platform
  members:
    - username: data-platform@shelfguard.example
      role: owner
servers:
  - server: landing
    type: local
    path: landing/bench
    format: parquet
schema:
"""


def _leaf(name: str, indent: str) -> str:
    return (f"{indent}- name: {name}\n"
            f"{indent}  logicalType: integer\n"
            f"{indent}  physicalType: BIGINT\n"
            f"{indent}  required: true\n"
            f"{indent}  description: A nested measure.\n"
            f"{indent}  quality:\n"
            f"{indent}    - id: {name}_nulls\n"
            f"{indent}      metric: nullValues\n"
            f"{indent}      mustBe: 0\n"
            f"{indent}      customProperties:\n"
            f"{indent}        - property: onViolation\n"
            f"{indent}          value: warn\n")


def _nested(name: str, indent: str, depth: int) -> str:
    if depth == 0:
        return _leaf(name, indent)
    children = "".join(_nested(f"{name}_{i}", indent + "    ", depth - 1) for i in range(2))
    return (f"{indent}- name: {name}\n"
            f"{indent}  logicalType: object\n"
            f"{indent}  physicalType: STRUCT\n"
            f"{indent}  properties:\n{children}")


def large_contract_text(lines: int = 3000, depth: int = 3) -> str:
    """A valid v3.1.0 contract of about `lines` lines (at least one object)."""
    parts = [HEADER]
    count = HEADER.count("\n")
    obj = 0
    while count < lines:
        block = (f"  - name: object_{obj}\n"
                 f"    physicalType: table\n"
                 f"    logicalType: object\n"
                 f"    properties:\n")
        for prop in range(4):
            block += _nested(f"o{obj}_p{prop}", "      ", depth)
        parts.append(block)
        count += block.count("\n")
        obj += 1
    return "".join(parts)
