"""Safe YAML loading with a span for every key and value.

libyaml composes the node tree (marks included); scalars are constructed by PyYAML's safe
constructor, so only plain data comes out. Duplicate keys, merge keys and custom tags are errors.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

from generator.diagnostics import Diagnostics, Span
from generator.incremental import CacheMismatch, FileCache, cache_mode

try:
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML without libyaml
    _Loader = yaml.SafeLoader

Path_ = tuple[str | int, ...]

_STANDARD_TAGS = {
    "tag:yaml.org,2002:" + name
    for name in ("str", "int", "float", "bool", "null", "timestamp", "map", "seq")
}
_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"


#: Where a value or key is written: (line, column), both 1-based.
Place = tuple[int, int]


@dataclass
class LoadedFile:
    """One spec file: its label (as shown in diagnostics), its data and the places of its parts.

    Places are kept as (line, column) pairs and made into a `Span` when one is asked for: a
    file has a place for every key and value, and most are never shown (building them all cost
    a fifth of loading 200 files from the cache)."""

    label: str
    data: Any
    rel: str = ""
    digest: str = ""  # of the file's text: what the file's own results are keyed by
    places: dict[Path_, Place] = field(default_factory=dict)
    key_places: dict[Path_, Place] = field(default_factory=dict)
    raw_scalars: dict[Path_, str] = field(default_factory=dict)

    @property
    def spans(self) -> dict[Path_, Span]:
        """The span of every value, by path."""
        return {path: Span(self.label, *place) for path, place in self.places.items()}

    @property
    def key_spans(self) -> dict[Path_, Span]:
        """The span of every mapping key, by the path of its value."""
        return {path: Span(self.label, *place) for path, place in self.key_places.items()}

    def has(self, path: Path_) -> bool:
        """True when the file writes a value at path."""
        return path in self.places

    def span(self, path: Path_) -> Span:
        """The span of the value at path, or of its nearest ancestor."""
        places = self.places
        while path:
            place = places.get(path)
            if place is not None:
                return Span(self.label, *place)
            path = path[:-1]
        place = places.get(())
        return Span(self.label, *place) if place is not None else Span(self.label, 1, 1)

    def key_span(self, path: Path_) -> Span:
        """The span of the key that names path (falls back to the value)."""
        place = self.key_places.get(path)
        return Span(self.label, *place) if place is not None else self.span(path)


def find_spec_files(spec_dir: Path) -> list[Path]:
    """Every *.yaml / *.yml below spec_dir, sorted by their relative path."""
    files = [p for p in spec_dir.rglob("*") if p.suffix in {".yaml", ".yml"} and p.is_file()]
    return sorted(files, key=lambda p: p.relative_to(spec_dir).as_posix())


def load_specs(
    spec_dir: Path,
    diags: Diagnostics,
    label_root: str | None = None,
    cache: FileCache | None = None,
) -> list[LoadedFile]:
    """Load every spec file below spec_dir; problems go to diags. With a cache, a file loaded
    before (same label and text) without any problem is taken from it."""
    root = label_root if label_root is not None else spec_dir.as_posix()
    loaded = []
    for path in find_spec_files(spec_dir):
        rel = path.relative_to(spec_dir).as_posix()
        label = f"{root.rstrip('/')}/{rel}" if root not in ("", ".") else rel
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            diags.error("E001", f"not valid UTF-8 (byte {exc.start})", Span(label, 1, 1))
            continue
        result = _load_cached(label, text, diags, cache) if cache else load_file(label, text, diags)
        if result is not None:
            result.rel = rel
            result.digest = text_digest(text)
            loaded.append(result)
    return loaded


def text_digest(text: str) -> str:
    """A digest of a spec file's text."""
    return hashlib.blake2b(text.encode("utf-8", "surrogateescape"), digest_size=16).hexdigest()


