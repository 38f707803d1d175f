"""Graceful stop (SIGTERM): hand every address over before this speaker goes away.

1. Send LEAVE to every peer: they elect successors at once and, because the owner said
   goodbye, announce without a fence probe.
2. Cancel this speaker's own pending announcements (a late gratuitous ARP from the leaving
   owner would pull clients back from the successor), but keep answering requests for
   `handover` (200 ms by default) while the successors' gratuitous ARP / unsolicited NA move
   the clients; the node's kernel still accepts the traffic meanwhile, so no request fails.
3. Stop answering, remove this node's ServiceL2Status objects, withdraw BGP routes, remove
   its BGPSessionState objects, exit.

A node labelled `node.kubernetes.io/exclude-from-external-load-balancers` is handed over by
the ordinary reconcile (it stops being eligible), not by this module.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from ironlb.log import get_logger

if TYPE_CHECKING:
    from speaker.app import Speaker

log = get_logger("speaker.drain")


async def drain(speaker: Speaker) -> None:
    owned = sorted(speaker.reconciler.owned()) if speaker._ready else []
    log.info("drain.start", addresses=len(owned), handover_s=speaker.opts.handover)
    speaker.membership.leave()
    speaker.responder.silence()  # answer who asks, but announce nothing more
    speaker._responder_timer.rearm()
    await asyncio.sleep(speaker.opts.handover)
    speaker.reconciler.draining = True
    speaker._ready = True
    speaker.reconcile()
    speaker._stopping = True
    # Nothing left to answer: the rest (API calls, interpreter teardown) must not run at
    # SCHED_FIFO, or it steals a core from the workloads just when they take over.
    speaker.normal_priority()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(speaker.write_status(want={}), 2.0)
    await speaker.shutdown_bgp()
    with contextlib.suppress(Exception):  # _stopping: the plan deletes this node's sessions
        await asyncio.wait_for(speaker.write_session_states(), 2.0)
    log.info("drain.done", addresses=len(owned))
    speaker.stop()
