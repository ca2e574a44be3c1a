from __future__ import annotations

import pyarrow as pa
import pytest

from ldtransform._memory import lean_memory_pool


def test_a_conversion_allocates_from_the_lean_pool_and_restores_the_default(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)
    before = pa.default_memory_pool().backend_name
    with lean_memory_pool():
        inside = pa.default_memory_pool().backend_name
        with lean_memory_pool():  # nested: still the lean pool, not restored early
            assert pa.default_memory_pool().backend_name == inside
        assert pa.default_memory_pool().backend_name == inside
    assert inside in ("jemalloc", "system")
    assert pa.default_memory_pool().backend_name == before


def test_a_pool_the_user_chose_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARROW_DEFAULT_MEMORY_POOL", "system")
    before = pa.default_memory_pool().backend_name
    with lean_memory_pool():
        assert pa.default_memory_pool().backend_name == before
