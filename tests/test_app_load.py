"""The app under load: concurrent Shiny sessions over Shiny's websocket protocol, every answer checked.

The harness (serve the app, simulate sessions, check each answer against GeneVectors) is
benchmarks/_app_load.py, shared with benchmarks/bench_app_load.py. These tests bound the work by
counts (sessions, queries each) and assert correctness; times are reported, never asserted, and a
deadline only guards against a hang (``QUERY_TIMEOUT_S`` per update, a session ending at its first
lost answer; ``HANG_GUARD_S`` per test).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import urllib.error
import urllib.request
from typing import Any

import numpy as np
import pytest

import _app_load
from genevec import GeneVectors, load_vectors
from genevec.app._data import natural_key

from _app_load import (  # benchmarks/, on sys.path through conftest.py
    BAD_MODELS,
    BAD_TOPN,
    HANG_GUARD_S,
    HOSTILE,
    IMG_GENE,
    LONG_NAME,
    QUERY_TIMEOUT_S,
    SCRIPT_GENE,
    LostAnswer,
    Oracle,
    Server,
    Session,
    Stats,
    _loads,
    _selectize_search,
    percentiles,
    run_load,
    serve,
    server_rss,
    write_model,
)

pytestmark = pytest.mark.load

N_SESSIONS = 20
QUERIES = 60                             # per session: every fifth is hostile, so each sends all 11 kinds


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    folder = tmp_path_factory.mktemp("app_load")
    path = write_model(folder)
    with serve([path], folder / "server.log") as server:
        yield server, Oracle(load_vectors(path))


def test_hostile_inputs_escaped_and_session_stays_up(app):
    """One session, every hostile value in every field, in order; then ordinary queries still work."""
    server, oracle = app
    stats = Stats()
    session = Session(0, server, oracle, stats, seed=1)

    async def scenario():
        await session.open()
        try:
            # The Gene box's server-side search sees the same strings as the user types them
            # (shiny appends the selected gene, KRAS, to every answer).
            assert await _selectize_search(server, session.session_id, "<script") == [SCRIPT_GENE, "KRAS"]
            assert await _selectize_search(server, session.session_id, LONG_NAME) == ["KRAS"]
            for target in ["gene", "nb_filter", "an_a", "an_c", "map_gene"]:
                for label, value in HOSTILE:
                    await session.update(label, target, value)
                await session.update("recover", target, "KRAS" if target != "nb_filter" else "")
            await session.update("recover", "gene", SCRIPT_GENE)
            await session.update("recover", "nb_filter", "<")
            await session.update("recover", "map_gene", IMG_GENE)
            for value in BAD_TOPN:
                await session.update("map_topn", "map_topn", value)
            await session.update("recover", "map_topn", 3)
            for value in BAD_MODELS:
                await session.update("model", "model", value)      # every output blank, none an error
            await session.update("recover", "model", "0")
        finally:
            await session.ws.close()

    asyncio.run(asyncio.wait_for(scenario(), HANG_GUARD_S))
    assert stats.problems == [], "\n".join(stats.problems)
    # Every update answered (a lost one is a problem above): 5 fields x (11 hostile + 1) + 3 + topn 7 + model 7;
    # map_gene = null clears the ring like any value that names no gene.
    n_sent = 5 * (len(HOSTILE) + 1) + 3 + (len(BAD_TOPN) + 1) + (len(BAD_MODELS) + 1)
    assert sum(len(v) for k, v in stats.latencies.items() if k != "init") == n_sent
    assert server.proc.poll() is None
    assert "Traceback" not in server.log_text()


def test_twenty_sessions_of_sixty_queries_each(app, capsys):
    """20 sessions at once, 60 queries each (12 hostile) then 2 more: every one answered, and answered right."""
    server, oracle = app
    rss0 = server_rss(server)
    t0 = time.perf_counter()
    stats = asyncio.run(run_load(server, oracle, N_SESSIONS, queries=QUERIES))
    wall = time.perf_counter() - t0
    lat = stats.all_latencies()
    pct = percentiles(lat) if len(lat) else {}
    with capsys.disabled():
        print(f"\napp load: {N_SESSIONS} sessions x {QUERIES} queries, {wall:.1f} s, {stats.queries:,} queries answered "
              f"({len(lat) / wall:.1f}/s); latency p50 {pct.get('p50_s', 0):.3f} s, p90 {pct.get('p90_s', 0):.3f} s, "
              f"p99 {pct.get('p99_s', 0):.3f} s, max {pct.get('max_s', 0):.3f} s; hostile {sum(stats.hostile_sent.values())}; "
              f"server RSS {rss0 / 2**20:.0f} -> {server_rss(server) / 2**20:.0f} MiB; no-op updates {stats.noops}")
        for kind, row in stats.by_kind().items():
            print(f"  {kind:<12} n={row['n']:<5} p50 {row['p50_s']:.3f} s  p99 {row['p99_s']:.3f} s")
    assert stats.problems == [], "\n".join(stats.problems[:20])
    assert stats.sessions_ok == N_SESSIONS
    assert len(stats.latencies["init"]) == N_SESSIONS
    # every message sent was answered (or, by Shiny's reactivity, re-renders nothing): init, the queries, 2 final
    assert stats.queries + stats.noops == N_SESSIONS * (1 + QUERIES + 2)
    assert set(stats.hostile_sent) == {label for label, _ in HOSTILE}
    assert sum(stats.hostile_sent.values()) == N_SESSIONS * (QUERIES // 5)
    assert server.proc.poll() is None, "the server died under load"
    assert urllib.request.urlopen(server.url, timeout=QUERY_TIMEOUT_S).status == 200
    log = server.log_text()
    assert "Traceback" not in log and "Error" not in log, log[-3000:]


async def _input_messages(session: Session, ids: set[str], timeout: float = QUERY_TIMEOUT_S) -> dict[str, Any]:
    """Read messages until the server has sent an input message to each of ``ids``; return them by id."""
    got: dict[str, Any] = {}
    deadline = time.perf_counter() + timeout
    while not ids <= set(got):
        msg = _loads(await asyncio.wait_for(session.ws.recv(), max(deadline - time.perf_counter(), 0.01)))
        for m in msg.get("inputMessages") or []:
            got[m["id"]] = m["message"]
    return got


def test_pickers_filled_per_tab_from_one_shared_index(app):
    """An idle session on the Neighbours tab has one picker; a tab's pickers come when it is shown."""
    server, oracle = app
    stats = Stats()
    session = Session(0, server, oracle, stats, seed=3)
    genes = oracle.gv.genes

    async def scenario():
        await session.open(nav="neighbours")
        sid = session.session_id
        try:
            ordered = [g for g in sorted(genes, key=natural_key) if g != "KRAS"]       # natural order
            want = [g for g in ordered if g.lower().startswith("g12")] + [
                g for g in ordered if "g12" in g.lower() and not g.lower().startswith("g12")]
            assert await _selectize_search(server, sid, "G12") == want + ["KRAS"]
            assert await _selectize_search(server, sid, "", maxop="5") == ordered[:5] + ["KRAS"]
            assert await _selectize_search(server, sid, "", maxop="many") == ordered[:1000] + ["KRAS"]
            assert await _selectize_search(server, sid, "tp53 brca1", conju="or") == ["TP53", "BRCA1", "KRAS"]
            assert await _selectize_search(server, sid, "tp53 brca1") == ["KRAS"]
            for picker in ("an_a", "map_gene"):                 # tabs not shown yet: no route at all
                with pytest.raises(urllib.error.HTTPError, match="400"):
                    await _selectize_search(server, sid, "", picker=picker)
            await session.ws.send(json.dumps({"method": "update", "data": {"nav": "analogy"}}))
            msgs = await _input_messages(session, {"an_a", "an_b", "an_c"})
            assert [msgs[i]["value"] for i in ("an_a", "an_b", "an_c")] == [["BRCA1"], ["BRCA2"], ["TP53"]]
            assert await _selectize_search(server, sid, "brca", picker="an_a") == ["BRCA2", "BRCA1"]  # chosen: last
            with pytest.raises(urllib.error.HTTPError, match="400"):
                await _selectize_search(server, sid, "", picker="map_gene")
            await session.ws.send(json.dumps({"method": "update", "data": {"nav": "map"}}))
            assert (await _input_messages(session, {"map_gene"}))["map_gene"]["value"] == ["KRAS"]
            assert await _selectize_search(server, sid, SCRIPT_GENE, picker="map_gene") == [SCRIPT_GENE, "KRAS"]
        finally:
            await session.ws.close()

    asyncio.run(asyncio.wait_for(scenario(), HANG_GUARD_S))
    assert stats.problems == [], "\n".join(stats.problems)