def load_file(label: str, text: str, diags: Diagnostics) -> LoadedFile | None:
    """Parse one file's text; None when it is not valid YAML."""
    try:
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        span = Span(label, mark.line + 1, mark.column + 1) if mark else Span(label, 1, 1)
        diags.error("E002", f"invalid YAML: {exc.problem or exc.context}", span)
        return None
    except yaml.YAMLError as exc:
        diags.error("E002", f"invalid YAML: {exc}", Span(label, 1, 1))
        return None
    if len(nodes) > 1:
        diags.error("E003", "a spec file holds one YAML document", _span(label, nodes[1]))
    loaded = LoadedFile(label=label, data=None)
    if nodes and nodes[0] is not None:
        loaded.data = _Builder(loaded, diags).build(nodes[0], ())
    return loaded


#: A loaded file as the cache keeps it: data, then (line, column) of each value and key span,
#: then the raw scalars.
Stored = tuple[Any, dict[Path_, Place], dict[Path_, Place], dict[Path_, str]]


def _load_cached(label: str, text: str, diags: Diagnostics, cache: FileCache) -> LoadedFile | None:
    """load_file, through the cache; a file with a problem is never cached (its diagnostics
    are reported by loading it again)."""
    inputs = f"yaml\0{label}\0{text}"
    stored: Stored | None = cache.get(inputs)
    if stored is not None and cache_mode() != "verify":
        return _from_stored(label, stored)
    found = Diagnostics()
    loaded = load_file(label, text, found)
    diags.extend(found.items)
    if loaded is None or found.items:
        return loaded
    fresh = _stored(loaded)
    if stored is not None and stored != fresh:
        raise CacheMismatch(f"GEN_EMIT_CACHE=verify: the cached load of {label} differs")
    cache.put(inputs, fresh)
    return loaded


def _stored(loaded: LoadedFile) -> Stored:
    return loaded.data, dict(loaded.places), dict(loaded.key_places), dict(loaded.raw_scalars)


def _from_stored(label: str, stored: Stored) -> LoadedFile:
    data, places, key_places, raw_scalars = stored
    return LoadedFile(label, data, places=places, key_places=key_places, raw_scalars=raw_scalars)


def _span(label: str, node: yaml.Node) -> Span:
    return Span(label, *_place(node))


def _place(node: yaml.Node) -> Place:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Builder:
    """Turns a node tree into dicts, lists and scalars, recording places as it goes (a `Span`
    is made only for a diagnostic: a file has a key for every few values, and few are shown)."""

    def __init__(self, loaded: LoadedFile, diags: Diagnostics) -> None:
        self.loaded = loaded
        self.diags = diags
        self.constructor = SafeConstructor()

    def build(self, node: yaml.Node, path: Path_) -> Any:
        self.loaded.places[path] = _place(node)
        if node.tag not in _STANDARD_TAGS:
            self.diags.error("E004", f"unsupported YAML tag `{node.tag}`", self.loaded.span(path))
            return None
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        if node.tag == _STR_TAG:
            return node.value  # what the constructor makes of a string, without its bookkeeping
        value = self.constructor.construct_object(node, deep=True)
        if not isinstance(value, str):
            self.loaded.raw_scalars[path] = str(node.value)
        return value

    def _mapping(self, node: yaml.MappingNode, path: Path_) -> dict[str, Any]:
        result: dict[str, Any] = {}
        key_places = self.loaded.key_places
        for key_node, value_node in node.value:
            place = _place(key_node)
            if key_node.tag == _MERGE_TAG:
                self._error("E005", "YAML merge keys (`<<`) are not supported", place)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self._error("E006", "a mapping key must be a plain name", place)
                continue
            key = str(key_node.value)
            key_path = (*path, key)
            if key in result:
                first = Span(self.loaded.label, *key_places[key_path])
                self._error("E007", f"duplicate key `{key}` (first defined at {first})", place)
                continue
            key_places[key_path] = place
            result[key] = self.build(value_node, key_path)
        return result

    def _error(self, code: str, message: str, place: Place) -> None:
        self.diags.error(code, message, Span(self.loaded.label, *place))


def walk(data: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    """Every (path, value) pair of a loaded value, depth first."""
    yield path, data
    if isinstance(data, dict):
        for key, value in data.items():
            yield from walk(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from walk(value, (*path, i))
