"""The Shiny server: what each output of the page shows, per session.

The page is :mod:`genevec.app._ui`'s; the content comes from :mod:`genevec.app._data` (tables,
pickers, the map), :mod:`._svg` (its drawing), :mod:`._about` and :mod:`._compare`. One file over
~500 lines, for a reason: every tab's outputs are closures of one ``server`` function, sharing the
session's reactive helpers (the chosen model, the gene pickers, paging, downloads); the Compare
tab, which needs few of them, is its own function.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
from collections.abc import Sequence
from typing import Any

import pandas as pd
from shiny import App, Inputs, Outputs, Session, reactive, render, req, ui
from shiny.types import SilentException
from starlette.requests import Request
from starlette.responses import JSONResponse

from . import _about as ab
from . import _compare as c
from . import _data as d
from . import _svg as sv
from . import _ui as ui_

log = logging.getLogger(__name__)


def _text(value: object) -> str:
    """A text input's value, stripped; anything else a client can send (null, numbers, lists) reads as ''."""
    return value.strip() if isinstance(value, str) else ""


def _model_index(value: object, n: int) -> int | None:
    """The model selector's value as an index into the models, or None when it names no model."""
    if value is None or value == "":
        return 0
    if isinstance(value, str) and value.isascii() and value.isdigit() and int(value) < n:
        return int(value)
    return None