def test_neighbours_grid_sends_a_page_and_download_holds_all(app):
    """The grid gets 200 rows (more on request, back to 200 for a new query); the CSV has every gene."""
    server, oracle = app
    stats = Stats()
    session = Session(0, server, oracle, stats, seed=4)
    n_other = len(oracle.gv) - 1

    def rows(got):
        return [r[0] for r in got["nb_table"]["payload"]["data"]]

    async def more(clicks: int) -> dict[str, Any]:
        return await session._exchange("more", {"method": "update", "data": {"nb_more:shiny.action": clicks}},
                                       ["nb_caption", "nb_table"])

    async def scenario():
        await session.open(nav="neighbours")
        try:
            got = await more(1)
            assert rows(got) == oracle.neighbours("KRAS", "")[:400]
            assert got["nb_caption"].endswith(f"; showing 400 of {n_other:,}; filter or download for the rest")
            got = await more(2)
            assert len(rows(got)) == 600
            await session.update("gene", "gene", "TP53")              # checked: 200 rows again
            got = await more(3)
            assert rows(got) == oracle.neighbours("TP53", "")[:400]
            await session.update("filter", "nb_filter", "G2")         # checked: 200 of the filtered rows
            url = f"{server.url}/session/{session.session_id}/download/nb_download?w="
            csv = await asyncio.to_thread(lambda: urllib.request.urlopen(url, timeout=QUERY_TIMEOUT_S).read())
            assert csv.decode().splitlines()[1:] and [line.split(",")[0] for line in csv.decode().splitlines()[1:]] \
                == oracle.neighbours("TP53", "G2")
            await session.update("filter", "nb_filter", "")
            csv = await asyncio.to_thread(lambda: urllib.request.urlopen(url, timeout=QUERY_TIMEOUT_S).read())
            assert len(csv.decode().splitlines()) == 1 + n_other
        finally:
            await session.ws.close()

    asyncio.run(asyncio.wait_for(scenario(), HANG_GUARD_S))
    assert stats.problems == [], "\n".join(stats.problems)


