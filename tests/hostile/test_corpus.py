"""The hostile-input corpus (tests/fixtures/hostile/): each case through the real CLI in a child
process, with its expected exit code and one-line message, within generous time and memory limits,
writing nothing outside the data home.

Each case is a folder with `case.json` (`args` with placeholders, `exit`, a `stderr` or `stdout`
pattern, optional `max_seconds`/`max_rss_mb`) and its input, or the name of a generator below for
inputs too large to commit (they are written into the test's temporary folder at run time). A case
may also set up the data home: `demo_data` (arguments of `generate`), `landing` files (copied, links
or pipes), `env` (e.g. a database URL holding the secret), and expect `ledger` verdicts and `reasons`.
The secret of `SECRET` must never appear in the data home or the output.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from assets.bronze.ledger import read_ledger
from shelfguard.demo_data import generate
from shelfguard.settings import DataHome
from tests.bronze.conftest import HEADER, nwg_row
from tests.conftest import CONTRACTS_DIR
from tests.hostile.harness import CORPUS, run_cli, tree

NWG_CONTRACT = CONTRACTS_DIR / "retailers" / "nwg_us" / "nwg_us.odcs.yaml"
MAX_SECONDS = 120
MAX_RSS_MB = 1500
MB = 1_000_000
SECRET = "root-only-secret-line: s3cr3t-c0ntent"
"""In a file outside the data home (links point at it) and in URLs (redaction hides it)."""


def _no_newline(path: Path) -> None:
    with path.open("wb") as handle:
        for _ in range(100):
            handle.write(b"x" * MB)


def _huge_field(path: Path) -> None:
    rest = nwg_row().split(",", 1)[1]
    path.write_bytes(f"{HEADER}\n".encode() + b"y" * (50 * MB) + f",{rest}\n".encode())


def _nested_mappings(path: Path) -> None:
    path.write_text("{a: " * 100_000 + "1" + "}" * 100_000 + "\n", "utf-8")


def _nested_lists(path: Path) -> None:
    path.write_text("[" * 200_000 + "]" * 200_000 + "\n", "utf-8")


def _nested_json(path: Path) -> None:
    path.write_text("[" * 200_000 + "]" * 200_000 + "\n", "utf-8")


def _huge_json_field(path: Path) -> None:
    path.write_bytes(b'{"a": "' + b"x" * (50 * MB) + b'"}\n')


def _xlsx_zip_bomb(path: Path) -> None:
    """A valid workbook whose one sheet is 20 million rows of XML, compressed to about 3 MB."""
    ns = "http://schemas.openxmlformats.org/"
    parts = {
        "[Content_Types].xml": f'<Types xmlns="{ns}package/2006/content-types"><Default Extension="xml" '
                               'ContentType="application/xml"/></Types>',
        "_rels/.rels": f'<Relationships xmlns="{ns}package/2006/relationships"><Relationship Id="r1" '
                       f'Type="{ns}officeDocument/2006/relationships/officeDocument" '
                       'Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<workbook xmlns="{ns}spreadsheetml/2006/main" '
                           f'xmlns:r="{ns}officeDocument/2006/relationships"><sheets>'
                           '<sheet name="S" sheetId="1" r:id="r1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{ns}package/2006/relationships"><Relationship '
                                      f'Id="r1" Type="{ns}officeDocument/2006/relationships/worksheet" '
                                      'Target="worksheets/sheet1.xml"/></Relationships>',
    }
    rows = b'<row><c t="inlineStr"><is><t>x</t></is></c></row>' * 20_000
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as workbook:
        for name, text in parts.items():
            workbook.writestr(name, text)
        with workbook.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(f'<worksheet xmlns="{ns}spreadsheetml/2006/main"><sheetData>'.encode())
            for _ in range(1000):
                sheet.write(rows)
            sheet.write(b"</sheetData></worksheet>")


def _oversize_contract(path: Path) -> None:
    path.write_text("description: " + "x" * (2 * MB) + "\n", "utf-8")


def _pyyaml_dump_with_aliases(path: Path) -> None:
    """nwg_us's contract with equal sub-objects made one shared object, dumped by PyYAML (which
    writes a shared object once with `&id001` and then `*id001`)."""
    seen: dict[str, object] = {}

    def share(node: object) -> object:
        if isinstance(node, dict):
            node = {key: share(value) for key, value in node.items()}
        elif isinstance(node, list):
            node = [share(value) for value in node]
        else:
            return node
        return seen.setdefault(json.dumps(node, sort_keys=True), node)

    text = yaml.dump(share(yaml.safe_load(NWG_CONTRACT.read_text("utf-8"))), sort_keys=False)
    assert "&id001" in text and "*id001" in text
    path.write_text(text, "utf-8")


GENERATORS: dict[str, Callable[[Path], None]] = {
    "no_newline_100mb": _no_newline,
    "huge_field_50mb": _huge_field,
    "nested_mappings_100k": _nested_mappings,
    "nested_lists_200k": _nested_lists,
    "contract_2mb": _oversize_contract,
    "nested_json_200k": _nested_json,
    "huge_json_field_50mb": _huge_json_field,
    "xlsx_zip_bomb_1gb": _xlsx_zip_bomb,
    "pyyaml_dump_with_aliases": _pyyaml_dump_with_aliases,
}
CASES = sorted(p.parent.name for p in CORPUS.glob("*/case.json"))


def _landing(home: Path, landing: dict[str, dict[str, dict[str, str]]], folder: Path,
             places: dict[str, str]) -> None:
    """Landing files as the case describes them, in delivery order (one second of mtime apart):
    `copy` a file of the case folder, `link_to` a path, or a `fifo`."""
    moment = 1_790_000_000
    for code, files in landing.items():
        target = home / "landing" / code
        target.mkdir(parents=True, exist_ok=True)
        for name, how in files.items():
            path = target / name
            if "copy" in how:
                shutil.copyfile(folder / how["copy"], path)
            elif "link_to" in how:
                path.symlink_to(_placed(how["link_to"], places))
            else:
                os.mkfifo(path)
            moment += 1
            os.utime(path, (moment, moment), follow_symlinks=False)


def _placed(text: str, places: dict[str, str]) -> str:
    for place, value in places.items():
        text = text.replace(place, value)
    return text


@pytest.mark.slow
@pytest.mark.parametrize("name", CASES)
def test_hostile_case(name: str, tmp_path: Path) -> None:
    folder = CORPUS / name
    spec = json.loads((folder / "case.json").read_text("utf-8"))
    inputs, home, work = tmp_path / "inputs", tmp_path / "home", tmp_path / "work"
    inputs.mkdir()
    home.mkdir()
    source = folder / spec.get("input", "")
    if "generate" in spec:
        source = inputs / spec["input"]
        GENERATORS[spec["generate"]](source)
    good = inputs / "nwg_pos_20261102.csv"
    good.write_text("\n".join([HEADER, *(nwg_row(item=str(5000 + i)) for i in range(5))]) + "\n", "utf-8")
    secret = tmp_path / "outside" / "secret.txt"  # outside the data home, like /etc/passwd
    secret.parent.mkdir()
    secret.write_text(f"{SECRET}\nsecond line\n", "utf-8")
    places = {"{input}": str(source), "{folder}": str(folder), "{nwg_contract}": str(NWG_CONTRACT),
              "{good_data}": str(good), "{home}": str(home), "{secret}": SECRET, "{secret_file}": str(secret)}
    if "demo_data" in spec:
        generate(DataHome(home).ensure(), **spec["demo_data"])
    _landing(home, spec.get("landing", {}), folder, places)
    args = [_placed(arg, places) for arg in spec["args"]]
    env = {key: _placed(value, places) for key, value in spec.get("env", {}).items()}
    corpus_before, inputs_before = tree(CORPUS), tree(inputs)

    run = run_cli(args, home=home, work=work, timeout=spec.get("max_seconds", MAX_SECONDS), env=env)

    assert not run.timed_out, f"{name}: still running after {run.seconds:.0f} s"
    assert run.peak_rss_mb < spec.get("max_rss_mb", MAX_RSS_MB), f"{name}: peak RSS {run.peak_rss_mb:.0f} MB"
    assert run.code == spec["exit"], f"{name}: exit {run.code}\n{run.stderr[-3000:]}"
    assert "Traceback" not in run.stderr + run.stdout
    if "stderr" in spec:
        lines = run.stderr.splitlines()
        assert len(lines) == 1, f"{name}: expected one line on stderr, got:\n{run.stderr[-3000:]}"
        assert re.search(spec["stderr"], lines[0]), lines[0]
        assert len(lines[0]) <= 2_100, "messages are bounded"
        assert run.stdout == "", "nothing on stdout when the input cannot be judged"
    if "stdout" in spec:
        assert re.search(spec["stdout"], run.stdout), run.stdout[-3000:]
    if "ledger" in spec:
        entries = read_ledger(DataHome(home).warehouse).iter_rows(named=True)
        found = {Path(e["source"]).name if e["channel"] == "landing" else e["object"]: e for e in entries}
        assert {key: e["verdict"] for key, e in found.items()} == spec["ledger"]
        for key, pattern in spec.get("reasons", {}).items():
            assert re.search(pattern, found[key]["reason"]), found[key]["reason"]
    for path in home.rglob("*"):
        if path.is_file() and not path.is_symlink() and not stat.S_ISFIFO(path.lstat().st_mode):
            assert SECRET.encode() not in path.read_bytes(), f"{name}: the secret is in {path}"
    assert SECRET not in run.stdout + run.stderr
    assert tree(CORPUS) == corpus_before and tree(inputs) == inputs_before, "inputs are never modified"
    assert tree(work / "cwd") == {} and tree(work / "tmp") == {}, "nothing written outside the data home"
