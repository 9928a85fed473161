"""`shelfguard contracts review` on a real git repository: changes, impact, output and exit status."""

from __future__ import annotations

from pathlib import Path

import pytest
from ruamel.yaml import YAML

from shelfguard.review.report import MARKER, ContractReview, to_markdown
from tests.review.conftest import (
    ALP_DE_PATH,
    CANONICAL_PATH,
    NWG_US_PATH,
    Repo,
    Review,
    make_repo,
    run_review,
)
from tests.review.contract_edits import prop, rule, set_custom

REPO_ROOT = Path(__file__).resolve().parents[2]
CHANGE_FIELDS = {"contract", "path", "object", "property", "change", "before", "after", "severity", "reason"}


def test_no_change_exits_0_with_the_marker(review) -> None:
    result = review("--base", "main")
    assert result.status == 0, result.err
    assert result.out.startswith(MARKER)
    assert "No contract changes" in result.out


@pytest.fixture(scope="module")
def retailer_change(tmp_path_factory: pytest.TempPathFactory) -> Review:
    """One review of a working-tree change to alp_de (a column made required, a pattern narrowed),
    shared by the tests that read its output."""
    root = tmp_path_factory.mktemp("retailer_change")
    repo = make_repo(root / "repo")

    def edit(doc: dict) -> None:
        prop(doc, "products", "Marke")["required"] = True
        rule(doc, "alp_sales_ean_format")["arguments"]["pattern"] = "[0-9]{13}"

    repo.edit(ALP_DE_PATH, edit)
    return run_review(repo.root, root / "home", "--base", "main", "--format", "json")


def test_breaking_change_in_the_working_tree_exits_1(retailer_change: Review) -> None:
    assert retailer_change.status == 1, retailer_change.err
    report = retailer_change.json
    assert {"changes", "impact", "dry_run", "breaking"} <= report.keys()
    assert all(change.keys() >= CHANGE_FIELDS for change in report["changes"])
    required = next(c for c in report["changes"] if c["change"] == "required_added")
    assert required | {"reason": ""} == required | {
        "contract": "urn:shelfguard:retailer:alp_de",
        "path": ALP_DE_PATH,
        "object": "products",
        "property": "Marke",
        "before": False,
        "after": True,
        "severity": "breaking",
        "breaks_for": ["producer"],
        "reason": "",
    }
    assert report["breaking"] == sum(c["severity"] == "breaking" for c in report["changes"]) == 1
    assert report["contracts"] == [ALP_DE_PATH]


def test_impact_of_a_retailer_change(retailer_change: Review) -> None:
    (impact,) = retailer_change.json["impact"]
    assert impact["retailer"] == "alp_de" and impact["objects"] == ["products", "sales"]
    owners = {a["key"]: a["owners"] for a in impact["assets"]}
    assert list(owners) == [
        "bronze/alp_de__products",
        "bronze/alp_de__sales",
        "silver/alp_de__prod_dim",
        "silver/alp_de__daily_store_fact",
        "silver/alp_de__weekly_store_fact",
        "gold/prod_dim",
        "gold/daily_store_fact",
        "gold/weekly_store_fact",
    ]
    assert owners["bronze/alp_de__sales"] == ["retail-emea@shelfguard.example"]
    assert owners["gold/daily_store_fact"] == ["data-platform@shelfguard.example"]
    assert [(f["canonical_column"], f["object"], f["property"]) for f in impact["canonical_columns"]] == [
        ("prod_dim.brand", "products", "Marke"),
        ("daily_store_fact.product_id", "sales", "EAN"),
    ]


def test_markdown_comment_has_summary_table_impact_and_dry_run(retailer_change: Review) -> None:
    markdown = to_markdown(ContractReview.model_validate(retailer_change.json))
    lines = markdown.splitlines()
    assert lines[0] == MARKER
    assert lines[1] == "## Contract review: 🔴 1 breaking · 🟠 2 risky · 🟢 0 safe"
    row = next(line for line in lines if "`required_added`" in line)
    assert row.startswith("| 🔴 breaking (producer) | alp_de | `products.Marke` `required` |")
    assert "`false` → `true`" in row
    pattern = next(line for line in lines if "`pattern_narrowed`" in line)
    assert "`[0-9]{8}\\|[0-9]{13}` → `[0-9]{13}`" in pattern, "pipes in cells are escaped"
    for heading in ("### Changes", "### Impact", "### Dry run on the latest deliveries"):
        assert heading in lines
    assert "| `gold/daily_store_fact` | gold | data-platform@shelfguard.example |" in lines
    assert "no deliveries of `alp_de` (`products`, `sales`) found" in markdown


