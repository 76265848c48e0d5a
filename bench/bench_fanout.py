"""Websocket fan-out: 1,000 subscribed clients, 10 updates/s each, through the real server vs a plain
`websockets` broadcast server on loopback, same clients, same messages, same run.

Both servers without permessage-deflate, as the product serves (bin/run: --ws-per-message-deflate false;
docs/streaming.md says why); --compression deflate turns it on for both.
Ours: uvicorn city.asgi:application (1 worker, uvloop, DEBUG off, citytwin_bench) with
CITYTWIN_STREAM_INTERVAL_S=0.1; every client opens /ws/ with an operator's session cookie and
Origin = the server's URL, subscribes to `readings` (all kinds, no bbox) and waits for its snapshot. A
publisher process calls apps.streaming.publish.publish("telemetry.readings", "readings", items) 10 times
per second (Redis channel layer, as the ingest worker does after each commit); each call carries 10 items
{"sensor", "kind", "lon", "lat", "time", "values", "sent"} where `sent` is time.time() at the call.
Baseline: a plain Python server (websockets 17 asyncio server on uvloop, same event loop as uvicorn) that
answers the same subscribe with subscribed + the same snapshot items ours sends (captured over one socket
before the rounds: the newest reading of every sensor in citytwin_bench, so opening costs both the same
bytes whatever the database holds) and every 0.1 s broadcasts (websockets
.broadcast) an update of the same shape ({"type": "update", "id", "topic", "seq", "items"}, 10 items with
`sent` = time.time() at broadcast) to every subscribed client.
Clients: P processes (default 2 x 500 connections, asyncio + websockets, uvloop) record for every update
the receive time and the newest `sent` among its items; latency = receive - sent (one machine, one
clock). Window: S seconds (default 15) after all clients are subscribed and 1 s of warm-up; deliveries/s =
updates received with `sent` in the window / S. Rounds alternate baseline and ours.
The machine has 2 cores: the client processes (and the publisher) compete with the server for them, in
both cases.

    .venv/bin/python bench/bench_fanout.py [--rounds 3] [--seconds 15] [--clients 1000] [--procs 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path

import benchlib as bl

# Publishes (and broadcasts) per second; the parent passes --rate to its children through the environment.
RATE = int(os.environ.get("BENCH_FANOUT_RATE", "10"))
ITEMS = 10  # items per message
SNAPSHOT_FILE = bl.OUT / "fanout_snapshot.json"  # ours' snapshot, sent by the baseline too (same work per socket)
USERNAME = "bench-fanout-operator"


def make_items(now: float) -> list[dict]:
    when = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1e6):06d}+00:00"
    return [
        {
            "sensor": f"bench-fan-{k:02d}",
            "kind": "traffic",
            "lon": 24.94 + k * 0.001,
            "lat": 60.17,
            "time": when,
            "values": {"vehicle_count": 12.0 + k, "mean_speed_kmh": 41.5, "occupancy_pct": 8.0},
            "sent": now,
        }
        for k in range(ITEMS)
    ]


def set_compression(server: bl.Server, compression: str) -> None:
    """bl.Server serves as the product does (no permessage-deflate); --compression deflate turns it on."""
    if compression == "deflate":
        i = server.cmd.index("--ws-per-message-deflate")
        server.cmd[i + 1] = "true"


def set_ws(server: bl.Server, ws: str) -> None:
    """uvicorn's websocket protocol: as bl.Server serves (the product's choice), or another to compare."""
    if ws != "default":
        if "--ws" in server.cmd:
            server.cmd[server.cmd.index("--ws") + 1] = ws
        else:
            server.cmd += ["--ws", ws]


def use_uvloop() -> None:
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass


# ------------------------------------------------------------------------------------- child processes
def child_clients(args: argparse.Namespace) -> None:
    """`n` websocket clients: subscribe, print READY, record updates until SIGTERM, write JSON results."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed, InvalidMessage

    records: list[tuple[float, float, int]] = []
    others: dict = {"errors": 0, "closed": 0, "non_update": 0, "close_codes": {}, "connect_retries": 0}

    async def main() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        headers = {"Origin": args.origin}
        if args.session:
            headers["Cookie"] = f"sessionid={args.session}"
        sem = asyncio.Semaphore(50)
        sockets = []

        async def open_one() -> object:
            async with sem:
                for attempt in range(5):  # as a browser would: a refused handshake under load is retried
                    try:
                        ws = await connect(
                            args.url,
                            additional_headers=headers,
                            max_size=None,
                            open_timeout=120,
                            ping_interval=None,
                            close_timeout=1,
                        )
                        break
                    except (OSError, InvalidMessage):
                        others["connect_retries"] += 1
                        if attempt == 4:
                            raise
                        await asyncio.sleep(0.5 * (attempt + 1))
                await ws.send(json.dumps({"action": "subscribe", "id": "s1", "topic": "readings", "params": {}}))
                while True:
                    msg = json.loads(await asyncio.wait_for(ws.recv(), 120))
                    if msg.get("type") == "snapshot":
                        return ws
                    if msg.get("type") == "error":
                        raise SystemExit(f"subscribe refused: {msg}")

        async def listen(ws: object) -> None:
            try:
                async for raw in ws:  # type: ignore[attr-defined]
                    t = time.time()
                    # Both servers write compact JSON (separators "," and ":") and `sent` is each item's last
                    # key: read it without parsing the whole message (keeps the clients' share of the 2 cores
                    # small).
                    if raw.startswith('{"type":"update"'):
                        k = raw.rfind('"sent":')
                        sent = float(raw[k + 7 : raw.index("}", k)]) if k >= 0 else 0.0
                        records.append((t, sent, raw.count('"sensor":')))
                    else:
                        others["non_update"] += 1
            except ConnectionClosed as exc:
                code = str(exc.rcvd.code) if exc.rcvd else "none"
                others["close_codes"][code] = others["close_codes"].get(code, 0) + 1
                others["errors"] += 1
            except Exception:  # noqa: BLE001 - counted; the socket is gone
                others["errors"] += 1
            others["closed"] += 1

        sockets = await asyncio.gather(*(open_one() for _ in range(args.n)))
        tasks = [asyncio.create_task(listen(ws)) for ws in sockets]
        print(f"READY {len(sockets)}", flush=True)
        await stop.wait()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        Path(args.out).write_text(json.dumps({"records": records, **others}))
        await asyncio.wait([asyncio.create_task(ws.close()) for ws in sockets], timeout=3)

    use_uvloop()
    asyncio.run(main())


