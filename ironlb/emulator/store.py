"""Objects, the global resourceVersion, the bounded watch history and optimistic concurrency.

Pure and synchronous: the server calls in from one event loop, so each call is atomic.
Time comes in as `now` (epoch seconds). Admission hooks (`Hook`) mutate/validate writes
(Service IP allocation, CRD registration, CR schema checks) and hear about commits.
"""

from __future__ import annotations

import copy
import datetime as dt
import random
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ironlb.emulator import errors
from ironlb.emulator.builtin import DEFAULT_NAMESPACES, ResourceType, builtin_types
from ironlb.emulator.meta_validation import check_shape, validate_labels, validate_name

Obj = dict[str, Any]
ObjKey = tuple[str, str]  # (namespace, name); namespace "" for cluster-scoped
TypeKey = tuple[str, str]  # (group, plural)
NAMESPACES: TypeKey = ("", "namespaces")
_GEN_CHARS = "bcdfghjklmnpqrstvwxz2456789"


@dataclass
class WatchEvent:
    rv: int
    key: TypeKey
    type: str  # ADDED, MODIFIED, DELETED
    obj: Obj
    prev: Obj | None = None


class Hook(Protocol):
    def admit(self, op: str, rt: ResourceType, obj: Obj, old: Obj | None) -> None:
        """Mutate or reject (ApiError) a write before it is committed. op: create/update."""

    def committed(self, op: str, rt: ResourceType, obj: Obj, old: Obj | None) -> None:
        """React to a committed write. op: create/update/delete."""


