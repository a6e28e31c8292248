"""The Map and Clusters tabs' outputs, per session: the map computed once (off the event loop), drawn
coloured by cluster, gene set or similarity, a gene and its neighbours ringed; each cluster's genes.
The drawing is :mod:`genevec.app._svg`'s, the map and its cache :mod:`genevec.app._data`'s."""

from __future__ import annotations

import asyncio
import os

import pandas as pd
from shiny import reactive, render, req, ui

from . import _data as d
from . import _svg as sv
from ._session import SessionTools


def serve(t: SessionTools) -> None:
    """Register the Map and Clusters tabs' outputs in the current session (the map is computed when first shown)."""
    input, session, model, gene_of, present = t.input, t.session, t.model, t.gene_of, t.present
    picker_notice, collections, _paged, _result = t.picker_notice, t.collections, t.paged, t.result
    _show_more, _downloadable, _csv_or_header = t.show_more, t.downloadable, t.csv_or_header

    map_wanted = reactive.value(False)

    @reactive.effect
    def _want_map():
        if input.nav() in ("map", "clusters"):
            map_wanted.set(True)

    @reactive.calc
    async def gmap() -> pd.DataFrame:
        req(map_wanted())
        mdl = model()
        note = None
        if not d.map_cached(mdl):
            where = (f"cached in {os.path.basename(d.map_path(mdl.path))}; genevec train --map computes it at "
                     "training" if mdl.path else "kept in memory: these vectors have no file")
            note = ui.notification_show(
                f"Computing the t-SNE map of {len(mdl.vectors):,} genes (once; {where})...",
                duration=None, type="message")
        try:
            return await asyncio.to_thread(d.get_map, mdl)
        finally:
            if note is not None:
                ui.notification_remove(note)

    @reactive.calc
    def map_topn() -> int:
        """Neighbours to ring: a whole number in 0..MAX_RING (NaN, Infinity and text read as 0)."""
        topn = input.map_topn()
        ok = isinstance(topn, (int, float)) and topn == topn and abs(topn) != float("inf")
        return int(min(max(topn, 0), sv.MAX_RING)) if ok else 0

    clamped: reactive.Value[tuple[float, int] | None] = reactive.value(None)   # (typed, used) until changed

    @reactive.effect
    def _enforce_topn():
        topn = input.map_topn()
        if not (isinstance(topn, (int, float)) and topn == topn):
            return
        with reactive.isolate():
            last = clamped()
        if topn > sv.MAX_RING or topn < 0:
            clamped.set((topn, map_topn()))
            ui.update_numeric("map_topn", value=map_topn())      # the box shows what is used
        elif last is not None and topn != last[1]:
            clamped.set(None)

    @render.ui
    def map_notice():
        parts = []
        if clamped() is not None:
            typed, used = clamped()
            parts.append(ui.div(f"Neighbours to ring: {typed:g} is outside 0..{sv.MAX_RING}; ringing {used}.",
                                class_="alert alert-warning py-2 limit-notice"))
        missing = picker_notice(["map_gene"], "it and its neighbours on the map")
        if missing is not None and gene_of("map_gene"):
            parts.append(missing)
        return ui.TagList(*parts) if parts else None

    # the set picker of "Colour by: a gene set", filled with the chosen collection's sets
    @reactive.effect
    def _fill_sets():
        sets = collections.get(input.map_sets())
        if sets is None or input.map_colour() != "set":
            return
        choices = {name: f"{sets.describe(name)} ({name})" if sets.describe(name) != name else name
                   for name in sorted(sets, key=sets.describe)}
        ui.update_selectize("map_set", choices=choices, server=True)

    @reactive.calc
    async def map_fill() -> tuple[pd.DataFrame, str, list[str], dict]:
        """(map, cache key, fills, legend) of the colour mode."""
        m_ = await gmap()
        mode = input.map_colour()
        gv = model().vectors
        if mode == "set":
            sets = collections.get(input.map_sets())
            name = input.map_set()
            if sets is not None and name in sets:
                fills, legend = sv.map_colours(m_, "set", members=sets[name], set_label=sets.describe(name))
                return m_, f"set:{sets.name}:{name}", fills, legend
        if mode == "similarity":
            focus = gene_of("map_gene")
            if focus in gv:
                fills, legend = sv.map_colours(m_, "similarity", gv=gv, focus=focus)
                return m_, f"sim:{focus}", fills, legend
        fills, legend = sv.map_colours(m_)
        return m_, "cluster", fills, legend

    @render.text
    async def map_status():
        m_ = await gmap()
        return (f"{len(m_):,} genes, {m_['cluster'].nunique()} k-means clusters. Hover a point for its gene, "
                "click it to find it.")

    @render.ui
    async def map_base():
        m_, key, fills, _ = await map_fill()
        return ui.HTML(d.cached_map_svg(model(), m_, key, fills))

    @render.ui
    async def map_legend():
        return ui.HTML(sv.legend_html((await map_fill())[3]))

    @reactive.effect
    @reactive.event(input.map_click)
    async def _focus_from_click():
        gene = input.map_click()
        if isinstance(gene, str) and gene in model().vectors:      # the picker shows what the ring shows
            await session.send_custom_message("genevec-picker", {"id": "map_gene", "value": gene})

    @reactive.calc
    async def ring() -> tuple[str | None, list[str], str, list[str]]:
        """(focus, its ringed neighbours, the overlay SVG, the genes whose label was left out)."""
        m_ = await gmap()
        gv = model().vectors
        focus = gene_of("map_gene")
        if focus not in gv:
            focus = None
        topn = map_topn()
        others = [g for g, _ in gv.most_similar(focus, topn=min(topn, len(gv) - 1))] if focus and topn else []
        svg, hidden = sv.map_overlay_svg(m_, focus, others)
        return focus, others, svg, hidden

    @render.ui
    async def map_overlay():
        return ui.HTML((await ring())[2])

    @render.text
    async def map_ring_caption():
        focus, others, _, hidden = await ring()
        req(focus is not None)
        text = f"{focus} (red) and its {len(others)} nearest genes are ringed"
        if hidden:
            text += f"; {len(hidden)} labels are left out where they would overlap: hover a ring for its gene"
        return text + "."

    @render.text
    def map_click_caption():
        gene = present("map_gene")
        return f"Nearest neighbours of {gene}"

    @render.data_frame
    def map_click_table():
        return render.DataGrid(d.for_display(d.neighbours(model().vectors, present("map_gene"), topn=20)),
                               width="100%")

    # ---------------------------------------------------------------- clusters
    @render.ui
    async def cl_select():
        m = await gmap()
        summary = d.cluster_summary(m)
        choices = {str(r.Cluster): f"Cluster {r.Cluster} ({r.Genes:,} genes)" for r in summary.itertuples()}
        return ui.input_select("cluster", "Cluster", choices=choices)

    async def _cluster_pick() -> tuple[pd.DataFrame, int]:
        m = await gmap()
        k = input.cluster()
        req(isinstance(k, str) and k.isdigit())
        k = int(k)
        req(k in set(m["cluster"].tolist()))
        return m, k

    cl_rows = _paged(lambda: (input.model(), input.cluster()), input.cl_more)

    @reactive.calc
    async def cl_all() -> pd.DataFrame:
        return d.with_names(d.cluster_table(*await _cluster_pick()))

    @reactive.calc
    async def cl_page() -> tuple[pd.DataFrame, int]:
        table = await cl_all()
        return table.iloc[:cl_rows()], len(table)

    _show_more("cl_more", cl_page)
    _downloadable("cl_download", cl_all)
    _downloadable("cl_download_all", gmap)

    @render.text
    async def cl_caption():
        shown, n = await cl_page()
        note = d.rows_note(len(shown), n, rest="download for the rest")
        return f"Cluster {input.cluster()}: {n:,} genes" + (f"; {note}" if note else "")

    @render.data_frame
    async def cl_table():
        return render.DataGrid((await cl_page())[0], height="420px", width="100%")

    @render.data_frame
    async def cl_summary():
        return render.DataGrid(d.cluster_summary(await gmap()), width="100%")

    @render.download_button(filename=lambda: d.safe_filename(f"cluster_{input.cluster()}", "genes.csv"),
                            media_type="text/csv")
    async def cl_download():
        yield await _csv_or_header(cl_all, ["Gene", "Name"])

    @render.download_button(filename=lambda: d.safe_filename(model().label, "clusters.tsv"),
                            media_type="text/tab-separated-values")
    async def cl_download_all():
        m = await _result(gmap)
        yield "gene\tcluster\n" if m is None else m.loc[:, ["gene", "cluster"]].to_csv(sep="\t", index=False)
