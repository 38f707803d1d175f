"""CustomResourceDefinitions registered at run time, and custom-resource admission.

`CrdHook` is a store hook: admitting a CRD validates it and fills the status the
apiextensions controllers would write (NamesAccepted, Established); committing it
(un)registers the served `ResourceType`. For custom resources it prunes unknown fields,
applies schema defaults and validates against the version's openAPIV3Schema (jsonschema),
answering 422 with causes shaped like kube-apiserver's.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

from ironlb.emulator import errors
from ironlb.emulator.builtin import ResourceType

Obj = dict[str, Any]
CRD_KEY = ("apiextensions.k8s.io", "customresourcedefinitions")
_VERSION_RE = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def version_priority(version: str) -> tuple[int, int, int, str]:
    """Kubernetes version ordering: GA > beta > alpha, higher numbers first, then others."""
    m = _VERSION_RE.match(version)
    if not m:
        return (3, 0, 0, version)
    major, stage, minor = int(m.group(1)), m.group(2), int(m.group(3) or 0)
    rank = {None: 0, "beta": 1, "alpha": 2}[stage]
    return (rank, -major, -minor, version)


def type_from_crd(crd: Obj) -> ResourceType:
    spec = crd["spec"]
    names = spec["names"]
    served = [v for v in spec.get("versions", []) if v.get("served", True)]
    versions = sorted((v["name"] for v in served), key=version_priority)
    storage = next((v["name"] for v in spec["versions"] if v.get("storage")), versions[0])
    rt = ResourceType(
        group=spec["group"],
        versions=versions,
        plural=names["plural"],
        singular=names.get("singular") or names["kind"].lower(),
        kind=names["kind"],
        namespaced=spec.get("scope", "Namespaced") == "Namespaced",
        short_names=list(names.get("shortNames") or []),
        categories=list(names.get("categories") or []),
        status_subresource=any("status" in (v.get("subresources") or {}) for v in served),
        default_status=None,
        generation=True,
        strategic_merge=False,
        unconditional_update=False,
        return_deleted_object=True,
        crd=crd,
        storage_version=storage,
    )
    for v in served:
        rt.schemas[v["name"]] = (v.get("schema") or {}).get("openAPIV3Schema") or {}
        rt.printer_columns[v["name"]] = list(v.get("additionalPrinterColumns") or [])
    return rt


class CrdHook:
    def __init__(self, register: Callable[[ResourceType], None], drop: Callable[[Obj], None]):
        self._register = register
        self._drop = drop
        self.field_validation = "Warn"  # set by the server per request
        self.version: str | None = None  # the API version the request came in at
        self.warnings: list[str] = []

    def admit(self, op: str, rt: ResourceType, obj: Obj, old: Obj | None) -> None:
        if rt.key == CRD_KEY:
            _validate_crd(obj, old)
            obj["status"] = crd_status(obj, old)
        elif rt.crd is not None:
            self._admit_custom(rt, obj)

    def committed(self, op: str, rt: ResourceType, obj: Obj, old: Obj | None) -> None:
        if rt.key != CRD_KEY:
            return
        if op == "delete":
            self._drop(obj)
        else:
            self._register(type_from_crd(obj))

    def _admit_custom(self, rt: ResourceType, obj: Obj) -> None:
        version = self.version if self.version in rt.schemas else rt.storage_version
        schema = rt.schemas.get(version) or rt.schemas.get(rt.storage_version) or {}
        if not schema:
            return
        unknown: list[str] = []
        for key, value in list(obj.items()):
            if key in ("apiVersion", "kind", "metadata"):
                continue
            sub = (schema.get("properties") or {}).get(key)
            if sub is None and not schema.get("x-kubernetes-preserve-unknown-fields"):
                del obj[key]
                unknown.append(key)
            elif sub is not None:
                obj[key] = prune(value, sub, key, unknown)
        if unknown and self.field_validation == "Strict":
            listed = ", ".join(f'unknown field "{u}"' for u in unknown)
            raise errors.bad_request(f"strict decoding error: {listed}")
        if unknown and self.field_validation == "Warn":
            self.warnings.extend(f'unknown field "{u}"' for u in unknown)
        apply_defaults(obj, schema, top=True)
        causes = validate(obj, schema)
        if causes:
            raise errors.invalid(rt.kind, rt.group, obj["metadata"].get("name", ""), causes)


def prune(value: Any, schema: Obj, path: str, unknown: list[str]) -> Any:
    if isinstance(value, dict):
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        keep_all = schema.get("x-kubernetes-preserve-unknown-fields") or schema.get(
            "x-kubernetes-embedded-resource"
        )
        out: dict[str, Any] = {}
        for k, v in value.items():
            sub = (props or {}).get(k)
            if sub is not None:
                out[k] = prune(v, sub, f"{path}.{k}", unknown)
            elif isinstance(extra, dict):
                out[k] = prune(v, extra, f"{path}.{k}", unknown)
            elif keep_all or extra is True:
                out[k] = v
            else:
                unknown.append(f"{path}.{k}")
        return out
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [prune(v, schema["items"], f"{path}[{i}]", unknown) for i, v in enumerate(value)]
    return value


def apply_defaults(value: Any, schema: Obj, top: bool = False) -> None:
    if isinstance(value, dict):
        for k, sub in (schema.get("properties") or {}).items():
            if top and k == "metadata":
                continue
            if k not in value and "default" in sub:
                value[k] = copy.deepcopy(sub["default"])
            if k in value:
                apply_defaults(value[k], sub)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for k, v in value.items():
                if k not in (schema.get("properties") or {}):
                    apply_defaults(v, extra)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for v in value:
            apply_defaults(v, schema["items"])


def to_json_schema(schema: Any) -> Any:
    """OpenAPI v3 structural schema → JSON Schema (nullable, int-or-string, x- keys dropped)."""
    if isinstance(schema, list):
        return [to_json_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for k, v in schema.items():
        if k.startswith("x-kubernetes") or k in ("default", "example", "format"):
            continue
        if k in ("properties", "patternProperties"):
            out[k] = {name: to_json_schema(s) for name, s in v.items()}
        elif k in ("items", "additionalProperties", "not") or k in ("allOf", "anyOf", "oneOf"):
            out[k] = to_json_schema(v)
        else:
            out[k] = v
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if schema.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    out.pop("nullable", None)
    return out


# id(schema) -> (schema kept alive so the id stays unique, compiled validator)
_VALIDATORS: dict[int, tuple[Obj, Any]] = {}


def validate(obj: Obj, schema: Obj) -> list[errors.Cause]:
    cached = _VALIDATORS.get(id(schema))
    if cached is None or cached[0] is not schema:
        import jsonschema  # lazily: it is a tenth of the start-up time

        body = to_json_schema(schema)
        body.get("properties", {}).pop("metadata", None)
        cached = (schema, jsonschema.Draft7Validator(body))
        _VALIDATORS[id(schema)] = cached
    validator = cached[1]
    causes = [_cause(e) for e in validator.iter_errors(obj)]
    return sorted(causes, key=lambda c: c.field)


def _path(parts: Any) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _cause(e: Any) -> errors.Cause:
    """A jsonschema.ValidationError as a kube-apiserver field error."""
    path = _path(e.absolute_path)
    v, inst, arg = e.validator, e.instance, e.validator_value
    shown = errors.go_repr(inst)
    if v == "required":
        missing = e.message.split("'")[1] if "'" in e.message else ""
        return errors.field_required(f"{path}.{missing}" if path else missing)
    if v == "enum":
        return errors.field_not_supported(path, inst, list(arg))
    detail = {
        "type": f"{path} in body must be of type {_type_name(arg)}: {shown}",
        "minimum": f"{path} in body should be greater than or equal to {arg}",
        "maximum": f"{path} in body should be less than or equal to {arg}",
        "exclusiveMinimum": f"{path} in body should be greater than {arg}",
        "exclusiveMaximum": f"{path} in body should be less than {arg}",
        "pattern": f"{path} in body should match '{arg}'",
        "minLength": f"{path} in body should be at least {arg} chars long",
        "maxLength": f"{path} in body may not be longer than {arg}",
        "minItems": f"{path} in body should have at least {arg} items",
        "maxItems": f"{path} in body should have at most {arg} items",
        "uniqueItems": f"{path} in body shouldn't contain duplicates",
    }.get(v, e.message)
    return errors.field_invalid(path, inst, detail)


def _type_name(arg: Any) -> str:
    if isinstance(arg, list):
        return next((a for a in arg if a != "null"), "object")
    return str(arg)


def crd_status(crd: Obj, old: Obj | None) -> Obj:
    spec = crd.get("spec", {})
    names = dict(spec.get("names") or {})
    names.setdefault("singular", names.get("kind", "").lower())
    names.setdefault("listKind", names.get("kind", "") + "List")
    old_status = (old or {}).get("status") or {}
    stamp = crd["metadata"].get("creationTimestamp", "")
    stored = list(old_status.get("storedVersions") or [])
    for v in spec.get("versions") or []:
        if v.get("storage") and v["name"] not in stored:
            stored.append(v["name"])
    return {
        "acceptedNames": names,
        "conditions": [
            {
                "type": "NamesAccepted",
                "status": "True",
                "lastTransitionTime": stamp,
                "reason": "NoConflicts",
                "message": "no conflicts found",
            },
            {
                "type": "Established",
                "status": "True",
                "lastTransitionTime": stamp,
                "reason": "InitialNamesAccepted",
                "message": "the initial names have been accepted",
            },
        ],
        "storedVersions": stored,
    }


def _validate_crd(crd: Obj, old: Obj | None) -> None:
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    name = crd["metadata"].get("name", "")
    causes: list[errors.Cause] = []
    if not spec.get("group"):
        causes.append(errors.field_required("spec.group"))
    if not names.get("plural"):
        causes.append(errors.field_required("spec.names.plural"))
    if not names.get("kind"):
        causes.append(errors.field_required("spec.names.kind"))
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        causes.append(
            errors.field_not_supported("spec.scope", spec.get("scope"), ["Cluster", "Namespaced"])
        )
    versions = spec.get("versions") or []
    if not versions or sum(1 for v in versions if v.get("storage")) != 1:
        causes.append(
            errors.field_invalid(
                "spec.versions", versions, "must have exactly one version marked as storage version"
            )
        )
    expected = f"{names.get('plural')}.{spec.get('group')}"
    if names.get("plural") and spec.get("group") and name != expected:
        causes.append(
            errors.field_invalid("metadata.name", name, 'must be spec.names.plural+"."+spec.group')
        )
    if old is not None:
        for fixed in ("group",):
            if spec.get(fixed) != old["spec"].get(fixed):
                causes.append(
                    errors.field_invalid(f"spec.{fixed}", spec.get(fixed), "field is immutable")
                )
    if causes:
        raise errors.invalid("CustomResourceDefinition", "apiextensions.k8s.io", name, causes)
