"""generator/cache_store.py: many cache entries in one file, loaded once, saved atomically."""

from __future__ import annotations

import multiprocessing
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator import cache_store
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
    assert sorted(CacheStore(path, 200)._loaded().keys_in_order()) == list("fghij")
    second = CacheStore(path, 200)
    second.put("k", b"x" * 10)
    second.save()  # appended: 157 bytes
    assert len(CacheStore(path, 200)) == 6
    third = CacheStore(path, 200)
    assert third.get("f") is not None  # used by this build: kept over older entries
    third.put("l", b"x" * 10)
    third.put("m", b"x" * 10)
    third.save()  # 203 bytes: rewritten
    assert sorted(CacheStore(path, 200)._loaded().keys_in_order()) == list("fjklm")
    assert path.stat().st_size <= 150


def _save_many(path: str, worker: int, max_bytes: int) -> None:
    for round_ in range(20):
        store = CacheStore(Path(path), max_bytes)
        store.put(f"{worker}-{round_}", bytes([worker]) * 50_000)
        store.save()


def _read_many(path: str, stop: Any) -> None:
    """Read every entry again and again while others save: each is missing or exact."""
    while not stop.is_set():
        store = CacheStore(Path(path), 1 << 24)
        for worker in range(3):
            for round_ in range(20):
                value = store.get(f"{worker}-{round_}")
                if value is not None and value != bytes([worker]) * 50_000:
                    os._exit(3)


