"""A spectator's API latency while password guessers hammer the director's login.

    python -m benchmarks.login [--seconds 10] [--guessers 4]

The service (`create_app` under uvicorn, as `retrotime serve` runs it, on the example
event) runs in its own process; one spectator process asks `GET /api/races/half` one
request after another and times each answer; the guessers (threads of a third process,
one connection each) post wrong passwords as fast as they are answered.

    bare        no guessers: the baseline, the same service and spectator
    throttled   guessers from one address, default limits: refused with 429 at once
    hashing     guessers from rotating addresses, limits lifted: every guess hashed

The report gives the spectator's p50 and p99 in ms, the guesses answered per second
and how (401 wrong password / 429 throttled), and each p99's ratio to the bare one.
The machine's other load distorts the figures; compare the ratios.
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import re
import statistics
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

from tests.net import free_port

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "riverside"
LIFTED = "1000000/minute"


def serve(port: int, database_url: str, lifted: bool) -> None:
    import uvicorn

    from web.app import create_app
    from web.cli import server_config
    from web.settings import Settings, hash_password

    settings = Settings(EXAMPLE, database_url, hash_password("right"), {})
    if lifted:
        settings = dataclasses.replace(
            settings, login_limits_client=LIFTED, login_limits_account=LIFTED
        )
    uvicorn.Server(server_config(create_app(settings), "127.0.0.1", port)).run()


def wait_up(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/event").status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit("the service did not start")


def guess(port: int, n: int, rotate: bool, stop: threading.Event, seen: Counter) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        page = http.get("/director/login").text
        token = re.search(r'name="_csrf_token" value="([^"]+)"', page).group(1)
        k = 0
        while not stop.is_set():
            k += 1
            headers = {"X-Forwarded-For": f"10.{n}.{k // 250 % 250}.{k % 250}"} if rotate else {}
            answer = http.post(
                "/director/login",
                data={"password": f"guess-{k}", "_csrf_token": token},
                headers=headers,
            )
            seen[answer.status_code] += 1


def guessers(port: int, count: int, rotate: bool, seconds: float, out) -> None:
    stop, seen = threading.Event(), Counter()
    threads = [
        threading.Thread(target=guess, args=(port, n, rotate, stop, seen)) for n in range(count)
    ]
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    out.put(dict(seen))


def spectator(port: int, seconds: float) -> list[float]:
    times = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            start = time.perf_counter()
            assert http.get("/api/races/half").status_code == 200
            times.append((time.perf_counter() - start) * 1000)
    return times


def scenario(name: str, guessers_n: int, rotate: bool, lifted: bool, seconds: float) -> dict:
    port = free_port()
    with tempfile.TemporaryDirectory() as work:
        url = f"sqlite:///{Path(work) / 'bench.db'}"
        server = multiprocessing.Process(target=serve, args=(port, url, lifted), daemon=True)
        server.start()
        try:
            wait_up(port)
            results = multiprocessing.Queue()
            crowd = None
            if guessers_n:
                crowd = multiprocessing.Process(
                    target=guessers, args=(port, guessers_n, rotate, seconds + 1, results)
                )
                crowd.start()
                time.sleep(0.5)
            times = spectator(port, seconds)
            seen = results.get(timeout=60) if crowd else {}
            if crowd:
                crowd.join()
        finally:
            server.terminate()
            server.join(10)
    times.sort()
    return {
        "name": name,
        "requests": len(times),
        "p50": statistics.median(times),
        "p99": times[int(len(times) * 0.99) - 1],
        "guesses_per_s": sum(seen.values()) / (seconds + 1),
        "seen": seen,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--guessers", type=int, default=4)
    args = parser.parse_args()
    runs = [
        scenario("bare", 0, False, False, args.seconds),
        scenario("throttled", args.guessers, False, False, args.seconds),
        scenario("hashing", args.guessers, True, True, args.seconds),
    ]
    bare = runs[0]["p99"]
    print(f"{'scenario':<10} {'requests':>8} {'p50 ms':>8} {'p99 ms':>8} {'p99/bare':>9}  guesses")
    for r in runs:
        answers = ", ".join(f"{code}: {n}" for code, n in sorted(r["seen"].items()))
        print(
            f"{r['name']:<10} {r['requests']:>8} {r['p50']:>8.1f} {r['p99']:>8.1f} "
            f"{r['p99'] / bare:>9.2f}  {r['guesses_per_s']:.0f}/s ({answers or 'none'})"
        )


if __name__ == "__main__":
    main()
