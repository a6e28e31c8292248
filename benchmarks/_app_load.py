"""Load harness for the app: concurrent Shiny sessions driven over Shiny's websocket protocol.

Used by tests/test_app_load.py (a few sessions, a fixed number of queries each, every answer
checked) and by benchmarks/bench_app_load.py and bench_app_browser.py (more sessions, for a set
time, latencies reported); test_app_browser.py and test_cli.py start the app with its ``serve``.
Benchmarks import it with ``benchmarks/`` on ``sys.path``, the tests the same.

The app is served by ``run_app`` in a subprocess on a free loopback port (127.0.0.1 only) over a
real vectors file of a few thousand genes. Each simulated session is what a browser tab sends:
it opens ``ws://127.0.0.1:PORT/websocket/``, reads the ``config`` message, sends ``init`` with the
inputs and the ``.clientdata_output_<id>_hidden = false`` flags of the outputs it shows, then a
stream of ``update`` messages (a gene, a filter, an analogy term, the map's search box), waiting
each time for the flush (``{"values", "errors", ...}``) that carries every output the update must
re-render. Every answer is checked against :class:`genevec.GeneVectors` computed here, so a stale
or wrong table fails just as a missing one does. A few hostile inputs are mixed in: an unknown
gene, empty input, a 10,000-character name, HTML and ``<script>`` in a name, non-string JSON.

What the browser inserts as HTML is exactly the ``html`` field of ``render.ui`` outputs and data
frame cells typed ``html``; text outputs and ``string`` cells are inserted as text. So the escaping
check is: no raw ``<script``/``<img`` in the former, and no data frame column typed ``html``.

A session runs either a fixed number of queries (``run_load(..., queries=n)``: what a test can
count on, however fast the machine) or until a deadline (``duration_s``: what a benchmark measures).
No time here is a verdict, except that one update unanswered for ``QUERY_TIMEOUT_S`` is lost: the
session records it and ends there (:class:`LostAnswer`), since the run has failed already and a
wedged server would otherwise cost ``QUERY_TIMEOUT_S`` for every query left. A run of fixed counts
not done after ``HANG_GUARD_S`` is stopped and its unfinished sessions recorded.
"""
from __future__ import annotations

import asyncio
import contextlib
import html
import json
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from genevec import GeneVectors

HOST = "127.0.0.1"                       # loopback only: nothing here talks to another host
RAMP_S = 2.0                             # sessions open over the first 2 s, as users arriving, not in one instant
QUERY_TIMEOUT_S = 120.0                  # one update unanswered this long counts as lost (generous: a busy machine)
# A run of fixed counts (a test) not finished after this long is hung: a guard, not a speed limit (the
# work is fixed; the load test needs a small fraction of it). Above RAMP_S + 3 * QUERY_TIMEOUT_S, the
# most a session waits on a wedged server (connect, config, init) before its first lost answer ends it.
HANG_GUARD_S = 600.0
MAX_QUERIES_PER_SESSION = 5_000          # bounded in count as well as in time

SCRIPT_GENE = "<script>alert(1)</script>"             # genes of the model whose names are markup
IMG_GENE = '"><img/src=x/onerror=alert(1)>'
LONG_NAME = "ABCDEFGHIJ" * 1_000                       # 10,000 characters
HOSTILE: list[tuple[str, Any]] = [
    ("unknown gene", "NOT_A_GENE_123"),
    ("empty", ""),
    ("10,000 characters", LONG_NAME),
    ("HTML", "<b>NOT_A_GENE</b>"),
    ("script", "<script>document.title='pwned'</script>"),
    ("script gene", SCRIPT_GENE),
    ("img gene", IMG_GENE),
    ("null", None),
    ("number", 7),
    ("list", ["KRAS", "TP53"]),
    ("object", {"gene": "KRAS"}),
]
FILTERS = ["", "G1", "g25", "RAS", "<script>", LONG_NAME]
BAD_MODELS = ["abc", "7", "\u00b2", 0, ["0"], LONG_NAME]              # the select box only sends "0"
BAD_TOPN = [float("nan"), float("inf"), -5, "ten", None, 1e9]          # json.dumps writes NaN, Infinity
SHOWN = ["model_info", "nb_caption", "nb_table", "an_caption", "an_table", "map_overlay"]
EXPECT = {"gene": ["nb_caption", "nb_table"], "nb_filter": ["nb_caption", "nb_table"],
          "an_a": ["an_caption", "an_table"], "an_b": ["an_caption", "an_table"], "an_c": ["an_caption", "an_table"],
          "an_original": ["an_caption", "an_table"], "map_gene": ["map_overlay"], "map_topn": ["map_overlay"],
          "model": SHOWN}
