"""itemType schemas: loading, Arrow types, and mistakes located by JSON path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from ldtransform.errors import SchemaError
from ldtransform.schema import DIMENSION_PATH, ItemSchema, load_schema


def account(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "itemType": "Account",
        "category": "entity",
        "primaryKey": ["accountId"],
        "fields": [
            {"name": "accountId", "type": "string",
             "constraints": {"required": True, "unique": True, "pattern": "^[A-Z0-9]+$"}},
            {"name": "exposure", "type": "number", "constraints": {"minimum": 0}},
            {"name": "creditBlock", "type": "boolean"},
            {"name": "accountClass", "type": "enumeration",
             "constraints": {"enum": ["/Account/accountClass[invoiced]",
                                      "/Account/accountClass[cash]"]}},
            {"name": "licenseValidFrom", "type": "datetime"},
            {"name": "deliveryDays", "type": "array", "items": "string"},
            {"name": "addresses", "type": "array", "fields": [
                {"name": "city", "type": "string", "constraints": {"maxLength": 40}},
                {"name": "primary", "type": "boolean"},
            ]},
        ],
    }
    document.update(changes)
    return document


def test_load_from_file_and_arrow_types(tmp_path: Path) -> None:
    path = tmp_path / "Account.json"
    path.write_text(json.dumps(account()))
    schema = load_schema(path)
    assert schema.item_type == "Account" and schema.primary_key == ("accountId",)
    assert schema.field("accountId").required
    arrow = schema.to_arrow()
    assert arrow.field("accountId").type == pa.string()
    assert not arrow.field("accountId").nullable
    assert arrow.field("exposure").type == pa.float64()
    assert arrow.field("deliveryDays").type == pa.list_(pa.string())
    assert arrow.field("addresses").type == pa.list_(pa.struct(
        [("city", pa.string()), ("primary", pa.bool_())]))


@pytest.mark.parametrize(("change", "path", "text"), [
    ({"itemType": ""}, "$.itemType", "itemType"),
    ({"category": "thing"}, "$.category", "'entity' or 'work'"),
    ({"primaryKey": ["nope"]}, "$.primaryKey", "'nope' is not among the fields"),
    ({"fields": []}, "$.fields", "non-empty list"),
])
def test_document_level_mistakes(change: dict[str, Any], path: str, text: str) -> None:
    with pytest.raises(SchemaError) as caught:
        ItemSchema.from_dict(account(**change), source="Account.json")
    assert caught.value.path == path and text in str(caught.value)
    assert str(caught.value).startswith("Account.json: " + path)


@pytest.mark.parametrize(("field", "path", "text"), [
    ({"name": "x", "type": "text"}, "$.fields[7].type", "unknown type 'text'"),
    ({"name": "x", "constraints": {"pattern": "(["}}, "$.fields[7].constraints.pattern",
     "not a valid regular expression"),
    ({"name": "x", "type": "number", "constraints": {"enum": ["1"]}},
     "$.fields[7].constraints.enum", "not number"),
    ({"name": "x", "type": "integer", "constraints": {"maxLength": 3}},
     "$.fields[7].constraints.maxLength", "this is integer"),
    ({"name": "x", "type": "boolean", "constraints": {"minimum": 0}},
     "$.fields[7].constraints.minimum", "not boolean"),
    ({"name": "x", "constraints": {"requried": True}}, "$.fields[7].constraints.requried",
     "unknown constraint"),
    ({"name": "x", "type": "enumeration", "constraints": {"enum": ["invoiced"]}},
     "$.fields[7].constraints.enum[0]", "not a dimension path"),
    ({"name": "accountId"}, "$.fields[7].name", "listed twice"),
    ({"name": "x", "type": "string", "fields": [{"name": "y"}]}, "$.fields[7].fields",
     "only object and array"),
])
def test_field_mistakes_name_their_json_path(field: dict[str, Any], path: str, text: str
                                             ) -> None:
    document = account()
    document["fields"].append(field)
    with pytest.raises(SchemaError) as caught:
        ItemSchema.from_dict(document)
    assert caught.value.path == path, str(caught.value)
    assert text in str(caught.value)


def test_nested_mistake_path() -> None:
    document = account()
    document["fields"][6]["fields"][0]["type"] = "str"
    with pytest.raises(SchemaError, match=r"\$\.fields\[6\]\.fields\[0\]\.type"):
        ItemSchema.from_dict(document)


def test_unreadable_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match="cannot read the schema"):
        load_schema(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"itemType": "Account",\n "fields": [}')
    with pytest.raises(SchemaError, match="line 2"):
        load_schema(broken)


@pytest.mark.parametrize(("path", "valid"), [
    ("/Account/accountClass[invoiced]", True),
    ("/Account/accountFamily[]/group[]", True),
    ("/Workflow/cartType[Order]/processType[ZBTO]", True),
    ("invoiced", False),
    ("/Account[x]", False),
    ("/Account/accountClass[a]b", False),
])
def test_dimension_path_grammar(path: str, valid: bool) -> None:
    assert bool(DIMENSION_PATH.match(path)) is valid
