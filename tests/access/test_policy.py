"""The access policy the contracts state: grants by retailer role, canonical list and rule; lint."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assets.plan import build_plan
from checks.access import access_grants, groups
from checks.lint import lint_paths

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"
EUROPE = {"SG_ALP_DE", "SG_MPN_FR", "SG_KST_UK", "SG_FJD_NO"}
AMERICAS = {"SG_NWG_US", "SG_PMP_AR", "SG_LKS_CA"}
APAC = {"SG_SKR_JP", "SG_CRL_AU"}


@pytest.fixture(scope="module")
def plan():
    return build_plan(CONTRACTS)


def by_group(grants) -> dict[str, dict[str, bool]]:
    table: dict[str, dict[str, bool]] = {}
    for g in grants:
        table.setdefault(g.group, {})[g.secure_group_key] = g.masked
    return table


def test_shipped_contracts_have_owner_competition_and_empty_groups(plan) -> None:
    table = by_group(access_grants(plan.canonical, plan.retailers))
    assert table["pos_analysts_americas"] == dict.fromkeys(AMERICAS, False), "owner only"
    assert table["pos_analysts_apac"] == dict.fromkeys(APAC, False)
    assert table["pos_analysts_all"] == dict.fromkeys(EUROPE | AMERICAS | APAC, True), "competition by rule"
    assert table["pos_analysts_emea"] == {**dict.fromkeys(EUROPE, False), **dict.fromkeys(AMERICAS, True)}
    assert "pos_access_pending" not in table
    assert "pos_access_pending" in groups(plan.canonical, plan.retailers), "a group that sees nothing"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "contracts"
    shutil.copytree(CONTRACTS, root)
    return root


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), "utf-8")


def lint(root: Path) -> list[str]:
    return [p.location_message() for p in lint_paths([root])]


NWG_ROLES = "roles:\n  - role: pos_analysts_americas\n    access: read\n"


def test_a_retailers_grant_lives_in_its_own_folder(tree: Path) -> None:
    """A retailer whose role names a new group: no canonical edit, the group owns it, the rule adds it."""
    path = tree / "retailers" / "nwg_us" / "nwg_us.odcs.yaml"
    edit(path, NWG_ROLES, NWG_ROLES + "  - role: nwg_key_account\n    access: read\n"
         "  - role: market_watch\n    access: read\n    customProperties:\n"
         "      - property: readsAs\n        value: competition\n")
    assert lint(tree) == []
    plan = build_plan(tree)
    table = by_group(access_grants(plan.canonical, plan.retailers))
    assert table["nwg_key_account"] == {"SG_NWG_US": False}
    assert table["market_watch"] == {"SG_NWG_US": True}


def test_a_key_granted_to_no_group_is_refused_with_its_line(tree: Path) -> None:
    canonical = tree / "canonical" / "pos_canonical.odcs.yaml"
    edit(canonical, "      - property: grantRule\n", "      - property: grantNote\n")
    path = tree / "retailers" / "skr_jp" / "skr_jp.odcs.yaml"
    edit(path, "roles:\n  - role: pos_analysts_apac\n    access: read\n", "")
    found = lint(tree)
    line = next(n for n, text in enumerate(path.read_text("utf-8").splitlines(), 1) if "SG_SKR_JP" in text)
    assert any(m.startswith(f"{path}:{line}:") and "granted to no group" in m for m in found), found


def test_granted_to_nobody_is_explicit_and_exclusive(tree: Path) -> None:
    path = tree / "retailers" / "skr_jp" / "skr_jp.odcs.yaml"
    edit(path, "roles:\n  - role: pos_analysts_apac\n    access: read\n", "")
    edit(path, "customProperties:\n  - property: retailerCode\n",
         "customProperties:\n  - property: grantedToNobody\n    value: true\n  - property: retailerCode\n")
    assert lint(tree) == []
    plan = build_plan(tree)
    assert "SG_SKR_JP" not in {g.secure_group_key for g in access_grants(plan.canonical, plan.retailers)}, (
        "the activeRetailers rule skips a retailer granted to nobody"
    )
    canonical = tree / "canonical" / "pos_canonical.odcs.yaml"
    edit(canonical, "value: [SG_NWG_US, SG_PMP_AR, SG_LKS_CA]", "value: [SG_SKR_JP]")
    assert any("grantedToNobody is true but 'SG_SKR_JP' is granted to 'pos_analysts_emea'" in m
               for m in lint(tree))


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("value: activeRetailers", "value: everyone", "unknown grantRule 'everyone'"),
        ("      - property: readsAs\n        value: competition\n  - role: pos_analysts_emea",
         "  - role: pos_analysts_emea", "say how the group reads what it is granted"),
        ("value: [SG_NWG_US, SG_PMP_AR, SG_LKS_CA]", "value: SG_NWG_US", "secureGroupKeys must be a list"),
        ("        value: competition\n  - role: pos_analysts_americas",
         "        value: true\n  - role: pos_analysts_americas", "unknown readsAs True"),
        ("      - property: grantRule\n", "      - property: maskCompetition\n        value: true\n"
         "      - property: grantRule\n", "maskCompetition is not read"),
    ],
    ids=["unknown rule", "readsAs missing", "keys not a list", "readsAs not a word", "old maskCompetition"],
)
def test_canonical_role_errors(tree: Path, old: str, new: str, message: str) -> None:
    edit(tree / "canonical" / "pos_canonical.odcs.yaml", old, new)
    found = lint(tree)
    assert any("pos_canonical.odcs.yaml:" in m and message in m for m in found), found


def test_a_tenth_retailer_is_granted_from_its_own_folder_alone(tree: Path) -> None:
    """Onboarding is one folder: a new retailer with its own key lints clean and is readable by its
    owner group and, by the canonical rule, by the competition groups; nothing canonical edited."""
    folder = tree / "retailers" / "hvn_nl"
    folder.mkdir()
    text = (tree / "retailers" / "nwg_us" / "nwg_us.odcs.yaml").read_text("utf-8")
    for old, new in (("nwg_us", "hvn_nl"), ("SG_NWG_US", "SG_HVN_NL"), ("DP-1001", "DP-1010"),
                     ("pos_analysts_americas", "hvn_key_account")):
        text = text.replace(old, new)
    (folder / "hvn_nl.odcs.yaml").write_text(text, "utf-8")
    assert lint(tree) == []
    plan = build_plan(tree)
    table = by_group(access_grants(plan.canonical, plan.retailers))
    assert table["hvn_key_account"] == {"SG_HVN_NL": False}
    assert table["pos_analysts_all"]["SG_HVN_NL"] is True
    assert "SG_HVN_NL" not in table["pos_analysts_emea"], "emea lists its competition keys explicitly"