def test_committed_head_with_safe_and_risky_changes_exits_0(repo: Repo, review) -> None:
    repo.git("checkout", "-q", "-b", "change")

    def edit(doc: dict) -> None:
        doc["description"]["purpose"] = "Alpenmarkt sell-out."
        doc["version"] = "1.1.0"
        rule(doc, "alp_sales_ean_format")["mustBeLessThan"] = 1

    repo.edit(ALP_DE_PATH, edit)
    repo.commit("tighten")
    repo.edit(NWG_US_PATH, lambda d: d.__setitem__("status", "draft"))
    result = review("--base", "main", "--head", "change", "--format", "json")
    assert result.status == 0, result.out
    report = result.json
    assert report["contracts"] == [ALP_DE_PATH], "the working tree is not the head"
    assert report["head"].startswith("change (")
    assert [(c["change"], c["severity"]) for c in report["changes"]] == [
        ("threshold_tightened", "risky"),
        ("documentation_changed", "safe"),
        ("version_changed", "safe"),
    ]


def test_bad_revision_exits_2_with_one_line(review) -> None:
    result = review("--base", "no-such-branch")
    assert result.status == 2
    assert len(result.err.strip().splitlines()) == 1
    assert "bad revision 'no-such-branch'" in result.err
    assert result.out.startswith(MARKER) and "could not run" in result.out


def test_invalid_head_contract_exits_2_with_the_lint_message(repo: Repo, review) -> None:
    path = repo.edit(
        ALP_DE_PATH, lambda d: set_custom(rule(d, "alp_sales_ean_format"), "onViolation", "explode")
    )
    line, column = next(
        (n, text.index("value") + 1)
        for n, text in enumerate(path.read_text().splitlines(), 1)
        if "explode" in text
    )
    result = review("--base", "main")
    assert result.status == 2
    expected = "unknown onViolation 'explode'; expected one of block, quarantine, warn"
    assert result.err.splitlines() == [f"{ALP_DE_PATH}:{line}:{column}: {expected}"]
    assert result.err.splitlines()[0] in result.out


def test_invalid_base_contract_is_named_by_revision(repo: Repo, review) -> None:
    path = repo.root / ALP_DE_PATH
    good = path.read_text()
    path.write_text(good.replace("version: 1.0.0", "version: [1.0.0", 1))
    repo.commit("broken")
    path.write_text(good)
    result = review("--base", "main")
    assert result.status == 2
    assert result.err.startswith(f"main:{ALP_DE_PATH}:")
    assert "invalid YAML" in result.err


def test_impact_of_a_canonical_change_names_every_feeding_retailer(repo: Repo, review) -> None:
    repo.edit(
        CANONICAL_PATH,
        lambda d: rule(d, "prod_dim_gtin_format")["arguments"].__setitem__("pattern", "[0-9]{13}"),
    )
    (impact,) = review("--base", "main", "--format", "json").json["impact"]
    keys = [a["key"] for a in impact["assets"]]
    assert {"silver/alp_de__prod_dim", "silver/nwg_us__prod_dim", "gold/prod_dim"} <= set(keys)
    assert not any(k.startswith("bronze/") for k in keys)
    feeders = {(f["retailer"], f["object"], f["property"]) for f in impact["canonical_columns"]}
    assert ("alp_de", "products", "EAN") in feeders
    assert {f["canonical_column"] for f in impact["canonical_columns"]} == {"prod_dim.gtin"}


def test_removed_contract_lists_the_assets_that_go(repo: Repo, review) -> None:
    (repo.root / NWG_US_PATH).unlink()
    result = review("--base", "main", "--format", "json")
    assert result.status == 1
    (change,) = result.json["changes"]
    assert (change["change"], change["severity"]) == ("contract_removed", "breaking")
    (impact,) = result.json["impact"]
    assert "bronze/nwg_us__pos_daily" in [a["key"] for a in impact["assets"]]
    assert "base revision" in impact["note"]


@pytest.mark.parametrize("last", ["-1"])
def test_negative_last_is_a_usage_error(review, last: str) -> None:
    result = review("--base", "main", "--last", last)
    assert result.status == 2 and "--last" in result.err


def test_workflow_lints_reviews_and_updates_one_comment() -> None:
    workflow = REPO_ROOT / ".github" / "workflows" / "contract-review.yml"
    text = workflow.read_text("utf-8")
    document = YAML(typ="safe").load(text)
    assert document["on"]["pull_request"]["paths"] == ["contracts/**"]
    steps = document["jobs"]["review"]["steps"]
    assert steps[0]["uses"].startswith("actions/checkout@") and steps[0]["with"]["fetch-depth"] == 0
    for command in (
        "uv sync --frozen",
        "uv run shelfguard contracts lint",
        'uv run shelfguard contracts review --base "origin/$BASE_REF" --format markdown',
    ):
        assert command in text
    assert MARKER in text, "the workflow finds its comment by the marker the review writes"
    assert any(s.get("uses", "").startswith("actions/github-script@") for s in steps)
    assert "updateComment" in text and "createComment" in text
