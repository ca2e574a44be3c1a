"""One catalogue of issue codes: the README shows it, and both checkers speak it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import ldtransform
from ldtransform import issue_codes as codes
from ldtransform.schema import ItemSchema
from ldtransform.server.records import RecordChecker

README = Path(__file__).resolve().parents[1] / "README.md"
SERVER_DOC = README.parent / "docs" / "server.md"
PACKAGE = README.parent / "ldtransform"

CITY = {"name": "f", "type": "array",
        "fields": [{"name": "city", "constraints": {"maxLength": 3}}]}

#: (schema field named "f", a value of it, the code both checkers give, the field path)
CASES: list[tuple[dict[str, Any], Any, str, str]] = [
    ({"name": "f", "type": "integer"}, "abc", codes.TYPE_ERROR, "f"),
    ({"name": "f", "type": "date"}, "2014-13-45", codes.TYPE_ERROR, "f"),
    ({"name": "f", "type": "datetime"}, "yesterday", codes.TYPE_ERROR, "f"),
    ({"name": "f", "type": "boolean"}, "perhaps", codes.TYPE_ERROR, "f"),
    ({"name": "f", "constraints": {"required": True}}, None, codes.MISSING_VALUE, "f"),
    ({"name": "f", "constraints": {"maxLength": 3}}, "abcd", codes.TOO_LONG, "f"),
    ({"name": "f", "constraints": {"minLength": 3}}, "ab", codes.TOO_SHORT, "f"),
    ({"name": "f", "type": "integer", "constraints": {"minimum": 5}}, 3,
     codes.BELOW_MINIMUM, "f"),
    ({"name": "f", "type": "number", "constraints": {"maximum": 5}}, 9.5,
     codes.ABOVE_MAXIMUM, "f"),
    ({"name": "f", "constraints": {"pattern": "[A-Z]+"}}, "abc", codes.PATTERN_MISMATCH, "f"),
    ({"name": "f", "constraints": {"enum": ["USD", "CAD"]}}, "GBP", codes.NOT_IN_ENUM, "f"),
    ({"name": "f", "type": "enumeration"}, "nope", codes.INVALID_DIMENSION_PATH, "f"),
    (CITY, [{"city": "Boston"}], codes.TOO_LONG, "f[0].city"),
]


def schema_of(field: dict[str, Any]) -> ItemSchema:
    return ItemSchema.from_dict({"itemType": "Thing", "fields": [field]})


@pytest.mark.parametrize(("field", "value", "code", "path"), CASES,
                         ids=[f"{c[0].get('type', 'string')}-{c[2]}" for c in CASES])
def test_toolkit_and_server_give_the_same_code(field: dict[str, Any], value: Any, code: str,
                                               path: str) -> None:
    schema = schema_of(field)
    report = ldtransform.validate(pa.table({"f": [value]}), schema).report
    assert [(i.field, i.code) for i in report.issues] == [(path, code)]
    problems = RecordChecker(schema).check({"f": value})
    assert [(p, c) for p, c, _ in problems] == [(path, code)]


def test_every_shared_field_check_has_a_case() -> None:
    shared = {c.code for c in codes.CATALOGUE.values() if c.checker == "both"}
    assert shared == {code for _, _, code, _ in CASES}


def test_the_readme_shows_the_catalogue() -> None:
    text = README.read_text(encoding="utf-8")
    start = text.index("| code | severity | what it means |")
    end = text.index("\n\n", start) + 1
    assert text[start:end] == codes.markdown_table()


def test_the_server_docs_name_every_code_the_record_checker_gives() -> None:
    text = SERVER_DOC.read_text(encoding="utf-8")
    for entry in codes.CATALOGUE.values():
        if entry.checker != "toolkit":
            assert f"`{entry.code}`" in text, entry.code


def test_the_package_names_problems_only_by_catalogued_codes() -> None:
    """An issue is built from a catalogue constant, never from a bare string."""
    bare = re.compile(r"\b(?:Issue|_BadRecord)\((?:code=)?[\"']")
    for module in PACKAGE.rglob("*.py"):
        text = module.read_text(encoding="utf-8")
        assert not bare.search(text), module
        for name in re.findall(r"\bcodes\.([A-Z][A-Z_]+)\b", text):
            if name != "CATALOGUE":
                assert getattr(codes, name) in codes.CATALOGUE, (module, name)


def test_templates_fill_the_parts_given_and_keep_the_rest() -> None:
    entry = codes.CATALOGUE[codes.TOO_LONG]
    assert entry.render(limit=3, unit="characters") == "{value} is longer than 3 characters"
    assert entry.severity == "error" and codes.CATALOGUE[codes.EXTRA_COLUMN].severity == "warning"


def test_an_issue_is_built_by_name_only() -> None:
    """Positional fields would let a row pass for a field; only names are taken."""
    from ldtransform.protocols import Issue

    issue = Issue(code=codes.TOO_LONG, message="too long", row=3, field="name")
    assert (issue.row, issue.field, issue.severity) == (3, "name", "error")
    with pytest.raises(TypeError):
        Issue(codes.TOO_LONG, "too long")  # type: ignore[misc]
