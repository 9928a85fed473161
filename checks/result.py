"""The outcome of a gate: per rule numbers, the verdict, and what is published or quarantined.

The JSON form of `GateResult` is the stable interface of `shelfguard check --format json`
(see gate-semantics.md); Dagster metadata, lineage facets and contract reviews are built from it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from checks.contract import HOLDS_DATA_BACK
from checks.errors import safe_message


class Verdict(StrEnum):
    """Ordered from best to worst; the verdict of a batch is the worst that applies."""

    PASS = "pass"
    WARN = "warn"
    QUARANTINE = "quarantine"
    BLOCK = "block"


class Outcome(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NOT_EVALUATED = "not_evaluated"


class ContractRef(BaseModel):
    id: str = Field(description="The contract's ODCS id, e.g. urn:shelfguard:retailer:alp_de.")
    version: str = Field(description="The contract's version.")
    path: str = Field(description="Path of the contract file.")


class RuleResult(BaseModel):
    id: str = Field(description="The rule's id from the contract, or a stable generated one.")
    property: str | None = Field(None, description="Column the rule is about; null for table rules.")
    metric: str = Field(
        description="ODCS metric (rowCount, nullValues, …) or the rule kind (sql, custom, …)."
    )
    on_violation: str = Field(description="block, quarantine or warn.")
    unit: str = Field("rows", description="rows or percent.")
    value: float | None = Field(None, description="The metric in the rule's unit; null when not evaluated.")
    threshold: dict[str, Any] = Field(default_factory=dict, description="The ODCS operator and its value.")
    violating_rows: int = Field(0, description="Rows behind the metric.")
    passed: bool | None = Field(None, description="Whether the threshold holds; false also for a rule that "
                                "could not be evaluated and fails closed; null for one listed only.")
    outcome: Outcome = Field(description="pass, fail or not_evaluated.")
    message: str = Field("", description="What was found, for people (one line, redacted, bounded).")
    engine: str | None = Field(None, description="Engine that computed the metric.")

    @field_validator("message")
    @classmethod
    def _safe(cls, message: str) -> str:
        """A message may quote delivered values or column names: kept to one bounded line."""
        return safe_message(message)


class GateResult(BaseModel):
    model_config = ConfigDict(use_enum_values=False)

    contract: ContractRef
    object: str = Field(description="The contract's schema object the batch was checked against.")
    engine: str = Field(description="Default engine of the run (custom rules run in their own).")
    rows: int = Field(description="Rows in the batch.")
    rows_published: int = Field(description="Rows that may be promoted.")
    rows_quarantined: int = Field(description="Rows moved to quarantine (all rows when blocked).")
    verdict: Verdict
    rules: list[RuleResult] = Field(default_factory=list)

    @property
    def blocking_rule_ids(self) -> list[str]:
        """Rules that blocked the batch: failed block rules and quarantine rules over their threshold."""
        return [r.id for r in self.rules if r.passed is False and r.on_violation in HOLDS_DATA_BACK]
