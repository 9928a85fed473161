"""The reader directory (users and their groups) is read with the contracts' bounded YAML loader: a
hostile file is refused in one line naming the file and line, never constructed or expanded."""

from __future__ import annotations

import pytest

from assets.gold.views import DirectoryError, load_directory


def test_a_directory_file_maps_users_to_groups(tmp_path):
    path = tmp_path / "directory.yaml"
    path.write_text("users:\n  ana@demo.example: [analysts, nwg_us]\n", "utf-8")
    assert load_directory(path) == {"ana@demo.example": ["analysts", "nwg_us"]}
    assert load_directory(tmp_path / "missing.yaml") == {}


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("users: !!python/object/apply:os.system ['echo pwned']\n", "tag"),
        ("a: &a [x, x, x, x, x, x, x, x, x, x]\n"
         + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)},"
                   f" *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)},"
                   f" *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(8))
         + "users: *i\n", "nodes"),
        ("users:\n  ana: [a\n", "invalid YAML"),
    ],
)
def test_a_hostile_directory_file_is_refused_in_one_line(tmp_path, text, why):
    path = tmp_path / "directory.yaml"
    path.write_text(text, "utf-8")
    with pytest.raises(DirectoryError) as refused:
        load_directory(path)
    message = str(refused.value)
    assert message.startswith(f"{path}:") and "\n" not in message
    assert why in message
