"""generator/cache_store.py: many cache entries in one file, loaded once, saved atomically."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from generator.cache_store import CacheStore


def test_round_trip(tmp_path: Path) -> None:
    store = CacheStore(tmp_path / "c" / "entries.store", 1 << 20)
    assert store.get("a") is None
    store.put("a", b"one")
    store.put("b", b"")
    assert store.get("a") == b"one"
    store.save()
    again = CacheStore(tmp_path / "c" / "entries.store", 1 << 20)
    assert (again.get("a"), again.get("b"), again.get("c"), len(again)) == (b"one", b"", None, 2)


def test_nothing_added_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "entries.store"
    CacheStore(path, 1 << 20).save()
    assert not path.exists()
    store = CacheStore(path, 1 << 20)
    store.put("a", b"1")
    store.save()
    before = path.stat()
    reader = CacheStore(path, 1 << 20)
    assert reader.get("a") == b"1"
    reader.save()
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


@pytest.mark.parametrize(
    "damage",
    [
        lambda blob: blob[:-1],  # truncated
        lambda blob: blob[:-1] + bytes([blob[-1] ^ 1]),  # one bit flipped
        lambda blob: b"garbage",
        lambda blob: b"",
        lambda blob: blob.replace(b"marshal", b"marshaL", 1),  # another format's header
    ],
)
def test_a_damaged_file_is_an_empty_cache_and_is_replaced(tmp_path: Path, damage: object) -> None:
    path = tmp_path / "entries.store"
    store = CacheStore(path, 1 << 20)
    store.put("a", b"1")
    store.save()
    path.write_bytes(damage(path.read_bytes()))  # type: ignore[operator]
    damaged = CacheStore(path, 1 << 20)
    assert damaged.get("a") is None
    damaged.put("b", b"2")
    damaged.save()
    assert CacheStore(path, 1 << 20).get("b") == b"2"


def test_an_unreadable_or_unwritable_place_only_costs_the_cache(tmp_path: Path) -> None:
    (tmp_path / "dir.store").mkdir()
    store = CacheStore(tmp_path / "dir.store", 1 << 20)  # a folder where the file should be
    assert store.get("a") is None
    store.put("a", b"1")
    store.save()
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    below_a_file = CacheStore(blocker / "entries.store", 1 << 20)
    below_a_file.put("a", b"1")
    below_a_file.save()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir.store", "dir.store.lock", "file"]


def test_the_size_is_bounded_and_this_builds_entries_are_kept_first(tmp_path: Path) -> None:
    path = tmp_path / "entries.store"
    old = CacheStore(path, 100)
    for key in "abcde":
        old.put(key, b"x" * 10)
    old.save()
    new = CacheStore(path, 40)
    assert new.get("e") is not None
    new.put("f", b"y" * 10)
    new.save()
    kept = CacheStore(path, 100)
    assert kept.get("e") is not None and kept.get("f") is not None
    assert 2 <= len(kept) <= 3  # 11 bytes an entry, 40 at most


def _save_many(path: str, worker: int) -> None:
    for round_ in range(20):
        store = CacheStore(Path(path), 1 << 24)
        store.put(f"{worker}-{round_}", bytes([worker]) * 50_000)
        store.save()


def test_concurrent_saves_never_corrupt_nor_lose_entries(tmp_path: Path) -> None:
    path = tmp_path / "entries.store"
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_save_many, args=(str(path), w)) for w in range(3)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(60)
        assert process.exitcode == 0
    store = CacheStore(path, 1 << 24)
    assert len(store) == 60
    assert store.get("2-19") == bytes([2]) * 50_000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["entries.store", "entries.store.lock"]