def build_app(models: Sequence[d.Model], gene_sets: Sequence[Any] = ("go_bp", "reactome"),
              collection: Any = None) -> App:
    """The Shiny ``App`` for already loaded models (see :func:`genevec.app.create_app`).

    With ``collection`` (the :class:`genevec.TissueModels` the models are the tissues of) the model
    selector picks a tissue and a Compare tissues tab is added.
    """
    from ..genesets import load_gene_sets

    models = list(models)
    universe = c.GeneUniverse(collection) if collection is not None else None
    collections = {}
    for source in gene_sets:                              # loaded now: a bad GMT fails here, not in a session
        sets = load_gene_sets(source)
        collections[sets.name] = sets

    def server(input: Inputs, output: Outputs, session: Session) -> None:
        map_wanted = reactive.value(False)

        @reactive.calc
        def model() -> d.Model:
            i = _model_index(input.model(), len(models))
            req(i is not None)                 # a value no select box sends: show nothing, raise nothing
            return models[i]

        def gene_of(iid: str) -> str:
            """A picker's gene: '' when empty or not sent yet; a name the model lacks is kept (a notice says why)."""
            try:
                return _text(input[iid]())
            except SilentException:
                return ""

        def present(iid: str) -> str:
            """A picker's gene when the current model has it; else the outputs that need it show nothing."""
            gene = gene_of(iid)
            req(gene and gene in model().vectors)
            return gene

        def picker_notice(iids: Sequence[str], what: str) -> ui.Tag | None:
            """The message a tab shows instead of a blank page: no gene yet, or a gene the model lacks."""
            mdl = model()
            genes = [gene_of(i) for i in iids]
            if not all(genes):
                return ui.div(f"Type a gene symbol in the box above to see {what}.", class_="alert alert-info py-2")
            missing = list(dict.fromkeys(g for g in genes if g not in mdl.vectors))
            if missing:
                return ui.div(*[ui.p(d.absent_notice(mdl, g), class_="mb-1") for g in missing],
                              class_="alert alert-warning py-2 absent-notice")
            return None

        _toggled: dict[str, dict] = {}

        async def toggle(iid: str, **state: bool) -> None:
            if _toggled.get(iid) != state:
                _toggled[iid] = state
                await session.send_custom_message("genevec-toggle", {iid: state})

        # ---------------------------------------------------------------- pickers, per tab and model
        # A picker is served by the model's one shared gene index (d.search_genes): the session keeps
        # no copy of the 25k choices. Same route name and protocol as ui.update_selectize(server=True).
        # A picker's route is set up once; a model switch only points it at the new model and tells the
        # browser to forget the old model's options, so the chosen gene never goes blank on the way.
        filled: dict[str, int] = {}                      # tab -> model index its pickers were filled for
        routes: dict[str, dict[str, Any]] = {}           # picker -> {"gv": model searched, "selected": gene}

        async def _fill(iid: str, gv, selected: str) -> None:
            state = routes.get(iid)
            if state is not None:
                state.update(gv=gv, selected=selected)
                await session.send_custom_message("genevec-picker", {"id": iid, "reload": True})
                return
            state = routes[iid] = {"gv": gv, "selected": selected}

            def choices_json(request: Request) -> JSONResponse:
                q = request.query_params
                try:
                    limit = min(max(int(q.get("maxop", d.MAX_OPTIONS)), 1), d.MAX_OPTIONS)
                except ValueError:
                    limit = d.MAX_OPTIONS
                genes = d.search_genes(state["gv"], q.get("query", ""), limit=limit, selected=[state["selected"]],
                                       any_word=q.get("conju") == "or")
                return JSONResponse(d.picker_options(state["gv"], genes))

            url = session.dynamic_route(f"update_selectize_{iid}", choices_json)
            session.send_input_message(iid, {"value": [selected] if selected else [], "url": url})

        @reactive.effect
        async def _fill_pickers():
            i = _model_index(input.model(), len(models))
            if i is None:
                return
            tab = input.nav()                    # a client may omit it: the landing tab is filled regardless
            for t in dict.fromkeys(("neighbours", tab)):
                if t not in ui_.PICKERS or (t == "compare" and universe is None):
                    continue
                # the Compare tab's picker lists every tissue's genes, whichever tissue the selector shows
                gv, key = (universe, -1) if t == "compare" else (models[i].vectors, i)
                if filled.get(t) == key:
                    continue
                first = t not in filled
                filled[t] = key
                with reactive.isolate():         # keep the genes the user chose; never swap them
                    for k, iid in enumerate(ui_.PICKERS[t]):
                        keep = "" if first else gene_of(iid)
                        default = d.DEFAULT_ANALOGY[k] if t == "analogy" else d.default_gene(gv)
                        await _fill(iid, gv, keep or default)

        def _paged(key, button) -> reactive.Calc_:
            """Rows a big table shows: PAGE_ROWS, plus PAGE_ROWS per click of ``button`` while ``key()`` stays.

            Any change of ``key()`` (the gene, the filter, the model...) starts again at PAGE_ROWS, also
            when it comes back to an earlier key.
            """
            state: reactive.Value[tuple[object, int]] = reactive.value((None, d.PAGE_ROWS))

            @reactive.effect(priority=100)                    # before the outputs that read rows()
            def _reset():
                now = key()
                with reactive.isolate():
                    k, _ = state()
                if k != now:
                    state.set((now, d.PAGE_ROWS))

            @reactive.effect
            @reactive.event(button)
            def _more():
                k, n = state.get()
                now = key()
                state.set((now, (n if k == now else d.PAGE_ROWS) + d.PAGE_ROWS))

            @reactive.calc
            def rows() -> int:
                k, n = state()
                return n if k == key() else d.PAGE_ROWS

            return rows

        async def _result(calc) -> Any:
            """``calc()``, awaited if it is async; None when it has nothing to show (req() failed)."""
            try:
                value = calc()
                return await value if inspect.isawaitable(value) else value
            except SilentException:
                return None

        def _show_more(button: str, page) -> None:
            """The "Show more" button is there only when the table has more rows than it shows."""
            @reactive.effect
            async def _():
                got = await _result(page)
                await toggle(button, shown=got is not None and len(got[0]) < got[1])

        def _downloadable(iid: str, table) -> None:
            """A download is enabled only while ``table()`` gives a result (so a click never meets an error)."""
            @reactive.effect
            async def _():
                await toggle(iid, enabled=await _result(table) is not None)

        async def _csv_or_header(table, header: Sequence[str]) -> str:
            """The CSV of ``table()``; the header alone when there is none (a direct request never errs)."""
            got = await _result(table)
            return ",".join(header) + "\n" if got is None else d.to_csv(got)

        @render.ui
        def model_info():
            m = model()
            from ..provenance import summary

            stab = (m.vectors.metadata.get("stability") or {}).get("mean_jaccard") if m.kind == "tissue" else None
            return ui.p(f"{len(m.vectors):,} genes x {m.vectors.dim} dimensions", ui.br(),
                        ui.tags.small(os.path.basename(m.path) or "not saved to a file", class_="text-muted"),
                        ui.br(),
                        ui.tags.small(f"Trained on: {summary(m.vectors.metadata)}", class_="text-muted"),
                        *([ui.br(), ui.tags.small(f"Split-half stability: {float(stab):.2f}", class_="text-muted")]
                          if stab is not None else []))

        # ---------------------------------------------------------------- neighbours
        @render.ui
        def nb_notice():
            return picker_notice(["gene"], "its nearest genes")

        @reactive.calc
        def nb() -> pd.DataFrame:
            """Every other gene (filtered server-side over all of them): the caption's count and the CSV."""
            return d.neighbours(model().vectors, present("gene"), _text(input.nb_filter()))

        nb_rows = _paged(lambda: (input.model(), input.gene(), _text(input.nb_filter())), input.nb_more)

        @reactive.calc
        def nb_page() -> tuple[pd.DataFrame, int]:
            """The rows the grid shows, and how many the whole (filtered) table has.

            Unfiltered, only the first rows are ranked (GeneVectors' top-n: ~13x less work than
            ranking all 25k genes); a filter ranks every gene once, then filters.
            """
            gv = model().vectors
            gene = present("gene")
            if _text(input.nb_filter()):
                table = nb()
                return table.iloc[:nb_rows()], len(table)
            return d.neighbours(gv, gene, topn=nb_rows()), len(gv) - 1

        _show_more("nb_more", nb_page)
        _downloadable("nb_download", nb_page)

        @render.text
        def nb_caption():
            shown, total = nb_page()
            filt = _text(input.nb_filter())
            extra = f" containing {filt!r}" if filt else ""
            note = d.rows_note(len(shown), total)
            return (f"{total:,} genes{extra} by cosine similarity to {input.gene()} "
                    f"(of {len(model().vectors) - 1:,} other genes)" + (f"; {note}" if note else ""))

        @render.data_frame
        def nb_table():
            return render.DataGrid(d.for_display(nb_page()[0]), height="440px", width="100%")

        @render.download_button(filename=lambda: d.safe_filename(_text(input.gene()) or "gene", "neighbours.csv"),
                                media_type="text/csv")
        async def nb_download():
            yield await _csv_or_header(nb, ["Gene", "Name", "Similarity"])

        # ---------------------------------------------------------------- enrichment of the neighbours
        @reactive.calc
        def en():
            """The Enrichment of the gene's neighbours, or a sentence saying why there is none."""
            topn = input.en_topn()
            if not (isinstance(topn, (int, float)) and 5 <= topn <= 500):
                return f"Nearest genes tested: give a whole number from 5 to 500 (got {topn!r})."
            sets = collections.get(input.en_sets())
            req(sets is not None)
            try:
                return model().vectors.enrich(present("gene"), topn=int(topn), gene_sets=sets)
            except ValueError as exc:            # e.g. no gene of the model is in any set
                return str(exc)

        @reactive.calc
        def en_all() -> pd.DataFrame:
            result = en()
            req(not isinstance(result, str))
            return result.table

        _downloadable("en_download", en_all)

        @render.text
        def en_summary():
            result = en()
            return result if isinstance(result, str) else result.summary()

        @render.data_frame
        def en_table():
            result = en()
            req(not isinstance(result, str))
            hits = result.significant(0.05)
            if hits.empty:                       # none: the smallest p values, marked as such
                hits = result.table.head(10).copy()
                hits["Set"] = [f"{name} (not significant)" for name in hits["Set"]]
            cols = ["Set", "Name", "Overlap", "Size", "Expected", "P", "Q", "Genes"]
            return render.DataGrid(d.for_display(hits.loc[:, cols]), width="100%")

        @render.download_button(filename=lambda: d.safe_filename(_text(input.gene()) or "gene",
                                                                 f"{input.en_sets()}_enrichment.csv"),
                                media_type="text/csv")
        async def en_download():
            yield await _csv_or_header(en_all, ["Set", "Name", "Overlap", "Size", "Expected", "Fold", "P", "Q",
                                                "Genes"])

        # ---------------------------------------------------------------- analogy
        @render.ui
        def an_notice():
            missing = picker_notice(ui_.PICKERS["analogy"], "an analogy")
            if missing is not None:
                return missing
            note = d.analogy_notice(*(gene_of(i) for i in ui_.PICKERS["analogy"]))
            return ui.div(note, class_="alert alert-warning py-2 repeat-notice") if note else None

        @reactive.calc
        def an_terms() -> tuple[str, str, str]:
            terms = tuple(gene_of(i) for i in ui_.PICKERS["analogy"])      # all three read: each one re-renders
            req(all(t and t in model().vectors for t in terms))
            return terms

        @reactive.calc
        def an() -> pd.DataFrame:
            terms = an_terms()                   # first: no analogy, no dependency on the switch or the filter
            mode = "original" if input.an_original() else "gensim"
            return d.analogy(model().vectors, *terms, mode=mode, text=_text(input.an_filter()))

        an_rows = _paged(lambda: (input.model(), input.an_a(), input.an_b(), input.an_c(), input.an_original(),
                                  _text(input.an_filter())), input.an_more)

        @reactive.calc
        def an_page() -> tuple[pd.DataFrame, int]:
            table = an()
            return table.iloc[:an_rows()], len(table)

        _show_more("an_more", an_page)
        _downloadable("an_download", an_page)

        @render.text
        def an_caption():
            a, b, c = an_terms()
            shown, total = an_page()
            mode = "original" if input.an_original() else "gensim"
            filt = _text(input.an_filter())
            note = d.rows_note(len(shown), total)
            return (f"{a} is to {b} as ? is to {c}: {total:,} genes{f' containing {filt!r}' if filt else ''} "
                    f"by closeness to {a} - {b} + {c}. Semantics: {d.ANALOGY_MODES[mode]}."
                    + (f" {note[0].upper()}{note[1:]}." if note else ""))

        @render.data_frame
        def an_table():
            return render.DataGrid(d.for_display(an_page()[0]), height="520px", width="100%")

        @render.download_button(filename=lambda: d.safe_filename(*(gene_of(i) or "gene" for i in ui_.PICKERS["analogy"]),
                                                                 "analogy.csv"),
                                media_type="text/csv")
        async def an_download():
            yield await _csv_or_header(an, ["Rank", "Gene", "Name", "Similarity"])

        # ---------------------------------------------------------------- map
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

        # ---------------------------------------------------------------- about
        @render.ui
        def about():
            blocks = [ui.p("Gene vectors learned by GloVe on a gene co-occurrence matrix (genevec). Similarity is "
                           "the cosine of two genes' vectors; support is the fraction of refits on resampled "
                           "samples in which a neighbour came back.")]
            if collection is None:
                for info in ab.about(models):
                    blocks.extend(ui_.about_block(info))
                return ui.TagList(*blocks)
            # a tissue collection: the whole collection, then the tissue the selector shows
            blocks.append(ui.h5(f"The collection: {len(collection)} tissue{'s' if len(collection) != 1 else ''}",
                                class_="mt-3"))
            blocks.append(ui_.kv_table(c.settings_rows(collection), "about-table collection-table"))
            summary = c.summary_table(collection)
            blocks.append(ui.tags.table(
                ui.tags.tr(*[ui.tags.th(h) for h in summary.columns]),
                *[ui.tags.tr(*[ui.tags.td("" if pd.isna(v) else str(v)) for v in row])
                  for row in summary.itertuples(index=False)],
                class_="about-table collection-summary table table-sm w-auto"))
            blocks.extend(ui.p(line, class_="skipped-tissue text-muted") for line in c.skipped_lines(collection))
            blocks.extend(ui_.about_block(ab.about([model()])[0]))
            return ui.TagList(*blocks)

        if collection is not None:
            _compare_server(input, collection, gene_of, _downloadable, _csv_or_header)

    return App(ui_.build_ui(models, list(collections), None if collection is None else collection.tissues), server)

