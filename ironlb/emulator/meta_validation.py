"""ObjectMeta validation: names (DNS subdomain/label rules per kind), labels, annotations."""

from __future__ import annotations

import re
from typing import Any

from ironlb.emulator import errors
from ironlb.emulator.builtin import ResourceType

Obj = dict[str, Any]

_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or"
    " '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used"
    " for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and"
    " must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex"
    " used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)
_LABEL1035_MSG = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an"
    " alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or"
    " 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)


def validate_name(rt: ResourceType, name: str) -> None:
    rules = {
        "subdomain": (
            r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*",
            253,
            _SUBDOMAIN_MSG,
        ),
        "label": (r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", 63, _LABEL_MSG),
        "label1035": (r"[a-z]([-a-z0-9]*[a-z0-9])?", 63, _LABEL1035_MSG),
        "path": (r"[^/%]+", 253, "may not contain '/' or '%'"),
    }
    pattern, limit, msg = rules.get(rt.name_rule, rules["subdomain"])
    if not re.fullmatch(pattern, name) or len(name) > limit:
        if len(name) > limit:
            msg = f"must be no more than {limit} characters"
        raise errors.invalid(
            rt.kind, rt.group, name, [errors.field_invalid("metadata.name", name, msg)]
        )


_QNAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_QNAME_MSG = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end"
    " with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used"
    " for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or"
    " '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or"
    " 'my_value',  or '12345', regex used for validation is"
    " '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)


def _key_problem(key: str) -> str | None:
    prefix, _, name = key.rpartition("/")
    if prefix and (
        len(prefix) > 253
        or not re.fullmatch(
            r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*", prefix
        )
    ):
        return "prefix part " + _SUBDOMAIN_MSG
    if not name or len(name) > 63:
        return (
            "name part must be no more than 63 characters"
            if name
            else ("name part must be non-empty")
        )
    if not _QNAME.fullmatch(name):
        return _QNAME_MSG
    return None


def validate_labels(rt: ResourceType, obj: Obj) -> None:
    """metadata.labels/annotations the way ValidateObjectMeta checks them."""
    md = obj.get("metadata", {})
    causes: list[errors.Cause] = []
    for field_name in ("labels", "annotations"):
        entries = md.get(field_name) or {}
        if not isinstance(entries, dict) or not all(isinstance(v, str) for v in entries.values()):
            raise errors.bad_request(
                f"json: cannot unmarshal into Go struct field ObjectMeta.metadata.{field_name}"
                " of type string"
            )
        for key, value in entries.items():
            problem = _key_problem(key)
            if problem:
                causes.append(errors.field_invalid(f"metadata.{field_name}", key, problem))
            elif field_name == "labels" and (
                len(value) > 63
                or not re.fullmatch(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?", value)
            ):
                why = "must be no more than 63 characters" if len(value) > 63 else _VALUE_MSG
                causes.append(errors.field_invalid("metadata.labels", value, why))
    if causes:
        raise errors.invalid(rt.kind, rt.group, md.get("name", ""), causes)


_META_STRINGS = ("name", "generateName", "namespace", "resourceVersion", "uid")


def check_shape(kind: str, obj: Any) -> None:
    """Reject bodies whose well-known fields have the wrong JSON type, as decoding would."""
    if not isinstance(obj, dict):
        raise errors.bad_request(f"the body of the request must be a {kind} object")
    md = obj.get("metadata", {})
    if not isinstance(md, dict):
        raise _decode_error(kind, "metadata", md, "v1.ObjectMeta")
    for key in _META_STRINGS:
        if key in md and not isinstance(md[key], str):
            raise _decode_error(kind, f"metadata.{key}", md[key], "string")
    for key in ("labels", "annotations"):
        if md.get(key) is not None and not isinstance(md[key], dict):
            raise _decode_error(kind, f"metadata.{key}", md[key], "map[string]string")
    for key in ("finalizers", "ownerReferences", "managedFields"):
        if md.get(key) is not None and not isinstance(md[key], list):
            raise _decode_error(kind, f"metadata.{key}", md[key], "[]")
    if any(not isinstance(f, str) for f in md.get("finalizers") or []):
        raise _decode_error(kind, "metadata.finalizers", md["finalizers"], "[]string")
    for key in ("spec", "status"):
        if obj.get(key) is not None and not isinstance(obj[key], dict):
            raise _decode_error(kind, key, obj[key], "object")


def _decode_error(kind: str, field: str, value: Any, go_type: str) -> errors.ApiError:
    got = type(value).__name__.replace("NoneType", "null").replace("dict", "object")
    return errors.bad_request(
        f"json: cannot unmarshal {got} into Go struct field {kind}.{field} of type {go_type}"
    )
