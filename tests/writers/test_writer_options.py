"""The writer's options as one value: the same conversion as the keywords, checked alike."""

from __future__ import annotations

from pathlib import Path

import pytest

import ldtransform
from ldtransform.writers import WriterOptions, make_writer

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
SCHEMA = SAMPLES / "schemas" / "Account.json"
FLAT = SAMPLES / "mappings" / "accounts-flat.toml"


def parts(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.name != "manifest.json"}


@pytest.mark.parametrize(("to", "keywords", "options"), [
    ("csv", {"csv_delimiter": ";", "spreadsheet_safe": True},
     WriterOptions(delimiter=";", spreadsheet_safe=True)),
    ("items-jsonl", {"action": "Merge", "empty": "clear"},
     WriterOptions(action="Merge", empty="clear")),
])
def test_the_object_writes_what_the_keywords_write(tmp_path: Path, to: str,
                                                   keywords: dict[str, object],
                                                   options: WriterOptions) -> None:
    by_keywords = ldtransform.convert(SAMPLES / "accounts.csv", schema=SCHEMA, mapping=FLAT,
                                      out=tmp_path / "a", to=to, **keywords)
    by_object = ldtransform.convert(SAMPLES / "accounts.csv", schema=SCHEMA, mapping=FLAT,
                                    out=tmp_path / "b", to=to, writer_options=options)
    assert parts(tmp_path / "a") == parts(tmp_path / "b") != {}
    assert (by_keywords.empty, by_keywords.left_out) == (by_object.empty, by_object.left_out)


def test_keywords_and_the_object_together_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ldtransform.ConfigError, match="not both"):
        ldtransform.convert(SAMPLES / "accounts.csv", schema=SCHEMA, mapping=FLAT,
                            out=tmp_path, action="Merge",
                            writer_options=WriterOptions(action="Merge"))
    assert not list(tmp_path.iterdir())


def test_an_option_the_writer_does_not_take_is_named() -> None:
    with pytest.raises(ldtransform.ConfigError, match="json writer does not take delimiter"):
        make_writer("json", None, WriterOptions(delimiter=";"))


def test_options_by_writer_keyword_keep_the_ones_of_one_writer() -> None:
    options = WriterOptions.of({"delimiter": ";", "mode": "row", "action": None})
    assert options == WriterOptions(delimiter=";", other={"mode": "row"})
    assert options.keywords() == {"delimiter": ";", "mode": "row"}


def test_a_partial_action_lets_fields_go_without_a_column() -> None:
    assert WriterOptions(action="Merge").partial
    assert not WriterOptions(action="Create").partial
    assert not WriterOptions(action="Merge", action_column="op").partial
