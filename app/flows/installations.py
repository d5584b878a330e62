"""Installation lifecycle: forget cached tokens of installations that go away."""

from __future__ import annotations

import logging

from gidgethub import sansio
from gidgethub.routing import Router

from app.edge.context import Context
from app.events import InstallationEvent

log = logging.getLogger(__name__)
router = Router()


@router.register("installation", action="deleted")
@router.register("installation", action="suspend")
async def on_installation_gone(event: sansio.Event, ctx: Context) -> None:
    ev = InstallationEvent.model_validate(event.data)
    ctx.github_app.forget_installation(ev.installation.id)
    log.info(
        "installation.gone", extra={"installation_id": ev.installation.id, "action": ev.action}
    )