def timestamp(now: float) -> str:
    return dt.datetime.fromtimestamp(int(now), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def meta(obj: Obj) -> dict[str, Any]:
    return obj.setdefault("metadata", {})


def obj_key(obj: Obj) -> ObjKey:
    md = obj.get("metadata", {})
    return (md.get("namespace") or "", md.get("name") or "")


@dataclass
class Store:
    history_size: int = 1000
    rv: int = 0
    compacted: int = 0  # every event with rv > compacted is still in history
    types: dict[TypeKey, ResourceType] = field(default_factory=dict)
    objects: dict[TypeKey, dict[ObjKey, Obj]] = field(default_factory=dict)
    history: deque[WatchEvent] = field(default_factory=deque)
    hooks: list[Hook] = field(default_factory=list)
    listeners: list[Callable[[WatchEvent], None]] = field(default_factory=list)
    live_uids: set[str] = field(default_factory=set)
    dependents: dict[str, set[tuple[TypeKey, ObjKey]]] = field(default_factory=dict)

    # ---- types ---------------------------------------------------------------
    def register(self, rt: ResourceType) -> None:
        self.types[rt.key] = rt
        self.objects.setdefault(rt.key, {})

    def unregister(self, key: TypeKey) -> None:
        self.types.pop(key, None)

    def find_type(self, group: str, version: str, plural: str) -> ResourceType | None:
        rt = self.types.get((group, plural))
        if rt is None or version not in rt.versions:
            return None
        return rt

    # ---- reads ---------------------------------------------------------------
    def get(self, rt: ResourceType, namespace: str, name: str) -> Obj:
        obj = self.objects.get(rt.key, {}).get((namespace, name))
        if obj is None:
            raise errors.not_found(rt.plural, rt.group, name)
        return copy.deepcopy(obj)

    def peek(self, key: TypeKey, namespace: str, name: str) -> Obj | None:
        return self.objects.get(key, {}).get((namespace, name))

    def items(self, key: TypeKey) -> Iterable[Obj]:
        return self.objects.get(key, {}).values()

    def list(
        self,
        rt: ResourceType,
        namespace: str,
        match: Callable[[Obj], bool],
        at_rv: int | None = None,
    ) -> list[Obj]:
        """Matching objects sorted by (namespace, name), at `at_rv` if given (else now)."""
        state = self.objects.get(rt.key, {}) if at_rv is None else self.state_at(rt.key, at_rv)
        out = []
        for key in sorted(state):
            if namespace and key[0] != namespace:
                continue
            obj = state[key]
            if match(obj):
                out.append(copy.deepcopy(obj))
        return out

    def state_at(self, key: TypeKey, rv: int) -> dict[ObjKey, Obj]:
        """Rewind current state through history; caller checks `rv >= compacted`."""
        state = dict(self.objects.get(key, {}))
        for ev in reversed(self.history):
            if ev.rv <= rv:
                break
            if ev.key != key:
                continue
            k = obj_key(ev.obj)
            if ev.type == "ADDED" or ev.prev is None:
                state.pop(k, None)
            else:
                state[k] = ev.prev
        return state

    def check_not_expired(self, rv: int) -> bool:
        return rv >= self.compacted

    def events_since(self, rv: int, key: TypeKey) -> list[WatchEvent]:
        return [ev for ev in self.history if ev.rv > rv and ev.key == key]

    # ---- writes --------------------------------------------------------------
    def create(
        self, rt: ResourceType, namespace: str, obj: Obj, now: float, dry_run: bool = False
    ) -> Obj:
        check_shape(rt.kind, obj)
        obj = copy.deepcopy(obj)
        md = meta(obj)
        self._check_namespace_on_create(rt, namespace, md)
        if not md.get("name"):
            if md.get("generateName"):
                md["name"] = md["generateName"] + "".join(random.choices(_GEN_CHARS, k=5))
            else:
                raise errors.invalid(
                    rt.kind,
                    rt.group,
                    "",
                    [errors.field_required("metadata.name", "name or generateName is required")],
                )
        name = md["name"]
        validate_name(rt, name)
        validate_labels(rt, obj)
        if (namespace, name) in self.objects[rt.key]:
            raise errors.already_exists(rt.plural, rt.group, name)
        obj["apiVersion"] = rt.api_version()
        obj["kind"] = rt.kind
        for transient in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds"):
            md.pop(transient, None)
        md["uid"] = str(uuid.uuid4())
        md["creationTimestamp"] = timestamp(now)
        if rt.generation:
            md["generation"] = 1
        else:
            md.pop("generation", None)
        if rt.status_subresource and not rt.keep_status_on_create:
            if rt.default_status is None:
                obj.pop("status", None)
            else:
                obj["status"] = copy.deepcopy(rt.default_status)
        for hook in self.hooks:
            hook.admit("create", rt, obj, None)
        if dry_run:
            return obj
        self._commit(rt, "ADDED", obj, None)
        for hook in self.hooks:
            hook.committed("create", rt, obj, None)
        return copy.deepcopy(obj)

    def _check_namespace_on_create(self, rt: ResourceType, namespace: str, md: dict) -> None:
        if not rt.namespaced:
            md.pop("namespace", None)
            return
        if md.get("namespace") and md["namespace"] != namespace:
            raise errors.bad_request(
                "the namespace of the provided object does not match the namespace sent on the"
                " request"
            )
        md["namespace"] = namespace
        ns = self.peek(NAMESPACES, "", namespace)
        if ns is None:
            raise errors.not_found("namespaces", "", namespace)
        if ns["metadata"].get("deletionTimestamp"):
            raise errors.forbidden(
                rt.plural,
                rt.group,
                md.get("name", ""),
                f"unable to create new content in namespace {namespace} because it is being"
                " terminated",
            )

    def update(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        new: Obj,
        now: float,
        subresource: str | None = None,
        dry_run: bool = False,
    ) -> Obj:
        current = self.peek(rt.key, namespace, name)
        if current is None:
            raise errors.not_found(rt.plural, rt.group, name)
        check_shape(rt.kind, new)
        new = copy.deepcopy(new)
        md = meta(new)
        if md.get("name") and md["name"] != name:
            raise errors.bad_request(
                f"the name of the object ({md['name']}) does not match the name on the URL ({name})"
            )
        if rt.namespaced and md.get("namespace") and md["namespace"] != namespace:
            raise errors.bad_request(
                "the namespace of the provided object does not match the namespace sent on the"
                " request"
            )
        sent_rv = str(md.get("resourceVersion") or "")
        if sent_rv and sent_rv != current["metadata"]["resourceVersion"]:
            raise errors.conflict(rt.plural, rt.group, name)
        if not sent_rv and not rt.unconditional_update:
            raise errors.invalid(
                rt.kind,
                rt.group,
                name,
                [
                    errors.Cause(
                        "FieldValueInvalid",
                        "Invalid value: 0x0: must be specified for an update",
                        "metadata.resourceVersion",
                    )
                ],
            )
        result = self._merge_update(rt, current, new, subresource)
        validate_labels(rt, result)
        _check_new_finalizers(rt, current, result)
        if _same(result, current):
            return copy.deepcopy(current)
        for hook in self.hooks:
            hook.admit("update", rt, result, current)
        if dry_run:
            return result
        if result["metadata"].get("deletionTimestamp") and not result["metadata"].get("finalizers"):
            return self._remove(rt, current, now, final=result)
        self._commit(rt, "MODIFIED", result, current)
        for hook in self.hooks:
            hook.committed("update", rt, result, current)
        return copy.deepcopy(result)

    def _merge_update(
        self, rt: ResourceType, current: Obj, new: Obj, subresource: str | None
    ) -> Obj:
        if subresource == "status":
            result = copy.deepcopy(current)
            if "status" in new:
                result["status"] = new["status"]
            else:
                result.pop("status", None)
            return result
        result = new
        result["apiVersion"] = current["apiVersion"]
        result["kind"] = current["kind"]
        md, old_md = result["metadata"], current["metadata"]
        for fixed in ("uid", "creationTimestamp", "deletionTimestamp", "namespace", "name"):
            if fixed in old_md:
                md[fixed] = old_md[fixed]
            else:
                md.pop(fixed, None)
        md["resourceVersion"] = old_md["resourceVersion"]
        if "deletionGracePeriodSeconds" in old_md:
            md["deletionGracePeriodSeconds"] = old_md["deletionGracePeriodSeconds"]
        if rt.status_subresource:
            if "status" in current:
                result["status"] = copy.deepcopy(current["status"])
            else:
                result.pop("status", None)
        if rt.generation:
            gen = old_md.get("generation", 1)
            md["generation"] = gen + 1 if _spec_changed(current, result) else gen
        else:
            md.pop("generation", None)
        return result

    def delete(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        now: float,
        preconditions: dict[str, Any] | None = None,
        dry_run: bool = False,
    ) -> tuple[Obj, bool]:
        """Delete or mark for deletion; returns (object, gone_now)."""
        current = self.peek(rt.key, namespace, name)
        if current is None:
            raise errors.not_found(rt.plural, rt.group, name)
        _check_preconditions(rt, current, preconditions or {})
        if dry_run:
            return copy.deepcopy(current), True
        if rt.key == NAMESPACES:
            return self._delete_namespace(rt, current, now)
        if current["metadata"].get("finalizers"):
            return self._mark_deleting(rt, current, now), False
        return self._remove(rt, current, now), True

    def _mark_deleting(self, rt: ResourceType, current: Obj, now: float) -> Obj:
        if current["metadata"].get("deletionTimestamp"):
            return copy.deepcopy(current)
        result = copy.deepcopy(current)
        result["metadata"]["deletionTimestamp"] = timestamp(now)
        result["metadata"]["deletionGracePeriodSeconds"] = 0
        if rt.key == NAMESPACES:
            result.setdefault("status", {})["phase"] = "Terminating"
        self._commit(rt, "MODIFIED", result, current)
        return copy.deepcopy(result)

    def _delete_namespace(self, rt: ResourceType, ns_obj: Obj, now: float) -> tuple[Obj, bool]:
        name = ns_obj["metadata"]["name"]
        marked = self._mark_deleting(rt, ns_obj, now)
        for key, t in list(self.types.items()):
            if not t.namespaced:
                continue
            for (ns, obj_name), _obj in list(self.objects.get(key, {}).items()):
                if ns == name and self.peek(key, ns, obj_name) is not None:
                    self.delete(t, ns, obj_name, now)
        return self._finish_namespace(name, now) or marked, self.peek(NAMESPACES, "", name) is None

    def _finish_namespace(self, name: str, now: float) -> Obj | None:
        """Remove a terminating namespace once nothing is left in it."""
        ns_obj = self.peek(NAMESPACES, "", name)
        if ns_obj is None or not ns_obj["metadata"].get("deletionTimestamp"):
            return None
        if ns_obj["metadata"].get("finalizers"):
            return None
        for key, t in self.types.items():
            if t.namespaced and any(k[0] == name for k in self.objects.get(key, {})):
                return None
        return self._remove(self.types[NAMESPACES], ns_obj, now)

    def _remove(self, rt: ResourceType, current: Obj, now: float, final: Obj | None = None) -> Obj:
        """Delete the stored `current`; the DELETED event shows `final` (the last update)."""
        gone = copy.deepcopy(final if final is not None else current)
        self.objects[rt.key].pop(obj_key(current), None)
        self._bump(gone)
        self._record(WatchEvent(self.rv, rt.key, "DELETED", gone, current))
        for hook in self.hooks:
            hook.committed("delete", rt, gone, current)
        self._collect_garbage(gone["metadata"].get("uid"), now)
        ns = gone["metadata"].get("namespace")
        if ns and rt.namespaced:
            self._finish_namespace(ns, now)
        return copy.deepcopy(gone)

    def _collect_garbage(self, uid: str | None, now: float) -> None:
        """Background cascading deletion: dependents whose owners are all gone."""
        if not uid:
            return
        self.live_uids.discard(uid)
        for key, okey in sorted(self.dependents.pop(uid, set())):
            obj = self.peek(key, *okey)
            rt = self.types.get(key)
            if obj is None or rt is None:
                continue
            owners = {r.get("uid") for r in obj["metadata"].get("ownerReferences") or []}
            if not owners & self.live_uids:
                self.delete(rt, okey[0], okey[1], now)

    def _index(self, key: TypeKey, obj: Obj, prev: Obj | None) -> None:
        """Keep the uid and owner indexes the garbage collector reads."""
        if prev is not None:
            for ref in prev["metadata"].get("ownerReferences") or []:
                self.dependents.get(ref.get("uid"), set()).discard((key, obj_key(prev)))
        self.live_uids.add(obj["metadata"].get("uid"))
        for ref in obj["metadata"].get("ownerReferences") or []:
            self.dependents.setdefault(ref.get("uid"), set()).add((key, obj_key(obj)))

    def remove_type_objects(self, key: TypeKey, now: float) -> None:
        rt = self.types.get(key)
        if rt is None:
            return
        for obj in list(self.objects.get(key, {}).values()):
            self._remove(rt, obj, now)

    def _bump(self, obj: Obj) -> None:
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)

    def _commit(self, rt: ResourceType, type_: str, obj: Obj, prev: Obj | None) -> None:
        self._bump(obj)
        stored = copy.deepcopy(obj)
        self.objects[rt.key][obj_key(obj)] = stored
        self._index(rt.key, stored, prev)
        self._record(WatchEvent(self.rv, rt.key, type_, stored, prev))

    def _record(self, ev: WatchEvent) -> None:
        self.history.append(ev)
        while len(self.history) > self.history_size:
            self.compacted = self.history.popleft().rv
        for listener in list(self.listeners):
            listener(ev)

    # ---- bootstrap and snapshot ---------------------------------------------------
    def bootstrap_types(self) -> None:
        for rt in builtin_types():
            self.register(rt)

    def bootstrap(self, now: float) -> None:
        self.bootstrap_types()
        for name in DEFAULT_NAMESPACES:
            self.create(self.types[NAMESPACES], "", {"metadata": {"name": name}}, now)

    def snapshot(self) -> dict[str, Any]:
        return {
            "resourceVersion": self.rv,
            "compacted": self.compacted,
            "objects": [
                {"group": k[0], "plural": k[1], "object": o}
                for k, objs in self.objects.items()
                for o in objs.values()
            ],
            "history": [
                {
                    "rv": e.rv,
                    "group": e.key[0],
                    "plural": e.key[1],
                    "type": e.type,
                    "object": e.obj,
                    "prev": e.prev,
                }
                for e in self.history
            ],
        }

    def restore(self, data: dict[str, Any]) -> None:
        """Load a snapshot (register the CRDs' types first)."""
        self.objects = {k: {} for k in self.types}
        for entry in data.get("objects", []):
            self.objects.setdefault((entry["group"], entry["plural"]), {})[
                obj_key(entry["object"])
            ] = entry["object"]
        for key, objs in self.objects.items():
            for obj in objs.values():
                self._index(key, obj, None)
        self.rv = int(data.get("resourceVersion", 0))
        self.history = deque(
            WatchEvent(e["rv"], (e["group"], e["plural"]), e["type"], e["object"], e.get("prev"))
            for e in data.get("history", [])
        )
        first = self.history[0].rv - 1 if self.history else self.rv
        self.compacted = int(data.get("compacted", first))


