"""In-memory store of API objects keyed by (resource, namespace, name), with indexes.

Pure: no I/O, no clock. Informers write it; reconcilers read it. Objects are the dicts the API
returned and are shared: readers must not mutate them (copy first).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ironlb.kube.resources import Resource

__all__ = ["Cache", "IndexFunc", "Key", "key_of", "namespace_index"]

Obj = dict[str, Any]
Key = tuple[str, str]  # (namespace, name); namespace "" for cluster-scoped objects
IndexFunc = Callable[[Obj], Iterable[str]]


def key_of(obj: Obj) -> Key:
    meta = obj.get("metadata") or {}
    return meta.get("namespace") or "", meta["name"]


def namespace_index(obj: Obj) -> list[str]:
    """The built-in ``namespace`` index every resource gets."""
    return [key_of(obj)[0]]


class _Store:
    def __init__(self) -> None:
        self.objects: dict[Key, Obj] = {}
        self.index_funcs: dict[str, IndexFunc] = {"namespace": namespace_index}
        # index name -> value -> keys; and what each key is indexed under, to undo it
        self.indexes: dict[str, dict[str, set[Key]]] = {"namespace": {}}
        self.indexed: dict[str, dict[Key, tuple[str, ...]]] = {"namespace": {}}

    def _unindex(self, key: Key) -> None:
        for name, values_by_key in self.indexed.items():
            for value in values_by_key.pop(key, ()):
                bucket = self.indexes[name].get(value)
                if bucket is not None:
                    bucket.discard(key)
                    if not bucket:
                        del self.indexes[name][value]

    def _index(self, key: Key, obj: Obj) -> None:
        for name, func in self.index_funcs.items():
            values = tuple(dict.fromkeys(func(obj)))  # dedup, keep order
            self.indexed[name][key] = values
            for value in values:
                self.indexes[name].setdefault(value, set()).add(key)

    def put(self, key: Key, obj: Obj) -> None:
        self._unindex(key)
        self.objects[key] = obj
        self._index(key, obj)

    def pop(self, key: Key) -> Obj | None:
        self._unindex(key)
        return self.objects.pop(key, None)


class Cache:
    """Objects of many resources; see the module docstring."""

    def __init__(self) -> None:
        self._stores: dict[Resource, _Store] = {}

    def _store(self, resource: Resource) -> _Store:
        store = self._stores.get(resource)
        if store is None:
            store = self._stores[resource] = _Store()
        return store

    # ------------------------------------------------------------------ reads

    def get(self, resource: Resource, namespace: str | None, name: str) -> Obj | None:
        """The object, or None (absence is how a deletion shows)."""
        return self._store(resource).objects.get((namespace or "", name))

    def list(self, resource: Resource, namespace: str | None = None) -> list[Obj]:
        """All objects of ``resource`` (in one namespace if given), sorted by (namespace, name)."""
        store = self._store(resource)
        if namespace is None:
            keys: Iterable[Key] = store.objects
        else:
            keys = store.indexes["namespace"].get(namespace, ())
        return [store.objects[key] for key in sorted(keys)]

    def keys(self, resource: Resource) -> set[Key]:
        return set(self._store(resource).objects)

    def __len__(self) -> int:
        return sum(len(store.objects) for store in self._stores.values())

    def add_index(self, resource: Resource, name: str, func: IndexFunc) -> None:
        """Index ``resource`` objects by ``func(obj)`` values (existing objects included)."""
        store = self._store(resource)
        if name in store.index_funcs:
            raise ValueError(f"index {name!r} on {resource}: already defined")
        store.index_funcs[name] = func
        store.indexes[name] = {}
        store.indexed[name] = {}
        for key, obj in store.objects.items():
            values = tuple(dict.fromkeys(func(obj)))
            store.indexed[name][key] = values
            for value in values:
                store.indexes[name].setdefault(value, set()).add(key)

    def by_index(self, resource: Resource, name: str, value: str) -> list[Obj]:
        """Objects whose index ``name`` yields ``value``, sorted by (namespace, name)."""
        store = self._store(resource)
        if name not in store.indexes:
            raise KeyError(f"index {name!r} on {resource}: not defined (add_index first)")
        keys = store.indexes[name].get(value, ())
        return [store.objects[key] for key in sorted(keys)]

    # ----------------------------------------------------------------- writes

    def upsert(self, resource: Resource, obj: Obj) -> bool:
        """Store ``obj``; False if the same resourceVersion was already there (no change)."""
        key = key_of(obj)
        store = self._store(resource)
        old = store.objects.get(key)
        if old is not None and _rv(old) == _rv(obj) and _rv(obj):
            return False
        store.put(key, obj)
        return True

    def delete(self, resource: Resource, namespace: str | None, name: str) -> Obj | None:
        """Remove and return the object, or None if it was not there."""
        return self._store(resource).pop((namespace or "", name))


def _rv(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")