def child_baseline(args: argparse.Namespace) -> None:
    """The plain websockets broadcast server."""
    from websockets.asyncio.server import broadcast, serve

    subscribed: set = set()
    # The snapshot ours sends for the same subscription (the parent captured it): same bytes to send.
    snapshot_items = json.loads(SNAPSHOT_FILE.read_text()) if SNAPSHOT_FILE.exists() else []
    snapshots: dict[object, str] = {}  # encoded once per subscription id, as ours encodes a snapshot once

    def snapshot(sid: object) -> str:
        text = snapshots.get(sid)
        if text is None:
            body = {"type": "snapshot", "id": sid, "topic": "readings", "seq": 0, "items": snapshot_items}
            text = snapshots[sid] = json.dumps(body, separators=(",", ":"))
        return text

    async def handler(ws: object) -> None:
        try:
            async for raw in ws:  # type: ignore[attr-defined]
                msg = json.loads(raw)
                if msg.get("action") == "subscribe":
                    sid = msg.get("id")
                    await ws.send(json.dumps({"type": "subscribed", "id": sid, "topic": "readings"}))  # type: ignore[attr-defined]
                    await ws.send(snapshot(sid))  # type: ignore[attr-defined]
                    subscribed.add(ws)
        finally:
            subscribed.discard(ws)

    async def main() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        compression = "deflate" if args.compression == "deflate" else None
        async with serve(handler, "127.0.0.1", args.port, max_size=None, ping_interval=None, compression=compression):
            print("LISTENING", flush=True)
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            k = 0
            while not stop.is_set():
                k += 1
                delay = t0 + k / RATE - loop.time()
                if delay > 0:
                    try:
                        await asyncio.wait_for(stop.wait(), delay)
                        break
                    except TimeoutError:
                        pass
                msg = {"type": "update", "id": "s1", "topic": "readings", "seq": k, "items": make_items(time.time())}
                broadcast(subscribed, json.dumps(msg, separators=(",", ":")))

    use_uvloop()
    asyncio.run(main())


