"""Spectator pages, their JSON twins, and the live leaderboard websocket. No login."""

from __future__ import annotations

from litestar import Request, WebSocket, get, websocket
from litestar.channels import ChannelsPlugin
from litestar.exceptions import NotFoundException, WebSocketDisconnect
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from timing.store import now_ms
from web.banners import reader_banners
from web.feeds import ONLY_LISTEN, answer, channel_name, parse_since
from web.live import LiveService
from web.views import (
    announcer_view,
    athlete_view,
    event_view,
    following_view,
    leaderboard_view,
    search_view,
)

MAX_FOLLOWED = 50


def _live(request: Request | WebSocket) -> LiveService:
    return request.app.state.live


def _found(value: dict | None, what: str) -> dict:
    if value is None:
        raise NotFoundException(f"no such {what}")
    return value


def _page(
    request: Request, template: str, race_id: str | None = None, **context: object
) -> Template:
    """A spectator page, with a banner naming the mats (of its race) that are not live."""
    live = _live(request)
    banners = reader_banners(live.folder.event, live.health, now_ms(), race_id)
    return Template(template, context={"banners": banners, **context})


def followed_bibs(bibs: str) -> list[str]:
    return list(dict.fromkeys(b for b in bibs.replace(" ", ",").split(",") if b))[:MAX_FOLLOWED]


@get("/", name="index")
async def index(request: Request) -> Template:
    return _page(request, "index.html", event=event_view(_live(request)))


@get("/races/{race_id:str}", name="leaderboard")
async def leaderboard(
    request: Request,
    race_id: FromPath[str],
    category: FromQuery[str | None] = None,
    sex: FromQuery[str | None] = None,
) -> Template:
    view = _found(leaderboard_view(_live(request), race_id, category, sex), "race")
    return _page(request, "leaderboard.html", race_id, board=view)


@get("/races/{race_id:str}/announcer", name="announcer")
async def announcer(request: Request, race_id: FromPath[str]) -> Template:
    view = _found(announcer_view(_live(request), race_id), "race")
    return _page(request, "announcer.html", race_id, view=view)


# `path`, not `str`: a bib may hold `/`, sent encoded (%2F) and decoded before routing.
@get("/athletes/{bib:path}", name="athlete")
async def athlete(request: Request, bib: FromPath[str]) -> Template:
    view = _found(athlete_view(_live(request), bib.removeprefix("/")), "bib")
    return _page(request, "athlete.html", view["race"], a=view)


@get("/search", name="search")
async def search(request: Request, q: FromQuery[str] = "") -> Template:
    return _page(request, "search.html", q=q, rows=search_view(_live(request), q))


@get("/following", name="following")
async def following(request: Request, bibs: FromQuery[str] = "") -> Template:
    chosen = followed_bibs(bibs)
    rows = following_view(_live(request), chosen)
    races = sorted({r["race"] for r in rows})
    seqs = {race: _live(request).feeds[race].seq for race in races}
    return _page(request, "following.html", rows=rows, bibs=chosen, races=races, seqs=seqs)


@get("/api/event")
async def api_event(request: Request) -> dict:
    return event_view(_live(request))


@get("/api/races/{race_id:str}")
async def api_leaderboard(
    request: Request,
    race_id: FromPath[str],
    category: FromQuery[str | None] = None,
    sex: FromQuery[str | None] = None,
) -> dict:
    return _found(leaderboard_view(_live(request), race_id, category, sex), "race")


@get("/api/races/{race_id:str}/announcer")
async def api_announcer(request: Request, race_id: FromPath[str]) -> dict:
    return _found(announcer_view(_live(request), race_id), "race")


@get("/api/athletes/{bib:path}")
async def api_athlete(request: Request, bib: FromPath[str]) -> dict:
    return _found(athlete_view(_live(request), bib.removeprefix("/")), "bib")


@get("/api/search")
async def api_search(request: Request, q: FromQuery[str] = "") -> list:
    return search_view(_live(request), q)


@websocket("/ws/races/{race_id:str}")
async def race_updates(socket: WebSocket, race_id: FromPath[str]) -> None:
    """A numbered snapshot (or the updates missed since `?since=N`), then live updates.

    Updates published between subscribing and the snapshot may arrive twice: clients
    drop any update whose number they already have.
    """
    live = _live(socket)
    if race_id not in live.feeds:
        await socket.close(code=1008, reason="unknown race")
        return
    channels: ChannelsPlugin = socket.app.state.channels
    await socket.accept()
    since = parse_since(socket.query_params.get("since"))
    async with channels.start_subscription([channel_name(race_id)]) as subscriber:
        for text in live.catch_up(race_id, since):
            await socket.send_text(text)
        async with subscriber.run_in_background(socket.send_data):
            try:
                while True:
                    reply = answer(await socket.receive_text())
                    if reply is None:
                        code, reason = ONLY_LISTEN
                        await socket.close(code=code, reason=reason)
                        return
                    await socket.send_text(reply)
            except WebSocketDisconnect:
                return


SPECTATOR_ROUTES = [
    index,
    leaderboard,
    announcer,
    athlete,
    search,
    following,
    api_event,
    api_leaderboard,
    api_announcer,
    api_athlete,
    api_search,
    race_updates,
]
