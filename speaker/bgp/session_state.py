"""Pure: the BGPSessionState objects of this node, one per BGPPeer, and the writes to get there.

MetalLB's status design (crd-status.md) asks for one object per (node, peer) named
`<node>-<peer>`, labelled `metallb.io/node` and `metallb.io/peer`, with `bgpStatus` as the
router daemon words it (Idle … Established) and `bfdStatus` "N/A" when the peer has no BFD;
frr-k8s ships it as `BGPSessionState`. ironlb keeps that shape in `metallb.io/v1beta1` and
adds the peer's address and why the session last went down, which is what `ironlb doctor`
needs to explain a session that will not come up.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from speaker.bgp.errors import CeaseSub, ErrorCode, HeaderSub, OpenSub, UpdateSub
from speaker.status import API_VERSION, NODE_LABEL, StatusPlan, diff_objects

KIND = "BGPSessionState"
PEER_LABEL = "metallb.io/peer"
NO_BFD = "N/A"
MAX_NAME = 253  # a DNS subdomain, like every object name


@dataclass(frozen=True, slots=True)
class PeerState:
    peer: str  # the BGPPeer's name
    address: str
    bgp: str  # the FSM state: Idle, Connect, Active, OpenSent, OpenConfirm, Established
    bfd: str = NO_BFD  # Up, Down, Init, AdminDown, or N/A
    last_down: str = ""  # why the session last left Established (or never got there)


def object_name(node: str, peer: str) -> str:
    name = f"{node}-{peer}"
    if len(name) <= MAX_NAME:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:10]
    return f"{name[: MAX_NAME - 11]}-{digest}"


def status_body(node: str, s: PeerState) -> dict[str, Any]:
    body = {"node": node, "peer": s.peer, "peerAddress": s.address}
    body |= {"bgpStatus": s.bgp, "bfdStatus": s.bfd}
    if s.last_down:
        body["lastDownReason"] = s.last_down
    return body


def build_object(
    node: str, namespace: str, s: PeerState, owner: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": object_name(node, s.peer),
        "namespace": namespace,
        "labels": {NODE_LABEL: node, PEER_LABEL: s.peer},
    }
    if owner is not None:
        meta["ownerReferences"] = [dict(owner)]
    status = status_body(node, s)
    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": meta, "status": status}


def plan_session_states(
    node: str,
    namespace: str,
    states: Mapping[str, PeerState],
    existing: Iterable[Mapping[str, Any]],
    owner: Mapping[str, Any] | None = None,
) -> StatusPlan:
    """What makes this node's objects match `states` (peer name → state)."""
    return diff_objects(
        node,
        namespace,
        states,
        existing,
        body=lambda _, state: status_body(node, state),
        build=lambda _, state: build_object(node, namespace, state, owner),
        key_of=lambda labels: labels.get(PEER_LABEL, ""),
    )


_SUBCODES: dict[int, type[Any]] = {
    ErrorCode.MESSAGE_HEADER: HeaderSub,
    ErrorCode.OPEN_MESSAGE: OpenSub,
    ErrorCode.UPDATE_MESSAGE: UpdateSub,
    ErrorCode.CEASE: CeaseSub,
}


def notification_text(code: int, subcode: int) -> str:
    """'OPEN_MESSAGE/BAD_PEER_AS (2/2)': the names a router's log would show, and the numbers."""
    try:
        major = ErrorCode(code).name
    except ValueError:
        return f"code {code}/{subcode}"
    sub = _SUBCODES.get(code)
    try:
        minor = sub(subcode).name if sub is not None else str(subcode)
    except ValueError:
        minor = str(subcode)
    return f"{major}/{minor} ({code}/{subcode})"


def rejects_prefixes(code: int, subcode: int) -> bool:
    """A NOTIFICATION from the peer that says it refuses what we announce: our UPDATEs are
    malformed to it, or we sent more prefixes than its maximum-prefix limit."""
    return code == ErrorCode.UPDATE_MESSAGE or (
        code == ErrorCode.CEASE and subcode == CeaseSub.MAX_PREFIXES
    )
