"""What ``ldtransform plugin new`` writes: a package with an entry point, a working plugin
of one kind, its contract tests and a README, from the templates in ``plugin_templates``."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from string import Template
from typing import Literal

from ldtransform._version import __version__
from ldtransform.errors import ConfigError
from ldtransform.registry import GROUPS

__all__ = ["KINDS", "new_plugin"]

Kind = Literal["reader", "writer", "validator", "transform"]
KINDS: tuple[Kind, ...] = ("reader", "writer", "validator", "transform")
SUITES = {"reader": "ReaderContract", "writer": "WriterContract",
          "validator": "ValidatorContract", "transform": "TransformContract"}
_NAME = re.compile(r"[a-z][a-z0-9]*([-_.][a-z0-9]+)*")

USAGE = {
    "reader": """```python
import ldtransform

frames = ldtransform.read("data.${plugin}", encoding="cp1252")  # options are keywords
```

On the command line the suffix picks the reader, and `-o` passes its options:
`ldtransform inspect data.${plugin} -o encoding=cp1252 -o delimiter=";"`.""",
    "writer": """```python
import ldtransform

ldtransform.convert("accounts.csv", schema="Account.json", to="${plugin}", out="out")
```

On the command line: `ldtransform convert accounts.csv --schema Account.json --to ${plugin}
--out out` (its options, if you add some, as `-w key=value`).""",
    "validator": """A schema runs it by naming it in its `checks`, with its options:

```json
"checks": [{"name": "${plugin}", "field": "accountId"}]
```""",
    "transform": """A mapping or pipeline file runs it by name, with its options:

```toml
transforms = [{name = "${plugin}", columns = ["name"]}]
```""",
}


def new_plugin(name: str, kind: Kind, where: Path) -> Path:
    """Write the package for plugin distribution ``name`` in ``where/name``; return it."""
    if not _NAME.fullmatch(name):
        raise ConfigError(f"{name!r} is not a distribution name for a plugin: use lower-case "
                          "letters, digits and '-', starting with a letter, e.g. "
                          "ldtransform-fixedwidth")
    plugin = name.removeprefix("ldtransform-").replace("_", "-")
    if plugin == name and name == "ldtransform":
        raise ConfigError("name the plugin after what it does, e.g. ldtransform-fixedwidth")
    words = re.split(r"[-.]", plugin)
    values = {
        "dist": name,
        "module": re.sub(r"[-.]", "_", name),
        "plugin": plugin if kind != "transform" else plugin.replace("-", "_"),
        "cls": "".join(word.capitalize() for word in words) + kind.capitalize(),
        "kind": kind,
        "group": GROUPS[kind],
        "contract": SUITES[kind],
        "summary": f"The {plugin} {kind} for ldtransform.",
        "ldtransform_version": ".".join(__version__.split(".")[:2]),
    }
    values["usage"] = Template(USAGE[kind]).substitute(values)
    folder = where / name
    if folder.exists():
        raise ConfigError(f"{folder} exists already; choose another name or remove it")
    files = {
        "pyproject.toml": "pyproject.toml.tmpl",
        "README.md": "README.md.tmpl",
        f"{values['module']}/__init__.py": f"{kind}.py.tmpl",
        f"tests/test_{values['module']}.py": f"test_{kind}.py.tmpl",
    }
    templates = resources.files("ldtransform.cli") / "plugin_templates"
    for relative, template in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        text = (templates / template).read_text(encoding="utf-8")
        path.write_text(Template(text).substitute(values), encoding="utf-8")
    return folder