def _same(a: Obj, b: Obj) -> bool:
    def strip(o: Obj) -> Obj:
        o = dict(o)
        md = dict(o.get("metadata", {}))
        md.pop("resourceVersion", None)
        md.pop("managedFields", None)
        o["metadata"] = md
        return o

    return strip(a) == strip(b)


def _check_new_finalizers(rt: ResourceType, current: Obj, result: Obj) -> None:
    if not current["metadata"].get("deletionTimestamp"):
        return
    old = set(current["metadata"].get("finalizers") or [])
    added = [f for f in result["metadata"].get("finalizers") or [] if f not in old]
    if added:
        listed = ", ".join(f'"{f}"' for f in added)
        raise errors.invalid(
            rt.kind,
            rt.group,
            current["metadata"]["name"],
            [
                errors.field_forbidden(
                    "metadata.finalizers",
                    "no new finalizers can be added if the object is being deleted, found new"
                    f" finalizers []string{{{listed}}}",
                )
            ],
        )


def _spec_changed(old: Obj, new: Obj) -> bool:
    def body(o: Obj) -> Obj:
        return {k: v for k, v in o.items() if k not in ("metadata", "status")}

    return body(old) != body(new)


def _check_preconditions(rt: ResourceType, current: Obj, pre: dict[str, Any]) -> None:
    md = current["metadata"]
    name = md["name"]
    if pre.get("uid") and pre["uid"] != md.get("uid"):
        raise errors.conflict(
            rt.plural,
            rt.group,
            name,
            f"Precondition failed: UID in precondition: {pre['uid']}, UID in object meta: "
            f"{md.get('uid')}",
        )
    if pre.get("resourceVersion") and pre["resourceVersion"] != md.get("resourceVersion"):
        raise errors.conflict(
            rt.plural,
            rt.group,
            name,
            "Precondition failed: ResourceVersion in precondition: "
            f"{pre['resourceVersion']}, ResourceVersion in object meta: "
            f"{md.get('resourceVersion')}",
        )
