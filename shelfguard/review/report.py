"""The review as one pull-request comment (Markdown) or as JSON for tools.

The Markdown starts with a hidden marker so the workflow can find and update its one comment
instead of adding a new one on every push.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, Field

from checks.diff import SEVERITY_ORDER, Change, Severity
from shelfguard.review.dry_run import DryRun, SideOutcome
from shelfguard.review.impact import ContractImpact

MARKER = "<!-- shelfguard-contract-review -->"
ICONS = {Severity.BREAKING: "🔴", Severity.RISKY: "🟠", Severity.SAFE: "🟢"}
MAX_CELL = 160
MAX_REASON = 400
MAX_ROWS = 150
"""Change rows shown in the comment; GitHub refuses comments over 65,536 characters. The JSON has all."""


class ContractReview(BaseModel):
    """Everything the review found; its JSON form is the `--format json` output."""

    base: str = Field(description="The base revision, e.g. `origin/main (1a2b3c4)`.")
    head: str = Field(description="The head revision, or `working tree`.")
    contracts: list[str] = Field(default_factory=list, description="Paths of the contracts that differ.")
    changes: list[Change] = Field(default_factory=list, description="Every classified change.")
    impact: list[ContractImpact] = Field(
        default_factory=list, description="Per changed contract: what it reaches."
    )
    dry_run: list[DryRun] = Field(
        default_factory=list, description="Per object (and retailer): both gates on the latest data."
    )
    notes: list[str] = Field(default_factory=list, description="What the review could not do, and why.")
    breaking: int = Field(0, description="Number of breaking changes (the exit status is 1 when not 0).")
    risky: int = Field(0, description="Number of risky changes.")
    safe: int = Field(0, description="Number of safe changes.")


def to_json(review: ContractReview) -> str:
    return json.dumps(review.model_dump(mode="json"), indent=2, ensure_ascii=False)


def error_document(lines: list[str], output_format: str) -> str:
    """What the comment (or JSON) says when the review could not run: the problems, nothing else."""
    if output_format == "json":
        return json.dumps({"errors": lines}, indent=2, ensure_ascii=False)
    body = "\n".join(lines)
    return (
        f"{MARKER}\n## Contract review: ❌ could not run\n\n"
        f"The contracts could not be compared (exit status 2):\n\n```\n{body}\n```\n"
    )


def to_markdown(review: ContractReview) -> str:
    out = [
        MARKER,
        f"## Contract review: {_headline(review)}",
        "",
        f"`{review.base}` → `{review.head}`"
        + (
            f" · {len(review.contracts)} contract(s): " + ", ".join(f"`{c}`" for c in review.contracts)
            if review.contracts
            else ""
        ),
        "",
    ]
    if not review.changes:
        out += ["No contract changes between these revisions.", ""]
        return "\n".join(out)
    if review.breaking:
        out += [
            "**Breaking changes** hurt the producer (the retailer's current deliveries are rejected or "
            "misread) or the consumers (a guarantee they rely on goes); they need an approving review.",
            "",
        ]
    out += [
        "### Changes",
        "",
        "| severity | contract | where | change | before → after | why |",
        "|---|---|---|---|---|---|",
    ]
    order = {severity: index for index, severity in enumerate(SEVERITY_ORDER)}
    ordered = sorted(review.changes, key=lambda c: order[c.severity])
    for change in ordered[:MAX_ROWS]:
        out.append(
            "| "
            + " | ".join(
                [
                    _severity(change),
                    _contract_name(change),
                    _where(change),
                    f"`{change.change}`",
                    f"{_value(change.before)} → {_value(change.after)}",
                    _cell(change.reason, MAX_REASON),
                ]
            )
            + " |"
        )
    if len(ordered) > MAX_ROWS:
        out.append(f"\n_… and {len(ordered) - MAX_ROWS} more changes; `--format json` lists them all._")
    out += ["", "### Impact", ""]
    out += [line for impact in review.impact for line in _impact(impact)]
    out += ["### Dry run on the latest deliveries", ""]
    out += _dry_runs(review.dry_run)
    if review.notes:
        out += ["", *(f"> {note}" for note in review.notes)]
    return "\n".join(out) + "\n"


def _headline(review: ContractReview) -> str:
    counts = {Severity.BREAKING: review.breaking, Severity.RISKY: review.risky, Severity.SAFE: review.safe}
    return " · ".join(f"{ICONS[s]} {counts[s]} {s.value}" for s in SEVERITY_ORDER)


def _severity(change: Change) -> str:
    who = f" ({' & '.join(change.breaks_for)})" if change.breaks_for else ""
    return f"{ICONS[change.severity]} {change.severity.value}{who}"


def _contract_name(change: Change) -> str:
    return _cell(change.contract.rsplit(":", 1)[-1])


def _where(change: Change) -> str:
    place = ".".join(p for p in (change.object, change.property) if p) or "contract"
    return f"`{_cell(place)}`" + (f" `{_cell(change.field)}`" if change.field else "")


def _value(value: Any) -> str:
    if value is None or value == "":
        return "—"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return f"`{_cell(text).replace('`', 'ˋ')}`"


def _cell(text: str, limit: int = MAX_CELL) -> str:
    """Table cells: one line, no pipe breaking the table, not endless."""
    flat = " ".join(str(text).split()).replace("|", "\\|")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _impact(impact: ContractImpact) -> list[str]:
    name = impact.retailer or impact.contract.rsplit(":", 1)[-1]
    objects = f", objects {', '.join(f'`{o}`' for o in impact.objects)}" if impact.objects else ""
    out = [f"**{name}** (`{impact.path}`){objects}", ""]
    if impact.note:
        out += [f"_{impact.note}_", ""]
    if impact.assets:
        out += ["| downstream asset | layer | owners |", "|---|---|---|"]
        out += [f"| `{a.key}` | {a.layer} | {', '.join(a.owners) or '—'} |" for a in impact.assets]
        out.append("")
    if impact.canonical_columns:
        feeds = []
        for feed in impact.canonical_columns:
            source = (
                f"`{feed.retailer}` `{feed.object}.{feed.property}`"
                if feed.property
                else "no retailer column"
            )
            transform = f" ({feed.transform})" if feed.transform else ""
            feeds.append(f"`{feed.canonical_column}` ← {source}{transform}")
        out += ["Canonical columns: " + "; ".join(feeds), ""]
    return out


def _dry_runs(runs: list[DryRun]) -> list[str]:
    tried = [r for r in runs if r.deliveries]
    out = [f"- {'🔴' if run.newly_blocked else '🟢'} {run.summary}" for run in tried]
    empty: dict[tuple[str, str], list[str]] = {}
    for run in runs:
        if not run.deliveries:
            empty.setdefault((run.retailer, run.folder), []).append(f"`{run.object}`")
    out += [
        f"- ⚪ no deliveries of `{code}` ({', '.join(objects)}) found in `{folder}`"
        for (code, folder), objects in empty.items()
    ]
    if not runs:
        out.append("_No data to try the changes on._")
    for run in tried:
        out += [
            "",
            f"<details><summary>{run.retailer} {run.object}: {run.deliveries} {run.unit}</summary>",
            "",
            "| delivery | base | head | quarantined rows base → head |",
            "|---|---|---|---|",
        ]
        out += [
            f"| `{_cell(trial.file)}` | {_outcome(trial.base)} | {_outcome(trial.head)} | "
            f"{trial.base.rows_quarantined:,} → {trial.head.rows_quarantined:,} |"
            for trial in run.trials
        ]
        out += ["", "</details>"]
    return out


def _outcome(outcome: SideOutcome) -> str:
    detail = ", ".join(f"`{r}`" for r in outcome.blocking_rules) or _cell(outcome.error or "")
    return f"{outcome.verdict}" + (f" ({detail})" if detail else "")
