"""The Litestar application: one factory, one settings object."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

from litestar import Litestar
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.config.compression import CompressionConfig
from litestar.config.csrf import CSRFConfig
from litestar.logging import LoggingConfig
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
from web.auth import AUTH_ROUTES, LoginGuard, json_api_guard, session_config
from web.caching import SPECTATOR_PATHS, SpectatorCache
from web.director import DIRECTOR_ROUTES
from web.director_live import director_updates
from web.errors import ErrorTally, api_errors, log_task_end, log_unexpected
from web.leaderboard import ON_COURSE
from web.live import LiveService, channel_name
from web.openapi import add_json_refusals, document_responses
from web.outbox import channel_for
from web.pages import SPECTATOR_ROUTES
from web.relay import RedisRelay
from web.settings import Settings
from web.uplink import uplink

HERE = Path(__file__).parent
log = logging.getLogger(__name__)


def create_app(settings: Settings) -> Litestar:
    folder = load_folder(settings.event_dir, set(format_names()))
    store = Store(settings.database_url)
    # This process's own spectators; other processes' hear the writer through Redis.
    channels = ChannelsPlugin(
        backend=MemoryChannelsBackend(),
        channels=[channel_name(r.id) for r in folder.event.races],
        # One slow phone never stalls the broadcast nor grows memory without bound.
        subscriber_max_backlog=200,
        subscriber_backlog_strategy="dropleft",
    )
    relay = (
        RedisRelay(settings.redis_url, channel_for(settings.database_url))
        if settings.redis_url
        else None
    )

    def publish(channel: str, data: str) -> None:
        channels.publish(data, [channel])

    live = LiveService(
        folder, store, publish, settings.publish_interval_s, relay.send if relay else None
    )

    errors = ErrorTally()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        logging.getLogger().addHandler(errors)
        tasks = [
            asyncio.create_task(live.run(), name="writer"),
            asyncio.create_task(live.follow(), name="follow the journal"),
        ]
        if relay is not None:  # fan-out workers start over from these
            await asyncio.to_thread(relay.send, live.start_messages())
        for task in tasks:
            task.add_done_callback(log_task_end)
        try:
            yield
        finally:
            for task in tasks:
                task.remove_done_callback(log_task_end)
                task.cancel()
            if relay is not None:
                relay.close()
            store.close()
            logging.getLogger().removeHandler(errors)

    def template_engine(engine: JinjaTemplateEngine) -> None:
        # A bib in a link is one path segment: `/`, `?`, `#` and spaces must be escaped.
        engine.engine.filters["segment"] = lambda value: quote(str(value), safe="")
        engine.engine.globals["service_errors"] = errors
        engine.engine.globals["live_port"] = settings.live_port
        engine.engine.globals["STATUS_LABELS"] = {**STATUS_LABELS, ON_COURSE: "on course"}

    handlers = [*SPECTATOR_ROUTES, *AUTH_ROUTES, *DIRECTOR_ROUTES, api_errors]
    document_responses(handlers)
    app = Litestar(
        route_handlers=[
            *handlers,
            director_updates,
            uplink,
            # The live pages share the published site's stylesheet, favicon and script.
            create_static_files_router("/static", [HERE / "static", SHARED_STATIC]),
        ],
        plugins=[channels],
        lifespan=[lifespan],
        template_config=TemplateConfig(
            directory=HERE / "templates",
            engine=JinjaTemplateEngine,
            engine_callback=template_engine,
        ),
        # Phones on a finish-line network: pages and assets travel compressed.
        compression_config=CompressionConfig(backend="gzip", minimum_size=1024),
        middleware=[session_config(settings).middleware, SpectatorCache],
        stores={"sessions": MemoryStore()},
        # Every state-changing request, form or JSON API, carries the CSRF token (the
        # form field, or the `X-CSRFToken` header with the `csrftoken` cookie's value);
        # the guard refuses API bodies that are not JSON.
        csrf_config=CSRFConfig(
            secret=settings.secret,
            cookie_samesite="strict",
            cookie_secure=settings.secure_cookies,
            # Spectators never post: their pages set no CSRF cookie, so a cache can keep them.
            exclude=["/uplink", "/ws/", "^/$", *SPECTATOR_PATHS],
        ),
        guards=[json_api_guard],
        # Unexpected errors are logged once, by `log_unexpected`, with their context.
        logging_config=LoggingConfig(log_exceptions="never"),
        after_exception=[log_unexpected],
        openapi_config=OpenAPIConfig(
            title="RetroTime",
            version="0.1.0",
            path="/schema",
            render_plugins=[JsonRenderPlugin(path="/")],
        ),
    )
    add_json_refusals(app)
    app.state.settings = settings
    app.state.live = live
    app.state.channels = channels
    app.state.login_guard = LoginGuard(settings)
    app.state.errors = errors
    return app