@pytest.mark.parametrize("max_bytes", [1 << 24, 400_000])  # appends only; rewrites too
def test_concurrent_saves_never_corrupt_nor_lose_entries(tmp_path: Path, max_bytes: int) -> None:
    path = tmp_path / "entries.store"
    context = multiprocessing.get_context("fork")
    stop = context.Event()
    reader = context.Process(target=_read_many, args=(str(path), stop))
    reader.start()
    workers = [context.Process(target=_save_many, args=(str(path), w, max_bytes)) for w in range(3)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(60)
        assert process.exitcode == 0
    stop.set()
    reader.join(60)
    assert reader.exitcode == 0
    store = CacheStore(path, 1 << 24)
    values = {f"{w}-{r}": store.get(f"{w}-{r}") for w in range(3) for r in range(20)}
    assert all(v in (None, bytes([int(k[0])]) * 50_000) for k, v in values.items())
    assert len(store) == (60 if max_bytes == 1 << 24 else len(store.path.read_bytes()) // 50_000)
    assert not _read_whole(store)  # the last save's index describes the file
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "entries.store",
        "entries.store.index",
        "entries.store.lock",
    ]


# The index (`<file>.index`): a store reads only the records asked for when it describes the
# file, and parses the file as before whenever it does not; either way the values are exact.


def _saved(path: Path, entries: dict[str, bytes], max_bytes: int = 1 << 20) -> None:
    store = CacheStore(path, max_bytes)
    for key, value in entries.items():
        store.put(key, value)
    store.save()


def _index(path: Path) -> Path:
    return path.with_name(path.name + ".index")


def _read_whole(store: CacheStore) -> bool:
    """Whether the store parsed its whole file (rather than trust an index)."""
    return store._loaded().blob is not None


def test_an_index_that_describes_the_file_spares_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "entries.store"
    _saved(path, {"a": b"1" * 100, "b": b"2"})
    _saved(path, {"c": b"3", "a": b"4"})  # appended: a's latest record is the second
    store = CacheStore(path, 1 << 20)
    assert (store.get("a"), store.get("b"), store.get("c"), len(store)) == (b"4", b"2", b"3", 3)
    assert not _read_whole(store)


@pytest.mark.parametrize(
    "spoil",
    [
        lambda index: index.unlink(),  # absent (a store written before indexes)
        lambda index: index.write_bytes(index.read_bytes()[:-7]),  # torn
        lambda index: index.write_bytes(b"garbage"),
        lambda index: index.write_bytes(index.read_bytes().replace(b"-v1", b"-v7", 1)),
        lambda index: index.write_bytes(index.read_bytes()[:-1] + b"\0"),  # its checksum fails
    ],
)
def test_a_missing_or_spoilt_index_is_ignored_and_written_anew(
    tmp_path: Path, spoil: object
) -> None:
    path = tmp_path / "entries.store"
    _saved(path, {"a": b"1", "b": b"2"})
    _saved(path, {"a": b"3"})
    spoil(_index(path))  # type: ignore[operator]
    store = CacheStore(path, 1 << 20)
    assert (store.get("a"), store.get("b"), len(store)) == (b"3", b"2", 2)
    assert _read_whole(store)
    store.save()  # nothing added: writes the index only
    again = CacheStore(path, 1 << 20)
    assert (again.get("a"), again.get("b"), len(again)) == (b"3", b"2", 2)
    assert not _read_whole(again)


def test_the_index_of_another_file_is_ignored(tmp_path: Path) -> None:
    """An index copied from another store, or left from the file before a rewrite (a crash
    came between the two): its inode is not this file's."""
    path, other = tmp_path / "entries.store", tmp_path / "other.store"
    _saved(path, {"a": b"1"})
    _saved(other, {"a": b"2"})
    _index(path).write_bytes(_index(other).read_bytes())
    store = CacheStore(path, 1 << 20)
    assert (store.get("a"), len(store)) == (b"1", 1)
    assert _read_whole(store)
    store.save()  # writes this file's index
    _saved(tmp_path / "third.store", {"a": b"3", "b": b"4"})
    os.replace(tmp_path / "third.store", path)  # another inode, the index left as it was
    replaced = CacheStore(path, 1 << 20)
    assert (replaced.get("a"), replaced.get("b")) == (b"3", b"4")
    assert _read_whole(replaced)


def test_a_file_rewritten_in_place_is_not_what_its_index_describes(tmp_path: Path) -> None:
    """The same inode and size, other records (written by something else than a store): the
    checksum of the file's tail tells; a's first record is where the index says a's is, but
    a later one wins."""
    path = tmp_path / "entries.store"
    _saved(path, {"a": b"1", "b": b"2"})
    rewritten = (
        cache_store._HEADER + cache_store._record("a", b"2") + cache_store._record("a", b"3")
    )
    assert len(rewritten) == path.stat().st_size
    with open(path, "r+b") as handle:  # the same inode
        handle.write(rewritten)
    store = CacheStore(path, 1 << 20)
    assert (store.get("a"), store.get("b")) == (b"3", None)
    assert _read_whole(store)


def test_an_index_whose_locations_are_wrong_has_the_file_parsed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A record read where the index says is checked to be the key's (its key and lengths):
    otherwise the index does not describe the file, which is parsed."""
    path = tmp_path / "entries.store"
    real_index = cache_store._index

    def lying(fd: int, identity: tuple[int, int], end: int, entries: dict[str, int]) -> bytes:
        entries = dict(zip(entries, reversed(entries.values()), strict=True))
        return real_index(fd, identity, end, entries)

    monkeypatch.setattr(cache_store, "_index", lying)
    _saved(path, {"a": b"1", "b": b"22"})
    store = CacheStore(path, 1 << 20)
    assert not _read_whole(store)
    assert (store.get("a"), store.get("b")) == (b"1", b"22")
    assert _read_whole(store)


def test_records_appended_after_the_end_the_index_describes_are_parsed_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash between an append and its index (or an older gen appending): the index
    describes the file up to where it was; the records after that are parsed, and win."""
    path = tmp_path / "entries.store"
    _saved(path, {"a": b"1", "b": b"2"})
    monkeypatch.setattr(cache_store, "replace_file", lambda path, blob, mode: None)  # the crash
    _saved(path, {"a": b"3", "c": b"4"})
    monkeypatch.undo()
    store = CacheStore(path, 1 << 20)
    assert (store.get("a"), store.get("b"), store.get("c"), len(store)) == (b"3", b"2", b"4", 3)
    assert not _read_whole(store)
    store.put("d", b"5")
    store.save()
    again = CacheStore(path, 1 << 20)
    assert (again.get("a"), again.get("c"), again.get("d")) == (b"3", b"4", b"5")
    assert again._loaded().indexed_end == path.stat().st_size


def test_a_crash_between_a_rewrite_and_its_index_leaves_an_index_that_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "entries.store"
    _saved(path, {"a": b"1" * 40, "b": b"2" * 40})
    monkeypatch.setattr(cache_store, "replace_file", lambda path, blob, mode: None)  # the crash
    _saved(path, {"a": b"3" * 40}, max_bytes=150)  # rewritten: b dropped
    monkeypatch.undo()
    store = CacheStore(path, 1 << 20)
    assert (store.get("a"), store.get("b")) == (b"3" * 40, None)
    assert _read_whole(store)


def test_a_store_reads_the_file_it_opened_after_another_replaced_it(tmp_path: Path) -> None:
    path = tmp_path / "entries.store"
    _saved(path, {"a": b"1" * 40, "b": b"2" * 40})
    reader = CacheStore(path, 1 << 20)
    assert reader.get("a") == b"1" * 40  # the file is open
    _saved(path, {"c": b"3" * 40}, max_bytes=150)  # rewritten without a nor b
    assert (reader.get("b"), CacheStore(path, 1 << 20).get("b")) == (b"2" * 40, None)


class _Model:
    """Two stores on one file and what each should answer: the file as it was when the store
    first read it (or last saved), and what it put since. Other operations change the index
    (lost, or one saved earlier: of this file or of one it replaced) or tear an append."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.stores = [CacheStore(path, 400), CacheStore(path, 400)]
        self.disk: dict[str, bytes] = {}
        self.seen: list[dict[str, bytes] | None] = [None, None]
        self.added: list[dict[str, bytes]] = [{}, {}]
        self.indexes: list[bytes] = []
        self.torn = False  # two torn appends in a row could read as one whole, damaged record

    def read(self, number: int) -> dict[str, bytes]:
        """What the store read of the file (it reads it now if it has not yet)."""
        seen = self.seen[number]
        if seen is None:
            seen = self.seen[number] = dict(self.disk)
        return seen

    def expected(self, number: int, key: str) -> bytes | None:
        added = self.added[number]
        return added[key] if key in added else self.read(number).get(key)

    def put(self, number: int, key: str, value: bytes) -> None:
        self.stores[number].put(key, value)
        self.added[number][key] = value

    def get(self, number: int, key: str) -> None:
        assert self.stores[number].get(key) == self.expected(number, key)

    def len(self, number: int) -> None:
        keys = self.read(number).keys() | self.added[number].keys()
        assert len(self.stores[number]) == len(keys)

    def save(self, number: int) -> None:
        self.stores[number].save()
        if self.added[number]:  # appended, or rewritten: whole again
            self.disk.update(self.added[number])
            self.seen[number], self.added[number] = dict(self.disk), {}
            self.torn = False
        index = _index(self.path)
        if index.exists() and index.read_bytes() not in self.indexes[-1:]:
            self.indexes.append(index.read_bytes())

    def reopen(self, number: int) -> None:
        self.stores[number] = CacheStore(self.path, 400)
        self.seen[number], self.added[number] = None, {}

    def lose_index(self) -> None:
        _index(self.path).unlink(missing_ok=True)

    def old_index(self, back: int) -> None:
        if self.indexes:
            _index(self.path).write_bytes(self.indexes[-1 - back % len(self.indexes)])

    def torn_append(self, key: str, value: bytes, cut: int) -> None:
        """What a save that crashed amid its append leaves."""
        if self.path.exists() and not self.torn:
            record = cache_store._record(key, value)
            with open(self.path, "ab") as handle:
                handle.write(record[: cut % (len(record) - 1) + 1])
            self.torn = True


_KEYS = st.sampled_from("abc")
_STORE = st.sampled_from([0, 1])
_PUT = st.tuples(st.just("put"), _STORE, _KEYS, st.binary(max_size=30))
_GET = st.tuples(st.just("get"), _STORE, _KEYS)
_SAVE = st.tuples(st.just("save"), _STORE)
_OLD_INDEX = st.tuples(st.just("old_index"), st.integers(0, 3))
_OPS = st.lists(
    st.one_of(
        *(_PUT, _PUT, _GET, _GET, _SAVE, _SAVE, _OLD_INDEX, _OLD_INDEX),  # more often
        st.tuples(st.just("reopen"), _STORE),
        st.tuples(st.just("len"), _STORE),
        st.tuples(st.just("lose_index")),
        st.tuples(st.just("torn_append"), _KEYS, st.binary(max_size=30), st.integers(0, 99)),
    ),
    min_size=20,  # hypothesis draws lists of 5 operations on average otherwise
    max_size=60,
)


@settings(max_examples=100, deadline=None)
@given(_OPS)
def test_two_stores_on_one_file_answer_as_a_dict_would(ops: list[tuple[Any, ...]]) -> None:
    """Whatever index lies beside the file, or none, each store answers as `_Model` says. The
    bound (400 bytes) makes saves rewrite the file, never drop an entry (3 of 43 bytes at most);
    at the end, a new store answers what the file holds beside every index the file had."""
    with tempfile.TemporaryDirectory() as folder:
        model = _Model(Path(folder) / "entries.store")
        for name, *args in ops:
            getattr(model, name)(*args)
        for number in (0, 1):
            for key in "abc":
                model.get(number, key)
        for index in model.indexes:
            _index(model.path).write_bytes(index)
            new = CacheStore(model.path, 400)
            assert {key: new.get(key) for key in "abc"} == {k: model.disk.get(k) for k in "abc"}


def test_files_have_the_mode_given_else_the_owners_alone(tmp_path: Path) -> None:
    for mode, expected in ((None, 0o600), (0o644, 0o644)):
        path = tmp_path / f"{mode}" / "entries.store"
        store = CacheStore(path, 1 << 20, mode)
        store.put("a", b"1")
        store.save()
        grown = CacheStore(path, 40, mode)  # past its bound: rewritten
        grown.put("b", b"2" * 30)
        grown.save()
        index = path.with_name(path.name + ".index")
        assert CacheStore(path, 1 << 20).get("b") == b"2" * 30
        assert {p.stat().st_mode & 0o777 for p in (path, index)} == {expected}


def test_a_file_that_cannot_be_appended_to_is_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another user's file, readable, in a folder this user may write."""
    path = tmp_path / "entries.store"
    first = CacheStore(path, 1 << 20, 0o644)
    first.put("one", b"1")
    first.save()
    real_open = open

    def read_only(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if mode == "r+b":
            raise PermissionError(file)
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(cache_store, "open", read_only, raising=False)
    second = CacheStore(path, 1 << 20, 0o644)
    second.put("two", b"2")
    second.save()
    monkeypatch.undo()
    again = CacheStore(path, 1 << 20)
    assert (again.get("one"), again.get("two")) == (b"1", b"2")