# --------------------------------------------------------------------------- the harness's own limits
@contextlib.asynccontextmanager
async def _silent_server():
    """A websocket endpoint that sends Shiny's ``config``, then reads every message and answers none: a wedged app."""
    from websockets.asyncio.server import serve as ws_serve

    async def handler(ws):
        await ws.send(json.dumps({"config": {"sessionId": "silent"}}))
        async for _ in ws:
            pass

    async with ws_serve(handler, "127.0.0.1", 0) as endpoint:
        yield Server(None, endpoint.sockets[0].getsockname()[1], None)


def _tiny_oracle() -> Oracle:
    genes = ["KRAS", "BRCA1", "BRCA2", "TP53", "G4", "G5"]
    return Oracle(GeneVectors(np.random.default_rng(0).normal(size=(len(genes), 4)), genes))


def test_a_session_ends_at_its_first_lost_answer(monkeypatch):
    """A wedged server costs one QUERY_TIMEOUT_S per session, not one per query left to send."""
    monkeypatch.setattr(_app_load, "QUERY_TIMEOUT_S", 3.0)     # nothing ever answers: any value is lost

    async def scenario():
        async with _silent_server() as server:
            stats = await run_load(server, _tiny_oracle(), 3, queries=QUERIES, ramp_s=0.0)
            session = Session(9, server, _tiny_oracle(), Stats(), seed=0)
            with pytest.raises(LostAnswer, match="session 9: init .* no answer for"):
                await session.open()
            await session.ws.close()
            return stats, session.stats

    # Without the stop, each session would send all 63 messages, QUERY_TIMEOUT_S each: the guard fails it.
    stats, one = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert len(stats.problems) == 3, "\n".join(stats.problems[:10])     # one per session, then it stopped
    assert sorted(p.split(":")[0] for p in stats.problems) == ["session 0", "session 1", "session 2"]
    assert stats.sessions_ok == 0 and stats.queries == 0
    assert len(one.problems) == 1


def test_hang_guard_cancels_unfinished_sessions_and_reports_them(monkeypatch):
    """A run of fixed counts stops after HANG_GUARD_S, naming the sessions it cancelled, instead of waiting on."""
    monkeypatch.setattr(_app_load, "HANG_GUARD_S", 1.0)       # QUERY_TIMEOUT_S (120 s) never comes into play

    async def scenario():
        async with _silent_server() as server:
            return await run_load(server, _tiny_oracle(), 2, queries=QUERIES, ramp_s=0.0)

    stats = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert stats.problems == [f"session {i}: not finished within 1 s (a hang guard): cancelled" for i in range(2)]
    assert stats.sessions_ok == 0