def _compare_server(input: Inputs, collection: Any, gene_of, downloadable, csv_or_header) -> None:
    """The Compare tissues tab's outputs (a tissue collection only); the content comes from :mod:`._compare`.

    ``gene_of``, ``downloadable`` and ``csv_or_header`` are the session's helpers that the other tabs
    use too, so this tab behaves as they do.
    """
    def _alert(text: str, kind: str = "warning", extra: str = "") -> ui.Tag:
        return ui.div(text, class_=f"alert alert-{kind} py-2 {extra}".strip())

    # ------------------------------------------------------------ a gene's neighbours, side by side
    @reactive.calc
    def cmp() -> tuple[pd.DataFrame, dict[str, str]] | str:
        """The side-by-side table and the tissues without the gene, or a sentence saying why there is none."""
        return c.side_by_side(collection, gene_of("cmp_gene"), input.cmp_topn(), input.cmp_tissues())

    @reactive.calc
    def cmp_all() -> pd.DataFrame:
        got = cmp()
        req(not isinstance(got, str))
        return got[0]

    downloadable("cmp_download", cmp_all)

    @render.ui
    def cmp_notice():
        got = cmp()
        if isinstance(got, str):
            return _alert(got, "info") if got == c.COMPARE_EMPTY else _alert(got, extra="compare-problem")
        lines = c.absent_lines(gene_of("cmp_gene"), got[1])
        return (ui.div(*[ui.p(line, class_="mb-1") for line in lines], class_="alert alert-warning py-2 absent-notice")
                if lines else None)

    @render.text
    def cmp_caption():
        got = cmp()
        req(not isinstance(got, str))
        return c.compare_caption(gene_of("cmp_gene"), *got)

    @render.data_frame
    def cmp_table():
        return render.DataGrid(c.side_by_side_display(cmp_all()), width="100%")

    @render.download_button(filename=lambda: d.safe_filename(gene_of("cmp_gene") or "gene", "tissues.csv"),
                            media_type="text/csv")
    async def cmp_download():
        yield await csv_or_header(cmp_all, ["Rank"])

    # ------------------------------------------------------------ the most-shifted genes of two tissues
    @reactive.calc
    async def shifts() -> pd.DataFrame | str:
        """Every shared gene of tissues A and B, most shifted first (computed off the event loop), or why not."""
        a, b = input.sh_a(), input.sh_b()
        problem = c.shift_problem(collection, a, b, input.sh_top())
        if problem:
            return problem
        try:
            full = await asyncio.to_thread(c.all_shifts, collection, a, b)
        except ValueError as exc:                         # e.g. tissues that share too few genes
            return str(exc)
        return c.shift_table(full)

    @reactive.calc
    async def sh_all() -> pd.DataFrame:
        got = await shifts()
        req(not isinstance(got, str))
        return got

    downloadable("sh_download", sh_all)

    @render.ui
    async def sh_notice():
        got = await shifts()
        return _alert(got, extra="shift-problem") if isinstance(got, str) else None

    @render.text
    async def sh_caption():
        table = await sh_all()
        return c.shift_caption(table, min(len(table), int(input.sh_top())))

    @render.text
    async def sh_help():
        await sh_all()
        return c.shift_explanation(collection.k)

    @render.data_frame
    async def sh_table():
        return render.DataGrid(c.shift_display(await sh_all(), int(input.sh_top())), width="100%", height="480px")

    @render.download_button(filename=lambda: d.safe_filename(str(input.sh_a()), "vs", str(input.sh_b()), "shifts.csv"),
                            media_type="text/csv")
    async def sh_download():
        yield await csv_or_header(sh_all, c.SHIFT_COLUMNS)
