"""The Litestar application: one factory, one settings object (STYLE.md, 6)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from litestar import Litestar
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.base import ChannelsBackend
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.config.compression import CompressionConfig
from litestar.config.csrf import CSRFConfig
from litestar.middleware.session.server_side import ServerSideSessionConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.stores.memory import MemoryStore
from litestar.template.config import TemplateConfig

from readers.formats import format_names
from results.pages import STATUS_LABELS
from results.site import STATIC as SHARED_STATIC
from timing.folder import load_folder
from timing.store import Store
from web.director import DIRECTOR_ROUTES
from web.leaderboard import ON_COURSE
from web.live import LiveService, channel_name
from web.pages import SPECTATOR_ROUTES
from web.settings import Settings
from web.uplink import uplink

HERE = Path(__file__).parent
log = logging.getLogger(__name__)


def channels_backend(redis_url: str | None) -> ChannelsBackend:
    if not redis_url:
        return MemoryChannelsBackend()
    from litestar.channels.backends.redis import RedisChannelsPubSubBackend
    from redis.asyncio import Redis

    return RedisChannelsPubSubBackend(redis=Redis.from_url(redis_url))


def _globals(engine: JinjaTemplateEngine) -> None:
    engine.engine.globals["STATUS_LABELS"] = {**STATUS_LABELS, ON_COURSE: "on course"}


def create_app(settings: Settings) -> Litestar:
    folder = load_folder(settings.event_dir, set(format_names()))
    store = Store(settings.database_url)
    channels = ChannelsPlugin(
        backend=channels_backend(settings.redis_url),
        channels=[channel_name(r.id) for r in folder.event.races],
        # One slow phone never stalls the broadcast nor grows memory without bound.
        subscriber_max_backlog=200,
        subscriber_backlog_strategy="dropleft",
    )
    live = LiveService(
        folder,
        store,
        lambda channel, data: channels.publish(data, [channel]),
        settings.publish_interval_s,
    )

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        tasks = [
            asyncio.create_task(live.run_publisher(), name="publisher"),
            asyncio.create_task(live.follow(), name="follow the journal"),
        ]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            store.close()

    app = Litestar(
        route_handlers=[
            *SPECTATOR_ROUTES,
            *DIRECTOR_ROUTES,
            uplink,
            # The live pages share the published site's stylesheet, favicon and script.
            create_static_files_router("/static", [HERE / "static", SHARED_STATIC]),
        ],
        plugins=[channels],
        lifespan=[lifespan],
        template_config=TemplateConfig(
            directory=HERE / "templates", engine=JinjaTemplateEngine, engine_callback=_globals
        ),
        # Phones on a finish-line network: pages and assets travel compressed.
        compression_config=CompressionConfig(backend="gzip", minimum_size=1024),
        middleware=[ServerSideSessionConfig(httponly=True, samesite="strict").middleware],
        stores={"sessions": MemoryStore()},
        csrf_config=CSRFConfig(
            secret=settings.secret, cookie_samesite="strict", exclude=["/api/", "/uplink", "/ws/"]
        ),
        openapi_config=OpenAPIConfig(
            title="RetroTime",
            version="0.1.0",
            path="/schema",
            render_plugins=[JsonRenderPlugin(path="/")],
        ),
    )
    app.state.settings = settings
    app.state.live = live
    app.state.channels = channels
    return app
