"""Kubernetes access: the client wrapper, informers, cache, work queue, leader election, events.

See docs/kube.md. Nothing else in ironlb talks to the API directly.
"""

from ironlb.kube.cache import Cache
from ironlb.kube.client import AsyncKube, Kube, load_api_client
from ironlb.kube.errors import (
    AlreadyExists,
    ApiError,
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    NotFound,
    TransportError,
    Unauthorized,
)
from ironlb.kube.informer import Informer
from ironlb.kube.reconcile import Request, Result, TerminalError, run_workers
from ironlb.kube.resources import Resource
from ironlb.kube.workqueue import WorkQueue

__all__ = [
    "AlreadyExists",
    "ApiError",
    "AsyncKube",
    "Cache",
    "Conflict",
    "Forbidden",
    "Gone",
    "Informer",
    "Invalid",
    "Kube",
    "NotFound",
    "Request",
    "Resource",
    "Result",
    "TerminalError",
    "TransportError",
    "Unauthorized",
    "WorkQueue",
    "load_api_client",
    "run_workers",
]