MAP_TOPN = 10
PAGE_ROWS = 200                          # rows the neighbours grid sends before "show more"
MAX_RING = 100                           # the map rings at most 100 neighbours, whatever is typed


# --------------------------------------------------------------------------- model and server
def write_model(folder: Path, n_genes: int = 3_000, dim: int = 50, seed: int = 0) -> Path:
    """Vectors with planted clusters (names include markup) and their map cache ``<vectors>.map.tsv``.

    The map is the first two principal components coloured by planted cluster, written where the
    app looks for its cache, so the Map tab answers without minutes of t-SNE.
    """
    from genevec.maps import write_map_table
    import pandas as pd

    rng = np.random.default_rng(seed)
    k = 20
    labels = rng.integers(0, k, n_genes)
    X = rng.normal(size=(k, dim))[labels] * 2 + rng.normal(size=(n_genes, dim))
    genes = ["KRAS", "BRCA1", "BRCA2", "TP53", SCRIPT_GENE, IMG_GENE]
    genes += [f"G{i}" for i in range(len(genes), n_genes)]
    path = folder / "pancreas.txt"
    GeneVectors(X, genes, metadata={"dim": dim, "x_max": 100, "learning_rate": 0.05}).save(path)
    centred = X - X.mean(axis=0)
    xy = centred @ np.linalg.svd(centred, full_matrices=False)[2][:2].T
    write_map_table(pd.DataFrame({"gene": genes, "x": xy[:, 0], "y": xy[:, 1], "cluster": labels + 1}),
                    str(path) + ".map.tsv")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@dataclass
class Server:
    proc: subprocess.Popen
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{HOST}:{self.port}/websocket/"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def serve(paths: list[Path], log: Path, startup_s: float = 60.0, gene_sets: list[str] | None = None, *,
          argv: Callable[[int], list[str]] | None = None, stop: int = signal.SIGTERM) -> Iterator[Server]:
    """``run_app`` in a subprocess on a free loopback port; stdout and stderr go to ``log``.

    ``argv(port)``, if given, is the command to run instead (e.g. ``genevec app ... --port PORT``; it
    must listen on ``HOST``). ``stop`` is the signal that ends it (SIGINT: as Ctrl-C does).
    """
    port = free_port()
    if argv is None:
        sets = "" if gene_sets is None else f", gene_sets={gene_sets!r}"
        code = (f"from genevec.app import run_app; run_app({[str(p) for p in paths]!r}, host={HOST!r}, port={port}"
                f"{sets})")
        command = [sys.executable, "-c", code]
    else:
        command = argv(port)
    with open(log, "w") as fh:
        proc = subprocess.Popen(command, cwd=log.parent, stdout=fh, stderr=subprocess.STDOUT)
    server = Server(proc, port, log)
    try:
        deadline = time.monotonic() + startup_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the app exited with code {proc.returncode}:\n{server.log_text()}")
            try:
                urllib.request.urlopen(server.url, timeout=2).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the app did not answer on {server.url} within {startup_s:.0f} s") from None
                time.sleep(0.3)
        yield server
    finally:
        proc.send_signal(stop)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


