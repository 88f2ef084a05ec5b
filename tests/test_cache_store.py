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
        lambda blob: blob.replace(b"-v2", b"-v9", 1),  # another version's header
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


def test_a_save_appends_what_is_new(tmp_path: Path) -> None:
    """A second build adds its entries at the end of the same file, not a new copy of it."""
    path = tmp_path / "entries.store"
    first = CacheStore(path, 1 << 20)
    first.put("a", b"1" * 1000)
    first.save()
    before = path.stat()
    second = CacheStore(path, 1 << 20)
    assert second.get("a") == b"1" * 1000
    second.put("b", b"2")
    second.save()
    after = path.stat()
    assert after.st_ino == before.st_ino
    assert after.st_size == before.st_size + 12 + 2
    assert (CacheStore(path, 1 << 20).get("a"), CacheStore(path, 1 << 20).get("b")) == (
        b"1" * 1000,
        b"2",
    )


def test_a_torn_append_keeps_the_records_before_it(tmp_path: Path) -> None:
    path = tmp_path / "entries.store"
    for key in ("a", "b"):
        store = CacheStore(path, 1 << 20)
        store.put(key, key.encode() * 100)
        store.save()
    path.write_bytes(path.read_bytes()[:-10])
    torn = CacheStore(path, 1 << 20)
    assert (torn.get("a"), torn.get("b")) == (b"a" * 100, None)
    torn.put("c", b"c")
    torn.save()  # rewritten whole
    again = CacheStore(path, 1 << 20)
    assert (again.get("a"), again.get("b"), again.get("c")) == (b"a" * 100, None, b"c")


def test_a_damaged_record_is_a_miss_found_when_read_and_the_next_save_drops_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "entries.store"
    for key in ("a", "b"):
        store = CacheStore(path, 1 << 20)
        store.put(key, key.encode() * 100)
        store.save()
    blob = path.read_bytes()
    flipped = blob.index(b"a" * 100) + 50
    path.write_bytes(blob[:flipped] + b"A" + blob[flipped + 1 :])  # inside a's value
    damaged = CacheStore(path, 1 << 20)
    assert (damaged.get("a"), damaged.get("b"), len(damaged)) == (None, b"b" * 100, 1)
    damaged.put("c", b"c")
    damaged.save()  # rewritten whole, without a
    assert b"A" not in path.read_bytes()
    again = CacheStore(path, 1 << 20)
    assert (again.get("a"), again.get("b"), again.get("c")) == (None, b"b" * 100, b"c")


def test_the_size_is_bounded_and_the_oldest_entries_go_first(tmp_path: Path) -> None:
    """Over the bound the file is rewritten to three quarters of it, oldest entries dropped.
    Each entry here is 23 bytes (12 of record header, a 1-byte key, 10 bytes), the header 19."""
    path = tmp_path / "entries.store"
    first = CacheStore(path, 200)
    for key in "abcdefghij":
        first.put(key, b"x" * 10)
    first.save()  # 249 bytes: rewritten to at most 150
    assert sorted(CacheStore(path, 200)._loaded()) == list("fghij")
    second = CacheStore(path, 200)
    second.put("k", b"x" * 10)
    second.save()  # appended: 157 bytes
    assert len(CacheStore(path, 200)) == 6
    third = CacheStore(path, 200)
    assert third.get("f") is not None  # used by this build: kept over older entries
    third.put("l", b"x" * 10)
    third.put("m", b"x" * 10)
    third.save()  # 203 bytes: rewritten
    assert sorted(CacheStore(path, 200)._loaded()) == list("fjklm")
    assert path.stat().st_size <= 150


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
