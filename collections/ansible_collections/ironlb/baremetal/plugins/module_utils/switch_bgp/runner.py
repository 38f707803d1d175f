"""The module's logic without Ansible: options in, result dict out (unit-testable).

`run(params, check_mode, session_factory)`: read → parse → own → plan → push (unless check
mode) → save → read again. Offline states: `rendered` (no device) and `parsed` (given text).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .connection import ConnectError, SwitchError, SwitchSession
from .diff import PlanError, align, plan, revert_plan
from .model import DEFAULT_TAG, BgpIntent, IntentError, from_params, owned, without_neighbors
from .platforms import get_platform
from .platforms.base import Platform


class ModuleFailure(Exception):
    """A user-facing failure; `msg` is one line, no secrets."""


def desired(params: dict[str, Any], have: BgpIntent, pf: Platform) -> BgpIntent:
    if params.get("state") == "absent":
        return without_neighbors(have)
    want = pf.canonical(from_params(params))
    return align(want, have, params.get("update_password") or "always",
                 seq_step=pf.seq_step, encrypted=pf.encrypted)  # fmt: skip


def compute(params: dict[str, Any], running: str, pf: Platform) -> tuple[BgpIntent, list[str]]:
    """Running text → (owned `have`, commands)."""
    tag = params.get("owner_tag") or DEFAULT_TAG
    have = owned(pf.parse(running), tag)
    want = desired(params, have, pf)
    return have, plan(want, have, pf)


def run(
    params: dict[str, Any],
    check_mode: bool,
    session_factory: Callable[[Platform, dict[str, Any]], SwitchSession] = SwitchSession,
) -> dict[str, Any]:
    try:
        pf = get_platform(params["platform"])
        state = params.get("state") or "present"
        if state == "rendered":
            return {"changed": False, "rendered": pf.render(_placed(from_params(params), pf))}
        if state == "parsed":
            intent = pf.parse(params.get("running_config") or "")
            return {"changed": False, "parsed": to_dict(intent)}
        if not params.get("asn") and state != "absent" and state != "gathered":
            raise IntentError("asn", "is required")
        with session_factory(pf, params) as session:
            before_text = session.running()
            if state == "gathered":
                return {"changed": False, "gathered": to_dict(pf.parse(before_text))}
            have, commands = compute(params, before_text, pf)
            result: dict[str, Any] = {"changed": bool(commands), "commands": commands,
                                      "before": to_dict(have)}  # fmt: skip
            if commands and not check_mode:

                def revert(now_text: str) -> list[str]:
                    now = owned(pf.parse(now_text), params.get("owner_tag") or DEFAULT_TAG)
                    return revert_plan(have, now, pf)

                session.push(commands, revert)
                session.confirm_and_save()
                tag = params.get("owner_tag") or DEFAULT_TAG
                result["after"] = to_dict(owned(pf.parse(session.running()), tag))
            else:
                result["after"] = result["before"] if not commands else None
            return result
    except (IntentError, PlanError, ValueError) as exc:
        raise ModuleFailure(str(exc)) from None
    except (ConnectError, SwitchError) as exc:
        # A rejected line may carry the MD5 password (`neighbor X password ...`): mask it here,
        # not only through Ansible's no_log, so no caller of run() can leak it.
        raise ModuleFailure(redact(str(exc), params)) from None


def redact(text: str, params: dict[str, Any]) -> str:
    for name in ("md5_password", "password"):
        secret = params.get(name)
        if secret:
            text = text.replace(str(secret), "********")
    return text


def _placed(intent: BgpIntent, pf: Platform) -> BgpIntent:
    return align(intent, BgpIntent(asn=intent.asn), seq_step=pf.seq_step)


def to_dict(intent: BgpIntent) -> dict[str, Any]:
    """A JSON-friendly view for before/after/gathered; passwords are never returned."""
    return {
        "asn": intent.asn,
        "router_id": intent.router_id,
        "maximum_paths": intent.maximum_paths,
        "address_families": list(intent.families),
        "bfd": _bfd(intent),
        "accept": [{"prefix": r.prefix, "max_length": r.le, "seq": r.seq} for r in intent.accept],
        "neighbors": [
            {
                "address": n.address,
                "remote_asn": n.remote_asn,
                "description": n.description,
                "md5": n.password is not None,
                "bfd": n.bfd,
                "ebgp_multihop": n.ebgp_multihop,
            }
            for n in intent.neighbors
        ],
    }


def _bfd(intent: BgpIntent) -> dict[str, Any]:
    t = intent.bfd_timers
    if t is None:
        return {"enabled": False}
    return {"enabled": True, "min_rx": t.min_rx, "min_tx": t.min_tx, "multiplier": t.multiplier}
