"""The store owns the server's SQL and the layout of its data folder."""

from __future__ import annotations

import ast
from pathlib import Path

import ldtransform.server
from ldtransform.server.store import Store

SERVER = Path(ldtransform.server.__file__).parent
#: sqlguard runs the user's own export query, not the server's SQL.
_OWNERS = {"store.py", "sqlguard.py"}


def test_only_the_store_runs_sql() -> None:
    calls = []
    for module in sorted(SERVER.glob("*.py")):
        if module.name in _OWNERS:
            continue
        for node in ast.walk(ast.parse(module.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("execute", "executemany", "executescript")):
                calls.append(f"{module.name}:{node.lineno}")
    assert calls == []


def test_registered_files_are_found_only_inside_the_data_folder(tmp_path: Path) -> None:
    store = Store(tmp_path / "data")
    rejects = store.rejections_file("job-1")
    rejects.parent.mkdir(parents=True)
    rejects.write_text("{}\n")
    store.add_file(job_id="job-1", community="Demo", kind="rejects", name="r.ndjson",
                   path=rejects, records=1, size=3)
    (tmp_path / "outside.txt").write_text("secret")
    with store.write() as conn:  # a registration pointing out of the folder
        conn.execute("UPDATE files SET path = '../outside.txt'")
    assert store.stored_path(store.files_of("job-1")[0]) is None
    with store.write() as conn:
        conn.execute("UPDATE files SET path = ?", (str(rejects.relative_to(store.data_dir)),))
    assert store.stored_path(store.files_of("job-1")[0]) == rejects.resolve()
    rejects.unlink()
    assert store.stored_path(store.files_of("job-1")[0]) is None
