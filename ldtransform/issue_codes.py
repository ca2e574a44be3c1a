"""Every issue code, in one catalogue: its severity, title and meaning.

The toolkit's readers and validation and the server's record checker name problems with
these codes, so a value that breaks ``maxLength`` is ``too-long`` wherever it is checked.
Each code is a plain string constant (``TOO_LONG == "too-long"``) and has an
:class:`IssueCode` in :data:`CATALOGUE`, from which the README's table of codes is rendered
(:func:`markdown_table`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ldtransform.protocols import Severity

__all__ = ["CATALOGUE", "IssueCode", "markdown_table", "message"]

Checker = Literal["toolkit", "server", "both"]


@dataclass(frozen=True)
class IssueCode:
    """One kind of problem.

    ``template`` is the message with ``{placeholders}``; :meth:`render` fills the ones it
    is given and leaves the rest (``{value}``, ``{field}``) for the checker to fill per value.
    ``checker`` says who reports it: the toolkit, the server's record checker, or both.
    """

    code: str
    severity: Severity
    title: str
    description: str
    template: str | None = None
    checker: Checker = "toolkit"

    def render(self, **parts: object) -> str:
        """The template with the given placeholders filled in."""
        text = self.template or self.title
        for name, part in parts.items():
            text = text.replace("{" + name + "}", str(part))
        return text


CATALOGUE: dict[str, IssueCode] = {}


def _code(code: str, severity: Severity, title: str, description: str,
          template: str | None = None, checker: Checker = "toolkit") -> str:
    CATALOGUE[code] = IssueCode(code, severity, title, description, template, checker)
    return code


# The table of the schema: columns against fields.
MISSING_COLUMN = _code("missing-column", "error", "Missing column",
                       "a required field has no column (every row is rejected)",
                       "the required field {field} has no column; add it or map a column to it")
EXTRA_COLUMN = _code("extra-column", "warning", "Extra column",
                     "a column that is no field (without a mapping; `--extra-columns error` "
                     "makes it an error that rejects every row, `ignore` silences it)",
                     "column {column} is not a field of {item_type}")

# One value against one field: the checks both checkers make.
MISSING_VALUE = _code("missing-value", "error", "Missing value",
                      "a required field (or a required child list) is empty",
                      "{field} is required but empty", "both")
TYPE_ERROR = _code("type-error", "error", "Type error",
                   "the value cannot become the field's type",
                   "{value} is not {expected}", "both")
NOT_IN_ENUM = _code("not-in-enum", "error", "Not in enum", "the value is not among `enum`",
                    "{value} is not one of {allowed}", "both")
INVALID_DIMENSION_PATH = _code("invalid-dimension-path", "error", "Invalid dimension path",
                               "an `enumeration` value without `enum` that is no "
                               "dimension path", None, "both")
TOO_SHORT = _code("too-short", "error", "Too short",
                  "text length (or list entries) below `minLength`",
                  "{value} is shorter than {limit} {unit}", "both")
TOO_LONG = _code("too-long", "error", "Too long",
                 "text length (or list entries) above `maxLength`",
                 "{value} is longer than {limit} {unit}", "both")
PATTERN_MISMATCH = _code("pattern-mismatch", "error", "Pattern mismatch",
                         "the whole value does not match `pattern`",
                         "{value} does not match the pattern {pattern}", "both")
BELOW_MINIMUM = _code("below-minimum", "error", "Below minimum",
                      "a number or date below `minimum`",
                      "{value} is below the minimum {limit}", "both")
ABOVE_MAXIMUM = _code("above-maximum", "error", "Above maximum",
                      "a number or date above `maximum`",
                      "{value} is above the maximum {limit}", "both")

# Values against other rows.
DUPLICATE_VALUE = _code("duplicate-value", "error", "Duplicate value",
                        "a `unique` field's value was seen before (the message names the row)")
DUPLICATE_KEY = _code("duplicate-key", "error", "Duplicate key",
                      "the primary key was seen before (the message names the row)")
FIELD_ORDER = _code("field-order", "error", "Field order",
                    "built-in validator: one field's value comes after another's (e.g. a "
                    "license's valid-from after its valid-to)")
ORPHAN_CHILD_ROW = _code("orphan-child-row", "error", "Orphan child row",
                         "a row of a keyed child table (mapping) whose key matches no parent, "
                         "or is empty")

# Rows a reader could not read.
TOO_MANY_FIELDS = _code("too-many-fields", "error", "Too many fields",
                        "a CSV row with more values than the header has columns")
TOO_FEW_FIELDS = _code("too-few-fields", "error", "Too few fields",
                       "a CSV row with fewer values than the header has columns")
UNTERMINATED_QUOTE = _code("unterminated-quote", "error", "Unterminated quote",
                           "a CSV value whose quote is never closed")
STRAY_QUOTE = _code("stray-quote", "error", "Stray quote",
                    "a CSV value with text after its closing quote (`\"ab\"c`)")
DELIMITER_HINT = _code("delimiter-hint", "warning", "Delimiter hint",
                       "the CSV file looks split by another delimiter than the one used")
INVALID_JSON = _code("invalid-json", "error", "Invalid JSON",
                     "a JSON record (or JSON Lines line) that is not valid JSON")
NOT_AN_OBJECT = _code("not-an-object", "error", "Not an object",
                      "a JSON record that is a list, text or number instead of an object")
DUPLICATE_JSON_KEY = _code("duplicate-json-key", "error", "Duplicate JSON key",
                           "a JSON object with the same name twice")
NESTED_TOO_DEEPLY = _code("nested-too-deeply", "error", "Nested too deeply",
                          "a JSON record nested deeper than can be read")
COLUMN_CLASH = _code("column-clash", "error", "Column clash",
                     "a JSON record whose fields cannot become columns (a name that is both "
                     "a value and a record)")

# Records the server's import rejects for reasons only it sees.
UNKNOWN_FIELD = _code("unknown-field", "error", "Unknown field",
                      "a record's field that the itemType schema does not have",
                      "the itemType schema has no such field", "server")


def message(code: str, **parts: object) -> str:
    """The message of ``code`` with ``parts`` filled in (see :meth:`IssueCode.render`)."""
    return CATALOGUE[code].render(**parts)


def markdown_table() -> str:
    """The README's table of the codes the toolkit reports, one row per code."""
    lines = ["| code | severity | what it means |", "|------|----------|---------------|"]
    lines += [f"| `{c.code}` | {c.severity} | {c.description} |"
              for c in CATALOGUE.values() if c.checker != "server"]
    return "\n".join(lines) + "\n"