# --------------------------------------------------------------------------- expected answers
class Oracle:
    """What each output must show, computed here from the same vectors file."""

    def __init__(self, gv: GeneVectors):
        self.gv = gv
        self._order: dict[str, list[str]] = {}
        self._analogy: dict[tuple, list[str]] = {}
        self._ring: dict[tuple[str, int], set[str]] = {}

    def valid(self, value: Any) -> bool:
        return isinstance(value, str) and value in self.gv

    def neighbours(self, gene: str, text: str) -> list[str]:
        if gene not in self._order:
            self._order[gene] = self.gv.neighbor_table(gene)["Gene"].tolist()
        text = text.strip().lower()
        order = self._order[gene]
        return [g for g in order if text in g.lower()] if text else order

    def analogy(self, a: str, b: str, c: str, mode: str) -> list[str]:
        key = (a, b, c, mode)
        if key not in self._analogy:
            self._analogy[key] = [g for g, _ in self.gv.analogy(a, b, c, topn=PAGE_ROWS, mode=mode)]
        return self._analogy[key]

    def ring(self, gene: str, topn: Any) -> set[str]:
        """The genes the map labels: ``gene`` and its ``topn`` nearest (none unless topn is finite, >= 1)."""
        k = int(min(topn, MAX_RING, len(self.gv) - 1)) if isinstance(topn, (int, float)) and 0 < topn < float("inf") else 0
        if (gene, k) not in self._ring:
            self._ring[gene, k] = {g for g, _ in self.gv.most_similar(gene, topn=k)} | {gene} if k else {gene}
        return self._ring[gene, k]


