"""What the app keeps in memory between requests: one :class:`AppCache`, with one stated lifetime.

:data:`CACHE`, shared by every app and session of the process, holds the loaded vectors files,
each model's t-SNE map (computed once, with a lock per model), the rendered map SVGs (at most
:data:`MAX_SVGS`, least recently used dropped first) and the gene-search indexes. :func:`stamp`
is what says a file is unchanged.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

#: Rendered map SVGs the process keeps, across all maps (one per map and colour mode, gene set or focus
#: gene; ~2.6 MB each for 25k genes): past it, the least recently used is dropped.
MAX_SVGS = 64


def stamp(path: str) -> tuple[int, int]:
    """What says a file is unchanged: its mtime (ns) and size."""
    st = os.stat(path)
    return st.st_mtime_ns, st.st_size


class _MapEntry:
    """A model's map, the stamp of the vectors it was computed for, and its rendered SVGs."""

    __slots__ = ("stamp", "frame", "svgs", "__weakref__")

    def __init__(self, stamp: tuple[int, int], frame: Any):
        self.stamp, self.frame, self.svgs = stamp, frame, {}


class AppCache:
    """Loaded vectors, computed maps (with their rendered SVGs) and gene-search indexes, shared by sessions.

    Lifetime
    --------
    One object per process, :data:`CACHE`, shared by every app and session of the process, so a
    vectors file is read once and a map computed once however many sessions ask at the same time.
    Nothing in it outlives what it describes:

    - a vectors file's vectors stay until the file changes (its mtime or size): the next load of
      the file (a new app, a restart) reads it again and replaces them. A model's map
      (``model.path`` set) is that of the vectors the model serves: it is kept under the file's
      stamp when they were read (``model.stamp``), so a file changing under a running app changes
      nothing it shows; a model loaded after the change replaces it. One entry per file served;
    - vectors without a file (a :class:`genevec.TissueModels` fitted in this process), and every
      gene-search index, are held by weak reference to the vectors object: they go when it goes, so
      nothing is keyed by ``id()`` and a reused id can never find another model's map;
    - rendered SVGs live in their map's entry, so they go with it; at most :data:`MAX_SVGS` are kept
      across all maps, the least recently used dropped first.

    :meth:`clear` empties everything (tests use it; a server that wants its memory back can too).
    Every method is thread-safe: maps are computed off the event loop, in threads.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._vectors: dict[str, tuple[tuple[int, int], Any]] = {}        # real path -> (stamp, GeneVectors)
        self._file_maps: dict[str, _MapEntry] = {}                         # real path -> map entry
        self._file_locks: dict[str, threading.Lock] = {}                   # real path -> one computation at a time
        self._memory_maps: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()    # vectors -> map entry
        self._memory_locks: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()   # vectors -> lock
        self._indexes: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()        # vectors -> search index
        # every kept SVG as (weak reference to its map entry, key), least recently used first
        self._svg_order: OrderedDict[tuple[weakref.ref, Any], None] = OrderedDict()

    def clear(self) -> None:
        """Forget everything: the next request loads, reads or computes again."""
        with self._lock:
            self._vectors.clear()
            self._file_maps.clear()
            self._file_locks.clear()
            self._memory_maps.clear()
            self._memory_locks.clear()
            self._indexes.clear()
            self._svg_order.clear()

    # ------------------------------------------------------------------ vectors files
    def vectors(self, real: str, load: Callable[[str], Any]) -> Any:
        """The vectors of the file at real path ``real``: ``load(real)`` once, again only when the file changes."""
        return self.stamped_vectors(real, load)[0]

    def stamped_vectors(self, real: str, load: Callable[[str], Any]) -> tuple[Any, tuple[int, int]]:
        """:meth:`vectors`, and the file's stamp when they were read (taken before reading)."""
        now = stamp(real)
        with self._lock:
            hit = self._vectors.get(real)
            if hit is not None and hit[0] == now:
                return hit[1], now
        gv = load(real)
        with self._lock:
            self._vectors[real] = (now, gv)
        return gv, now

    # ------------------------------------------------------------------ maps
    def _slot(self, model: Any) -> tuple[dict | weakref.WeakKeyDictionary, Any, tuple[int, int]]:
        """(where the model's map lives, its key there, the stamp that says it is current).

        The stamp is the vectors file's when the model's vectors were read (``model.stamp``), not the
        file's now: the map is of the vectors served, whatever has happened to the file since.
        """
        if model.path:
            return self._file_maps, model.path, model.stamp
        return self._memory_maps, model.vectors, (0, 0)

    def _current(self, model: Any) -> _MapEntry | None:
        store, key, now = self._slot(model)
        with self._lock:
            entry = store.get(key)
        return entry if entry is not None and entry.stamp == now else None

    def has_map(self, model: Any) -> bool:
        """Whether the model's current map is in memory."""
        return self._current(model) is not None

    def gene_map(self, model: Any, make: Callable[[], Any]) -> Any:
        """The model's map: from memory if current, else ``make()`` (read or computed), once per model at a time.

        Sessions that ask for the same map at the same time wait for one ``make()`` rather than each
        running it.
        """
        entry = self._current(model)
        if entry is not None:
            return entry.frame
        store, key, now = self._slot(model)
        locks = self._file_locks if model.path else self._memory_locks
        with self._lock:
            lock = locks.get(key)
            if lock is None:
                lock = locks[key] = threading.Lock()
        with lock:
            entry = self._current(model)
            if entry is not None:
                return entry.frame
            frame = make()
            with self._lock:
                store[key] = _MapEntry(now, frame)
            return frame

    def svg(self, model: Any, key: Any, make: Callable[[], str]) -> str:
        """A rendering of the model's current map (``key`` names the colouring): ``make()`` once, then kept.

        The SVG lives in the map's entry, so it goes when the map does. The process keeps at most
        :data:`MAX_SVGS`, whatever the map: a new one drops the least recently used (rendered again
        if asked for again).
        """
        entry = self._current(model)
        if entry is None:                    # no current map (cleared meanwhile): render, keep nothing
            return make()
        slot = (weakref.ref(entry), key)
        with self._lock:
            hit = entry.svgs.get(key)
            if hit is not None:
                self._svg_order.pop(slot, None)
                self._svg_order[slot] = None         # now the most recently used
                return hit
        svg = make()
        with self._lock:
            entry.svgs[key] = svg
            self._svg_order.pop(slot, None)
            self._svg_order[slot] = None
            for gone in [s for s in self._svg_order if s[0]() is None]:    # maps dropped since: their SVGs went too
                del self._svg_order[gone]
            while len(self._svg_order) > MAX_SVGS:
                (ref, dropped), _ = self._svg_order.popitem(last=False)
                held = ref()
                if held is not None:
                    held.svgs.pop(dropped, None)
        return svg

    # ------------------------------------------------------------------ gene-search indexes
    def index(self, vectors: Any, build: Callable[[Any], Any]) -> Any:
        """The gene-search index of ``vectors`` (a GeneVectors, or anything with ``.genes``): built once."""
        with self._lock:
            hit = self._indexes.get(vectors)
        if hit is not None:
            return hit
        made = build(vectors)
        with self._lock:
            return self._indexes.setdefault(vectors, made)


#: The process's cache: every app and session share it (see :class:`AppCache` for how long entries live).
CACHE = AppCache()
