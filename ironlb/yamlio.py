"""YAML loading as Kubernetes does it, not as PyYAML's YAML 1.1 defaults do.

PyYAML resolves `65535:65282` (a BGP community) as a base-60 integer and `no`/`on` as
booleans; Kubernetes' YAML (go-yaml via sigs.k8s.io/yaml) keeps the first a string.
Every manifest ironlb reads goes through `load`/`load_all` so a community string
survives unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import yaml


class KubeSafeLoader(yaml.SafeLoader):
    """SafeLoader without sexagesimal (base-60) ints and floats."""


def _strip_sexagesimal() -> None:
    resolvers = {k: list(v) for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
    for first, entries in resolvers.items():
        resolvers[first] = [
            (tag, regexp)
            for tag, regexp in entries
            if tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
        ]
    KubeSafeLoader.yaml_implicit_resolvers = resolvers
    int_re = re.compile(
        r"""^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$""",
        re.X,
    )
    float_re = re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |\.[0-9][0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$""",
        re.X,
    )
    KubeSafeLoader.add_implicit_resolver("tag:yaml.org,2002:int", int_re, list("-+0123456789"))
    KubeSafeLoader.add_implicit_resolver("tag:yaml.org,2002:float", float_re, list("-+0123456789."))


_strip_sexagesimal()


def load(text: str) -> Any:
    return yaml.load(text, Loader=KubeSafeLoader)


def load_all(text: str) -> Iterator[Any]:
    return yaml.load_all(text, Loader=KubeSafeLoader)