def html_fragments(values: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """``(output, html)`` for every piece of an update the browser inserts as HTML."""
    for name, value in values.items():
        if isinstance(value, dict) and isinstance(value.get("html"), str):
            yield name, value["html"]
        payload = value.get("payload") if isinstance(value, dict) else None
        if isinstance(payload, dict):
            for j, hint in enumerate(payload.get("typeHints", [])):
                if hint.get("type") == "html":
                    for row in payload["data"]:
                        yield name, json.dumps(row[j])


# --------------------------------------------------------------------------- one session
class LostAnswer(Exception):
    """An update unanswered for ``QUERY_TIMEOUT_S``: recorded as a problem, and the session stops there."""


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    hostile_sent: dict[str, int] = field(default_factory=dict)
    queries: int = 0
    noops: int = 0                       # updates that, by Shiny's reactivity, re-render nothing
    sessions_ok: int = 0

    def add(self, kind: str, seconds: float) -> None:
        self.latencies.setdefault(kind, []).append(seconds)
        self.queries += 1

    def by_kind(self) -> dict[str, dict[str, float]]:
        """Count, p50 and p99 (seconds) of each kind of query, ``init`` being a session's first render."""
        return {k: {"n": len(ts), "p50_s": round(float(np.median(ts)), 4),
                    "p99_s": round(float(np.percentile(ts, 99)), 4)} for k, ts in sorted(self.latencies.items())}

    def all_latencies(self) -> np.ndarray:
        return np.array([t for kind, ts in self.latencies.items() if kind != "init" for t in ts])


class Session:
    """One simulated browser tab: its inputs, its websocket, and the checks on every answer."""

    def __init__(self, index: int, server: Server, oracle: Oracle, stats: Stats, seed: int):
        self.name = f"session {index}"
        self.server, self.oracle, self.stats = server, oracle, stats
        self.rng = random.Random(seed * 1_000 + index)
        self.genes = oracle.gv.genes
        self.state: dict[str, Any] = {"gene": "KRAS", "nb_filter": "", "an_a": "BRCA1", "an_b": "BRCA2",
                                      "an_c": "TP53", "an_original": False, "map_focus": None, "map_raw": "",
                                      "map_topn": MAP_TOPN, "model": "0"}
        self.ws: Any = None
        self.session_id = ""

    def problem(self, text: str) -> None:
        self.stats.problems.append(f"{self.name}: {text}")

    async def open(self, nav: str = "map") -> None:
        """Connect and send ``init`` as a browser tab on tab ``nav`` does (Map: every picker is filled)."""
        from websockets.asyncio.client import connect

        self.ws = await connect(self.server.ws_url, max_size=2**25, open_timeout=QUERY_TIMEOUT_S,
                                ping_interval=None, close_timeout=5)
        config = _loads(await asyncio.wait_for(self.ws.recv(), QUERY_TIMEOUT_S))
        self.session_id = config["config"]["sessionId"]
        data = {"model": "0", "gene": self.state["gene"], "nb_filter": "", "an_a": "BRCA1", "an_b": "BRCA2",
                "an_c": "TP53", "an_original": False, "an_filter": "", "nav": nav, "map_gene": "",
                "map_topn": MAP_TOPN, "map_colour": "cluster", "en_sets": "go_bp", "en_topn": 50,
                **{f".clientdata_output_{o}_hidden": False for o in SHOWN}}
        await self._exchange("init", {"method": "init", "data": data}, SHOWN)

    async def _exchange(self, kind: str, message: dict, expect: list[str]) -> dict[str, Any]:
        """Send one message; collect the values of ``expect`` from the flushes that follow.

        Raises :class:`LostAnswer`, once the problem is recorded, if they are not all in within
        ``QUERY_TIMEOUT_S``: the verdict is a failure already, so the session sends nothing more.
        """
        t0 = time.perf_counter()
        await self.ws.send(json.dumps(message))
        if not expect:
            self.stats.noops += 1
            return {}
        got: dict[str, Any] = {}
        deadline = t0 + QUERY_TIMEOUT_S
        while not all(o in got for o in expect):
            left = deadline - time.perf_counter()
            if left <= 0:
                lost = (f"{kind} {_short(message)}: no answer for {sorted(set(expect) - set(got))} "
                        f"within {QUERY_TIMEOUT_S:.0f} s")
                self.problem(lost)
                raise LostAnswer(f"{self.name}: {lost}")
            try:
                msg = _loads(await asyncio.wait_for(self.ws.recv(), left))
            except asyncio.TimeoutError:
                continue
            self._screen(kind, message, msg)
            if msg.get("errors"):
                got.update({k: None for k in msg["errors"]})
            if isinstance(msg.get("values"), dict):
                got.update(msg["values"])
        self.stats.add(kind, time.perf_counter() - t0)
        return got

    def _screen(self, kind: str, sent: dict, msg: dict) -> None:
        """Fail on anything the server reports as an error, and on markup it sends as HTML."""
        if msg.get("errors"):
            self.problem(f"{kind} {_short(sent)}: output errors {_short(msg['errors'])}")
        if isinstance(msg.get("response"), dict) and "error" in msg["response"]:
            self.problem(f"{kind} {_short(sent)}: error response {_short(msg['response'])}")
        note = (msg.get("custom") or {}).get("shiny-notification") if isinstance(msg.get("custom"), dict) else None
        if isinstance(note, dict) and (note.get("message") or {}).get("type") == "error":
            self.problem(f"{kind} {_short(sent)}: error notification {_short(note)}")
        for name, value in (msg.get("values") or {}).items():
            payload = value.get("payload") if isinstance(value, dict) else None
            if isinstance(payload, dict):
                hints = [h.get("type") for h in payload.get("typeHints", [])]
                if "html" in hints:
                    self.problem(f"{name} has a column typed html: {hints}")
        for name, fragment in html_fragments(msg.get("values") or {}):
            low = fragment.lower()
            if "<script" in low or "<img" in low or "<b>" in low:
                self.problem(f"{kind} {_short(sent)}: raw markup in the HTML of {name}: {_short(fragment)}")

    # ---------------------------------------------------------------- queries
    def _some_gene(self) -> str:
        r = self.rng.random()
        if r < 0.05:
            return self.rng.choice([SCRIPT_GENE, IMG_GENE])
        if r < 0.15:
            return self.rng.choice(["KRAS", "BRCA1", "BRCA2", "TP53"])
        return self.genes[self.rng.randrange(min(len(self.genes), 400))]

    async def step(self, i: int) -> None:
        """One query: every fifth is hostile, the rest a gene, filter, analogy term, switch or map search."""
        if i % 5 == 4:
            label, value = HOSTILE[(i // 5 + len(self.name)) % len(HOSTILE)]
            target = self.rng.choice(["gene", "nb_filter", "an_a", "an_b", "an_c", "map_gene"])
            self.stats.hostile_sent[label] = self.stats.hostile_sent.get(label, 0) + 1
            kind = "hostile"
        else:
            r = self.rng.random()
            kind = target = ("gene" if r < 0.35 else "nb_filter" if r < 0.45 else
                             self.rng.choice(["an_a", "an_b", "an_c"]) if r < 0.75 else
                             "an_original" if r < 0.8 else "map_gene")
            value = (self.rng.choice(FILTERS[:4]) if target == "nb_filter" else
                     not self.state["an_original"] if target == "an_original" else self._some_gene())
        await self.update(kind, target, value)

    async def update(self, kind: str, target: str, value: Any) -> None:
        """Set one input, wait for every output it must re-render, and check them."""
        expect = EXPECT[target]
        if target == "map_gene":
            if value == self.state["map_raw"]:             # the same value again: Shiny sees no change
                value = "TP53" if value != "TP53" else "KRAS"
            focus = value if isinstance(value, str) and value else None   # the picker is the ring's one source
        o, s = self.oracle, self.state
        # A calc that stopped at req() before reading an input does not depend on it: the filter
        # of an unknown gene, the switch of an unknown analogy, anything while no model is chosen.
        if ((target == "nb_filter" and not o.valid(s["gene"]))
                or (target == "an_original" and not all(o.valid(s[t]) for t in ("an_a", "an_b", "an_c")))
                or (target != "model" and s["model"] not in ("0", None, ""))):
            expect = []
        got = await self._exchange(kind, {"method": "update", "data": {target: value}}, expect)
        if target == "map_gene":
            self.state["map_focus"], self.state["map_raw"] = focus, value
        else:
            self.state[target] = value
        if got:
            self.check(got, {target: value})

    def check(self, got: dict[str, Any], sent: Any) -> None:
        """Compare the outputs just received with what the oracle says they must be."""
        o, s = self.oracle, self.state
        if s["model"] not in ("0", None, ""):             # no such model: every output blank, none an error
            if any(v is not None for v in got.values()):
                self.problem(f"{_short(sent)}: outputs for model {_short(s['model'])}: {_short(got)}")
            return
        if "nb_table" in got:
            text = s["nb_filter"] if isinstance(s["nb_filter"], str) else ""
            if not o.valid(s["gene"]):
                if got["nb_table"] is not None or got["nb_caption"] is not None:
                    self.problem(f"{_short(sent)}: a table for gene {_short(s['gene'])} not in the model")
            else:
                want = o.neighbours(s["gene"], text)
                rows = got["nb_table"]["payload"]["data"] if got["nb_table"] else None
                cap = got["nb_caption"] or ""
                # The grid gets the first PAGE_ROWS rows only (the caption counts them all).
                shown = min(len(want), PAGE_ROWS)
                if rows is None or [r[0] for r in rows] != want[:shown]:
                    self.problem(f"{_short(sent)}: neighbours of {_short(s['gene'])} filtered by {_short(text)} "
                                 f"wrong: {_short(rows and rows[:5])} vs {want[:5]} ({len(want)} rows, "
                                 f"{shown} shown)")
                note = f"; showing {shown:,} of {len(want):,}; filter or download for the rest"
                if (not cap.startswith(f"{len(want):,} genes") or f"similarity to {s['gene']} (of" not in cap
                        or cap.endswith(note) != (shown < len(want))):
                    self.problem(f"{_short(sent)}: neighbour caption {_short(cap)}")
        if "an_table" in got:
            terms = (s["an_a"], s["an_b"], s["an_c"])
            if not all(o.valid(t) for t in terms):
                if got["an_table"] is not None or got["an_caption"] is not None:
                    self.problem(f"{_short(sent)}: an analogy for terms {_short(terms)} not in the model")
            else:
                mode = "original" if s["an_original"] else "gensim"
                want = o.analogy(*terms, mode)
                rows = got["an_table"]["payload"]["data"] if got["an_table"] else None
                cap = got["an_caption"] or ""
                if rows is None or [r[1] for r in rows] != want:
                    self.problem(f"{_short(sent)}: analogy {terms} ({mode}) wrong: {_short(rows and rows[:3])}")
                if f"{terms[0]} is to {terms[1]} as ? is to {terms[2]}" not in cap:
                    self.problem(f"{_short(sent)}: analogy caption {_short(cap)}")
        if "map_overlay" in got:
            svg = (got["map_overlay"] or {}).get("html", "")
            focus = s["map_focus"]
            if o.valid(focus):
                want = o.ring(focus, s["map_topn"])
                rings = svg.count("<circle ")           # every ringed gene; crowded labels may be left out
                if rings != len(want) or f">{html.escape(focus, quote=True)}</text>" not in svg:
                    self.problem(f"{_short(sent)}: map ring of {_short(focus)} has {rings} rings, want {len(want)}")
            elif not svg.startswith("<svg") or "<text" in svg:
                self.problem(f"{_short(sent)}: map overlay for {_short(focus)} not in the model: {_short(svg)}")

    async def run(self, deadline: float | None, delay: float = 0.0, queries: int = MAX_QUERIES_PER_SESSION) -> None:
        """Open, send ``queries`` queries (fewer if ``deadline``, a ``time.monotonic()``, comes first), then two more."""
        try:
            await asyncio.sleep(delay)
            await self.open()
            i = 0
            while i < queries and (deadline is None or time.monotonic() < deadline):
                await self.step(i)
                i += 1
            # Still up after everything: one last ordinary query must be answered correctly.
            await self.update("final", "gene", "TP53")
            await self.update("final", "an_a", "KRAS")
            self.stats.sessions_ok += 1
        except LostAnswer:
            pass                                          # recorded by _exchange; the session ends here
        except Exception as exc:  # noqa: BLE001 -- a dropped session is a finding, not a crash of the harness
            self.problem(f"stopped: {type(exc).__name__}: {_short(str(exc))}")
        finally:
            if self.ws is not None:
                await self.ws.close()


def _loads(text: str | bytes) -> Any:
    """Parse a server message; orjson (a shiny dependency) keeps the load generator's CPU share small."""
    try:
        import orjson
    except ImportError:  # pragma: no cover - shiny requires orjson
        return json.loads(text)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:                   # NaN / Infinity, which only json accepts
        return json.loads(text)


def _short(value: Any, width: int = 160) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= width else f"{text[:width]}... ({len(text):,} chars)"


async def _selectize_search(server: Server, session_id: str, query: str, picker: str = "gene",
                            maxop: str = "1000", conju: str = "and") -> list[str]:
    """The HTTP request a server-side selectize sends while the user types in a gene picker."""
    params = urllib.parse.urlencode({"query": query, "field": '["label"]', "value": "value",
                                     "conju": conju, "maxop": maxop})
    url = f"{server.url}/session/{session_id}/dynamic_route/update_selectize_{picker}?{params}"

    def get() -> list[str]:
        with urllib.request.urlopen(url, timeout=QUERY_TIMEOUT_S) as resp:
            return [c["value"] for c in json.loads(resp.read())]

    return await asyncio.to_thread(get)


async def run_load(server: Server, oracle: Oracle, n_sessions: int, duration_s: float | None = None, seed: int = 0,
                   ramp_s: float = RAMP_S, queries: int | None = None) -> Stats:
    """``n_sessions`` concurrent sessions, every answer checked: for ``duration_s`` seconds, or ``queries`` each.

    Session ``i`` opens after ``i * ramp_s / n_sessions`` seconds. With ``duration_s`` all stop at the
    same deadline (a benchmark: how much gets done); with ``queries`` each sends exactly that many,
    then the two final ones (a test: what gets done is fixed, only the rate varies). A session ends
    at its first lost answer. The only other time limit is a guard against a hang: sessions not done
    after ``HANG_GUARD_S`` (with ``queries``) are cancelled and recorded as problems.
    """
    if (duration_s is None) == (queries is None):
        raise ValueError("run_load: give duration_s (a benchmark) or queries (a test), not both")
    stats = Stats()
    sessions = [Session(i, server, oracle, stats, seed) for i in range(n_sessions)]
    delays = [i * ramp_s / n_sessions for i in range(n_sessions)]
    if queries is not None:
        runs = [s.run(None, d, queries=queries) for s, d in zip(sessions, delays)]
        hard_limit = HANG_GUARD_S
    else:
        deadline = time.monotonic() + duration_s
        runs = [s.run(deadline, d) for s, d in zip(sessions, delays)]
        hard_limit = duration_s + 2 * QUERY_TIMEOUT_S + 60
    tasks = [asyncio.ensure_future(r) for r in runs]
    _, pending = await asyncio.wait(tasks, timeout=hard_limit)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for session, task in zip(sessions, tasks):
        if task in pending:
            session.problem(f"not finished within {hard_limit:.0f} s (a hang guard): cancelled")
    return stats


def percentiles(latencies: np.ndarray) -> dict[str, float]:
    p50, p90, p99 = np.percentile(latencies, [50, 90, 99])
    return {"p50_s": float(p50), "p90_s": float(p90), "p99_s": float(p99), "max_s": float(latencies.max())}


def server_rss(server: Server) -> int:
    import psutil

    return psutil.Process(server.proc.pid).memory_info().rss