def child_publisher(args: argparse.Namespace) -> None:
    """publish() RATE times per second until SIGTERM; prints how long the calls took."""
    bl.setup_django()
    from apps.streaming.publish import publish

    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    durations = []
    t0 = time.time()
    k = 0
    print("PUBLISHING", flush=True)
    while not stopping:
        k += 1
        delay = t0 + k / RATE - time.time()
        if delay > 0:
            time.sleep(delay)
        now = time.time()
        publish("telemetry.readings", "readings", make_items(now))
        durations.append((time.time() - now) * 1000)
    print(
        json.dumps({"published": k, "call_ms_p50": bl.pct(durations, 50), "call_ms_p99": bl.pct(durations, 99)}),
        flush=True,
    )


# ---------------------------------------------------------------------------------------------- parent
def wait_for_line(bg: bl.Background, word: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = bg.log_path.read_text(errors="replace") if bg.log_path.exists() else ""
        for line in text.splitlines():
            if line.startswith(word):
                return line
        if not bg.alive():
            raise SystemExit(f"{bg.cmd[2:4]} exited before {word}:\n{bg.log_tail()}")
        time.sleep(0.1)
    raise SystemExit(f"no {word} within {timeout} s from {bg.cmd[2:4]}:\n{bg.log_tail()}")


def run_clients(
    label: str,
    url: str,
    origin: str,
    session: str | None,
    n: int,
    procs: int,
    seconds: float,
    watch: dict[str, int] | None = None,
) -> dict:
    """Connect n clients in `procs` processes, measure `seconds` after 1 s of warm-up, return the results.
    `watch`: processes (name -> pid) whose CPU use over the window is reported, besides the clients'."""
    per = [n // procs + (1 if i < n % procs else 0) for i in range(procs)]
    outs = [bl.OUT / f"fanout_{label}_clients_{i}.json" for i in range(procs)]
    kids = []
    for i, count in enumerate(per):
        cmd = [bl.PYTHON, __file__, "clients", "--url", url, "--origin", origin, "--n", str(count)]
        cmd += ["--out", str(outs[i])] + (["--session", session] if session else [])
        kids.append(bl.Background(cmd, log_name=f"fanout_{label}_clients_{i}.log", grace=20))
    open_cpu0 = {name: bl.cpu_seconds(pid) for name, pid in (watch or {}).items()}
    t_connect = time.time()
    try:
        for k in kids:
            k.__enter__()
        for k in kids:
            wait_for_line(k, "READY", 300)
        connect_s = time.time() - t_connect
        # CPU-seconds the server (and the publisher) spent while the clients opened and subscribed
        open_cpu = {name: bl.cpu_seconds(pid) - open_cpu0[name] for name, pid in (watch or {}).items()}
        time.sleep(1.0)
        pids = dict(watch or {}) | {f"clients {i}": k.proc.pid for i, k in enumerate(kids)}
        cpu0 = {name: bl.cpu_seconds(pid) for name, pid in pids.items()}
        t0 = time.time()
        time.sleep(seconds)
        t1 = time.time()
        cpu1 = {name: bl.cpu_seconds(pid) for name, pid in pids.items()}
        time.sleep(1.0)  # the last messages of the window arrive
    finally:
        for k in kids:
            k.stop()
    records, errors, codes, retries = [], 0, {}, 0
    for out in outs:
        data = json.loads(out.read_text())
        records += data["records"]
        errors += data["errors"]
        retries += data.get("connect_retries", 0)
        for code, count in data["close_codes"].items():
            codes[code] = codes.get(code, 0) + count
    window = [(t, s, m) for t, s, m in records if t0 <= s < t1]
    lat = [(t - s) * 1000 for t, s, _ in window]
    return {
        "connect_s": connect_s,
        "open_cpu": open_cpu,
        "deliveries": len(window),
        "per_s": len(window) / (t1 - t0),
        "items_per_s": sum(m for _, _, m in window) / (t1 - t0),
        "lat": lat,
        "expected_per_s": n * RATE,
        "errors": errors,
        "close_codes": codes,
        "connect_retries": retries,
        "cpu": {name: (cpu1[name] - cpu0[name]) / (t1 - t0) for name in pids},
    }


def round_text(res: dict) -> str:
    cpu = ", ".join(f"{name} {share:.0%}" for name, share in res["cpu"].items())
    closed = (
        f"{res['errors']} sockets closed by the server (codes {res['close_codes']})" if res["errors"] else "none closed"
    )
    if res.get("connect_retries"):
        closed += f", {res['connect_retries']} handshakes retried"
    return (
        f"{res['per_s']:8,.0f} deliveries/s of {res['expected_per_s']:,} offered ({res['items_per_s']:,.0f} items/s), "
        f"latency {bl.lat_text(res['lat'])}; clients connected in {res['connect_s']:.1f} s "
        f"(server CPU {res['open_cpu'].get('server', float('nan')):.2f} s meanwhile), {closed}; "
        f"CPU (share of one core) {cpu}"
    )


def ensure_operator_session() -> str:
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from apps.accounts.models import Role, User
    from apps.accounts.services import create_user

    user = User.objects.filter(username=USERNAME).first() or create_user(
        username=USERNAME, password=os.urandom(16).hex(), role=Role.OPERATOR
    )
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return store.session_key


def run_ours(server: bl.Server, session: str, args: argparse.Namespace) -> dict:
    """One ours window: the publisher, then the clients against the real server."""
    pub = bl.Background(
        [bl.PYTHON, __file__, "publisher"], env=bl.django_env(), log_name="fanout_publisher.log", grace=10
    )
    url, origin = f"ws://127.0.0.1:{server.port}/ws/", f"http://127.0.0.1:{server.port}"
    with pub:
        wait_for_line(pub, "PUBLISHING", 60)
        res = run_clients(
            "ours",
            url,
            origin,
            session,
            args.clients,
            args.procs,
            args.seconds,
            watch={"server": server.proc.pid, "publisher": pub.proc.pid},
        )
        pub.stop()
    stats = json.loads(pub.log_path.read_text().strip().splitlines()[-1])
    res["publish_text"] = (
        f"publish() call p50 {stats['call_ms_p50']:.1f} ms, p99 {stats['call_ms_p99']:.1f} ms ({stats['published']} calls)"
    )
    return res


def capture_snapshot(server: bl.Server, session: str) -> list:
    """The items of the snapshot ours answers the clients' subscription with, read over one socket."""
    from websockets.sync.client import connect

    headers = {"Origin": f"http://127.0.0.1:{server.port}", "Cookie": f"sessionid={session}"}
    with connect(f"ws://127.0.0.1:{server.port}/ws/", additional_headers=headers, max_size=None) as ws:
        ws.send(json.dumps({"action": "subscribe", "id": "s1", "topic": "readings", "params": {}}))
        while True:
            msg = json.loads(ws.recv(timeout=60))
            if msg.get("type") == "snapshot":
                return list(msg.get("items", []))
            if msg.get("type") == "error":
                raise SystemExit(f"subscribe refused: {msg}")


def main() -> None:
    global RATE
    if len(sys.argv) > 1 and sys.argv[1] in ("clients", "baseline-server", "publisher"):
        ap = argparse.ArgumentParser()
        ap.add_argument("mode")
        ap.add_argument("--url")
        ap.add_argument("--origin")
        ap.add_argument("--session")
        ap.add_argument("--n", type=int, default=500)
        ap.add_argument("--out")
        ap.add_argument("--port", type=int)
        ap.add_argument("--compression", default="off")
        args = ap.parse_args()
        {"clients": child_clients, "baseline-server": child_baseline, "publisher": child_publisher}[args.mode](args)
        return

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=15, help="measured window per round")
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--procs", type=int, default=2, help="client processes")
    ap.add_argument("--rate", type=int, default=RATE, help="updates per second to each client")
    ap.add_argument("--profile", action="store_true", help="profile the server even if ours meets the goal")
    ap.add_argument(
        "--ws",
        choices=["default", "websockets", "websockets-sansio"],
        default="default",
        help="uvicorn's websocket protocol for ours (default: as bin/run serves, websockets-sansio)",
    )
    ap.add_argument(
        "--compression",
        choices=["off", "deflate"],
        default="off",
        help="permessage-deflate on both servers (off: as the product serves, bin/run)",
    )
    args = ap.parse_args()
    RATE = args.rate
    os.environ["BENCH_FANOUT_RATE"] = str(RATE)

    bl.banner(
        "bench_fanout",
        f"websocket fan-out, {args.clients} clients x {RATE} updates/s: ours vs a plain websockets broadcast",
    )
    print(bl.load_text())
    prefix = bl.isolate_redis("fanout")
    print(f"Redis channel-layer and cache prefix for this run's processes: {prefix}")
    bl.prepare_bench_db()
    bl.setup_django()
    limit = bl.raise_nofile(65536)
    print(f"open-files limit: {limit} (inherited by the server and the clients)")
    session = ensure_operator_session()
    print(
        f"operator account {USERNAME!r}, one session (django.contrib.sessions, in citytwin_bench) shared by all clients"
    )
    sample = json.dumps(
        {"type": "update", "id": "s1", "topic": "readings", "seq": 1, "items": make_items(time.time())},
        separators=(",", ":"),
    )
    print(
        f"message: an update with {ITEMS} items, {len(sample):,} bytes of JSON; {RATE}/s to each of {args.clients:,} "
        f"clients = {args.clients * RATE:,} deliveries/s offered, {args.clients * RATE * len(sample) / 1e6:.1f} MB/s"
    )

    server = bl.Server("fanout_server.log")
    set_compression(server, args.compression)
    set_ws(server, args.ws)
    server.env["CITYTWIN_STREAM_INTERVAL_S"] = str(1 / RATE)
    server.env["CITYTWIN_HUB_REPORT_S"] = "2"  # the hub logs its counters and loop lag (bench/out/fanout_server.log)
    base_port = bl.free_port()
    base_cmd = [bl.PYTHON, __file__, "baseline-server", "--port", str(base_port), "--compression", args.compression]
    pub_cmd = [bl.PYTHON, __file__, "publisher"]
    client_cmd = [
        bl.PYTHON,
        "bench/bench_fanout.py",
        "clients",
        "--url",
        "ws://127.0.0.1:PORT/ws/",
        "--origin",
        "http://127.0.0.1:PORT",
        "--session",
        "<key>",
        "--n",
        str(args.clients // args.procs),
        "--out",
        "FILE",
    ]
    ours_rows, base_rows = [], []
    with server:
        items = capture_snapshot(server, session)
        SNAPSHOT_FILE.write_text(json.dumps(items, separators=(",", ":")))
        print(
            f"ours' snapshot for this subscription: {len(items):,} items, {SNAPSHOT_FILE.stat().st_size:,} bytes "
            f"(the newest reading of every sensor in citytwin_bench); the baseline sends the same items "
            f"({SNAPSHOT_FILE})"
        )
        print("\nCommands:")
        print(
            f"  ours:     server above with CITYTWIN_STREAM_INTERVAL_S={1 / RATE}; publisher "
            f"$ {bl.shell_line(pub_cmd, bl.django_env())}"
        )
        print(f"  baseline: $ {bl.shell_line(base_cmd)}")
        print(f"  clients:  {args.procs} x $ {bl.shell_line(client_cmd)}")
        print(f"\nRounds (baseline, ours; {args.seconds} s windows):")
        for r in range(1, args.rounds + 1):
            base = bl.Background(base_cmd, log_name="fanout_baseline_server.log", grace=10)
            with base:
                wait_for_line(base, "LISTENING", 30)
                b = run_clients(
                    "baseline",
                    f"ws://127.0.0.1:{base_port}/",
                    f"http://127.0.0.1:{base_port}",
                    None,
                    args.clients,
                    args.procs,
                    args.seconds,
                    watch={"server": base.proc.pid},
                )
            base_rows.append(b)
            o = run_ours(server, session, args)
            ours_rows.append(o)
            print(f"  round {r} baseline: {round_text(b)}")
            print(f"  round {r} ours    : {round_text(o)}; {o['publish_text']}")
            print("  " + bl.load_text())

    profile = None
    if args.profile or bl.pct([x for r in ours_rows for x in r["lat"]], 99) > 2 * bl.pct(
        [x for r in base_rows for x in r["lat"]], 99
    ):
        prof = bl.OUT / "fanout_server.prof"
        server = bl.Server("fanout_server_prof.log")
        set_compression(server, args.compression)
        set_ws(server, args.ws)
        server.env["CITYTWIN_STREAM_INTERVAL_S"] = str(1 / RATE)
        server.cmd = [bl.PYTHON, "-m", "cProfile", "-o", str(prof), *server.cmd]
        print("\nOne more ours window with the server under cProfile (below the goal, or --profile):")
        with server:
            profile = run_ours(server, session, args)
            print(f"  under cProfile: {round_text(profile)}")
            # uvicorn re-raises SIGTERM after its shutdown (the process dies without cProfile writing its
            # file); SIGINT ends in KeyboardInterrupt, which lets cProfile write it.
            server.proc.send_signal(signal.SIGINT)
            server.proc.wait(60)
        import io
        import pstats

        for order, count in (("cumulative", 30), ("tottime", 18)):
            buf = io.StringIO()
            pstats.Stats(str(prof), stream=buf).strip_dirs().sort_stats(order).print_stats(count)
            text = buf.getvalue()
            print(f"\n  top {count} by {order} (python -m pstats {prof.relative_to(bl.ROOT)}):")
            print("  " + text[text.find("   ncalls") :].rstrip().replace("\n", "\n  "))

    bl.header(
        f"bench_fanout summary ({args.clients:,} clients, {RATE} msg/s each, {args.seconds} s x {args.rounds} rounds; "
        "rates: medians of rounds; latencies pooled)"
    )
    b_lat = [x for r in base_rows for x in r["lat"]]
    o_lat = [x for r in ours_rows for x in r["lat"]]
    b_rate = bl.median([r["per_s"] for r in base_rows])
    o_rate = bl.median([r["per_s"] for r in ours_rows])
    print(f"{'':<10}{'deliveries/s':>14}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}")
    for name, rate, lat in (("baseline", b_rate, b_lat), ("ours", o_rate, o_lat)):
        print(
            f"{name:<10}{rate:>14,.0f}{bl.pct(lat, 50):>10.1f}{bl.pct(lat, 99):>10.1f}{max(lat, default=float('nan')):>10.1f}"
        )
    print(bl.ratio_line("deliveries/s", o_rate, b_rate))
    p99_ratio = bl.pct(o_lat, 99) / bl.pct(b_lat, 99)
    print(
        f"latency: p99 ours/baseline = {p99_ratio:.2f}x ({'meets' if p99_ratio <= 2 else 'MISSES'} the <= 2x goal); "
        f"p50 ours/baseline = {bl.pct(o_lat, 50) / bl.pct(b_lat, 50):.2f}x"
    )
    b_open = bl.median([r["connect_s"] for r in base_rows])
    o_open = bl.median([r["connect_s"] for r in ours_rows])
    open_ratio = o_open / b_open
    print(
        f"opening {args.clients:,} sockets (handshake, subscribe, snapshot): baseline {b_open:.2f} s, ours {o_open:.2f} s "
        f"= {open_ratio:.2f}x ({'meets' if open_ratio <= 2 else 'MISSES'} the <= 2x goal; medians of rounds)"
    )
    print(
        f"(ours: publish() through Redis (its call time included), then the hub sends at most one update per "
        f"{1000 / RATE:.0f} ms on average; permessage-deflate {args.compression} on both servers)"
    )


if __name__ == "__main__":
    main()
