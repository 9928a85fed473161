"""Contracts are parsed with bounds: aliases expanded under a size limit, core tags only, depth
limited; a refusal is a located one-line `ContractError`, within seconds."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from checks.contract import ContractError, load_contract, parse_yaml
from checks.safe_yaml import MAX_DEPTH, MAX_NODES, YamlRefused, parse_bounded
from tests.conftest import CONTRACTS_DIR
from tests.hostile.harness import CORPUS

NWG = CONTRACTS_DIR / "retailers" / "nwg_us" / "nwg_us.odcs.yaml"


def refusal(text: str) -> YamlRefused:
    with pytest.raises(YamlRefused) as caught:
        parse_bounded(text)
    return caught.value


def test_aliases_are_expanded_with_positions():
    document, positions = parse_bounded("base: &b {k: 1, v: [x, y]}\ncopy: *b\nmerged:\n  <<: *b\n  v: z\n")
    assert document == {"base": {"k": 1, "v": ["x", "y"]}, "copy": {"k": 1, "v": ["x", "y"]},
                        "merged": {"v": "z", "k": 1}}
    assert document["copy"] is not document["base"], "plain values, each place its own copy"
    assert positions[("copy",)] == (2, 1) and positions[("merged", "v")] == (5, 3)


def test_a_pyyaml_dump_with_anchors_loads_as_the_same_contract(tmp_path: Path):
    original = yaml.safe_load(NWG.read_text("utf-8"))
    shared = original["schema"][0]["properties"][0]
    original["schema"][0]["properties"].append(shared)  # the same object twice: &id001 / *id001
    original["schema"][0]["properties"][-1] = shared
    text = yaml.dump(original, sort_keys=False)
    assert "&id001" in text and "*id001" in text
    path = tmp_path / "dumped.odcs.yaml"
    path.write_text(text, "utf-8")
    document, _ = parse_yaml(path, text)
    assert document == original


def test_a_billion_laughs_is_refused_quickly():
    text = (CORPUS / "billion_laughs" / "contract.odcs.yaml").read_text("utf-8")
    started = time.monotonic()
    refused = refusal(text)
    assert time.monotonic() - started < 30, "generous: refused before anything is expanded"
    assert f"more than {MAX_NODES:,} nodes" in refused.message and refused.line == 6


def test_an_alias_inside_its_own_anchor_is_refused():
    assert "refers to no complete anchor" in refusal("a: &a [1, *a]\n").message


@pytest.mark.parametrize(("text", "shown"), [
    ("a: !!python/object/apply:os.system [ls]\n", "!!python/object/apply:os.system"),
    ("a: !!python/name:os.system\n", "!!python/name:os.system"),
    ("a: !include other.yaml\n", "!include"),
    ("a: !!binary aGk=\n", "!!binary"),
])
def test_tags_other_than_the_core_ones_are_refused(text, shown):
    refused = refusal(text)
    assert f"YAML tag {shown} is not allowed" in refused.message and (refused.line, refused.column) == (1, 4)


def test_core_tags_are_plain_values():
    document, _ = parse_bounded("a: !!str 1\nb: !!int '2'\nc: !!map {x: !!null ''}\nd: !!seq [!!bool true]\n")
    assert document == {"a": "1", "b": 2, "c": {"x": None}, "d": [True]}


@pytest.mark.parametrize("text", ["{a: " * 100_000 + "1" + "}" * 100_000, "[" * 200_000 + "]" * 200_000,
                                  "".join(" " * i + "a:\n" for i in range(MAX_DEPTH + 2))])
def test_deep_nesting_is_refused_within_seconds(text):
    started = time.monotonic()
    assert f"nested deeper than {MAX_DEPTH} levels" in refusal(text).message
    assert time.monotonic() - started < 60, "generous: the scanner is quadratic in flow depth, so stop early"


def test_a_hostile_contract_is_a_located_contract_error(tmp_path: Path):
    path = tmp_path / "evil.odcs.yaml"
    path.write_text("apiVersion: v3.1.0\nkind: !!python/object:os.system {}\n", "utf-8")
    with pytest.raises(ContractError) as caught:
        load_contract(path)
    assert caught.value.location_message() == (f"{path}:2:7: YAML tag !!python/object:os.system is not "
                                                "allowed (only plain values, mappings and lists)")


SNIPPETS = [
    "", "# only a comment\n",
    "a: 2024-01-01T10:00:00Z\nb: 2024-01-01\nc: 0o17\nd: 1_000.5\ne: .inf\nf: ~\ng: yes\nh: 012\n",
    "- a\n- [b, {c: d}]\n-\n  - e\n- f: g\n  h: i\n",
    "x: &a\n  - 1\ny: *a\nz:\n  - *a\n  - *a\n",
    "a: &x {b: 1}\nc:\n  <<: [*x, {b: 2, d: 3}]\n  e: 1\n",
    "a: &x {b: 1, z: 0}\nc:\n  e: 1\n  <<: *x\n  z: 5\n",
    "a: 'quoted'\nb: \"dq\\n\"\nc: |\n  block\n  text\nd: >\n  folded\n",
    "1: int key\ntrue: same key\n", "a: b\na: c\n", "a: =\n", "? [a]\n: b\n", "--- a\n--- b\n",
    "%YAML 1.1\n---\na: yes\n", "a: [1, 2\n", "\ta: 1\n", "a: !!map [1]\n",
    "a: !!str 1\nb: !!int '2'\nc: !!map {x: !!null ''}\nd: !!seq [!!bool true]\n",
]


def reference_reading(text: str) -> object:
    from checks.safe_yaml import load_tree, plain_with_positions

    try:
        return plain_with_positions(load_tree(text))
    except YamlRefused as refused:
        return refused.message, refused.line, refused.column


def fast_reading(text: str) -> object:
    try:
        return parse_bounded(text)
    except YamlRefused as refused:
        return refused.message, refused.line, refused.column


@pytest.mark.parametrize("text", SNIPPETS)
def test_the_c_pass_reads_what_the_round_trip_loader_reads(text):
    """Values, positions and refusals of `parse_bounded` (libyaml events) are those of the pure
    round-trip load, including what it leaves to that load (duplicates, directives, complex keys)."""
    assert fast_reading(text) == reference_reading(text)


def test_the_c_pass_reads_every_contract_as_the_round_trip_loader_does():
    files = sorted({*CONTRACTS_DIR.rglob("*.yaml"), *CORPUS.parent.rglob("*.yaml")})
    assert len(files) > 20
    for path in files:
        text = path.read_text("utf-8", errors="replace")
        assert fast_reading(text) == reference_reading(text), path


def test_a_contract_is_read_by_the_c_pass_itself():
    from checks.safe_yaml import _plain_from_c_events

    text = NWG.read_text("utf-8")
    assert _plain_from_c_events(text) == reference_reading(text)
