import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest


def _postgres_url() -> str | None:
    url = os.environ.get(
        "RETROTIME_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    if url == "off":
        return None
    try:
        import psycopg
    except ImportError:
        return None
    try:
        psycopg.connect(url.replace("+psycopg", ""), connect_timeout=2).close()
    except psycopg.OperationalError:
        return None
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """A fresh journal database: an SQLite file, and a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'journal.db'}"
        return
    base = _postgres_url()
    if base is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not reachable on 127.0.0.1:5432 (CI must start it)")
        pytest.skip("PostgreSQL is not reachable")
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    plain = base.replace("+psycopg", "")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}options=-csearch_path%3D{schema}"
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


# ---- real headless Chromium (Debian's /usr/bin/chromium, driven by Playwright) ---------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Phones (small and common) and a desktop: every spectator page is checked at each.
VIEWPORTS = {"360x740": (360, 740), "390x844": (390, 844), "1440x900": (1440, 900)}
SCREENSHOTS = Path(__file__).resolve().parents[1] / "out" / "screenshots"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One Chromium per test module (Playwright's sync API holds an event loop while it
    runs, which other modules' asyncio.run must not meet); without it browser tests skip
    (and fail under CI)."""
    if not os.access(CHROMIUM, os.X_OK):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing (CI must install Debian's chromium)")
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, timeout=30_000
        )
        try:
            yield chromium
        finally:
            chromium.close()


# What reaches past the right edge of the screen: the page itself (it scrolls sideways)
# or any element wider than the viewport or ending right of it, scrollers included.
_OVERFLOW_JS = """() => {
  const width = window.innerWidth;
  const out = [];
  if (document.scrollingElement.scrollWidth > width)
    out.push(`page scrollWidth ${document.scrollingElement.scrollWidth} > ${width}`);
  for (const el of document.querySelectorAll("body *")) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;
    const inner = el.scrollWidth > Math.max(el.clientWidth, width) + 0.5;
    if (box.width > width + 0.5 || box.right > width + 0.5 || inner) {
      const cls = typeof el.className === "string" ? el.className.trim() : "";
      const name = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (cls ? "." + cls : "");
      const where = `${Math.round(box.left)}..${Math.round(box.right)}`;
      out.push(`${name}: ${where} (scroll ${el.scrollWidth})`);
    }
  }
  return out.slice(0, 10);
}"""


def overflow(page) -> list[str]:
    """What sticks out past the screen, with every <details> closed and then open."""
    closed = page.evaluate(_OVERFLOW_JS)
    page.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = true; })")
    opened = page.evaluate(_OVERFLOW_JS)
    page.evaluate("document.querySelectorAll('details').forEach((d) => { d.open = false; })")
    return closed + [f"(details open) {o}" for o in opened]


def transferred_bytes(page) -> int:
    """Bytes over the wire for the page and everything it loaded (headers included)."""
    return page.evaluate(
        "performance.getEntriesByType('navigation').concat(performance.getEntriesByType"
        "('resource')).reduce((sum, e) => sum + e.transferSize, 0)"
    )


def screenshot(page, name: str) -> Path:
    """A screenshot in out/screenshots/ (gitignored), to look at: the page from the top,
    at most two screens long (long lists repeat themselves)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    size = page.viewport_size
    tall = page.evaluate("document.scrollingElement.scrollHeight")
    clip = {"x": 0, "y": 0, "width": size["width"], "height": min(tall, 2 * size["height"])}
    page.screenshot(path=str(path), full_page=True, clip=clip)
    return path
