"""The Shiny UI and server; the content comes from :mod:`genevec.app._data`."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Sequence

import pandas as pd
from shiny import App, Inputs, Outputs, Session, reactive, render, req, ui
from starlette.requests import Request
from starlette.responses import JSONResponse

from . import _data as d

log = logging.getLogger(__name__)

_CSS = """
.genemap-wrap { position: relative; width: 100%; max-width: 1000px; }
.genemap-wrap svg { width: 100%; height: auto; display: block; }
#genemap-overlay { position: absolute; top: 0; left: 0; width: 100%; height: auto; pointer-events: none; }
#genemap-base { border: 1px solid #ddd; border-radius: 4px; background: #fff; }
#genemap-base circle { cursor: pointer; }
#genemap-base circle:hover { stroke: #000; stroke-width: 1.5; }
.analogy-line { display: flex; align-items: center; gap: .75rem; flex-wrap: wrap; }
.analogy-line .form-group { margin-bottom: 0; }
.analogy-word { font-size: 1.15rem; padding-top: 1.4rem; }
.about-table td, .about-table th { padding: .15rem .6rem; }
.rows-line { display: flex; align-items: center; gap: .75rem; flex-wrap: wrap; margin-bottom: .5rem; }
.rows-line p { margin-bottom: 0; }
"""

# The gene pickers of each tab, filled when the tab is first shown (Neighbours at once: it is the
# landing tab). Clusters and About have none.
PICKERS = {"neighbours": ("gene",), "analogy": ("an_a", "an_b", "an_c"), "map": ("map_gene",)}

# Event delegation: one listener for every circle of the (re-rendered) map; the gene name is read
# from data-g (the browser unescapes it) and sent as plain data, never as HTML.
_JS = """
document.addEventListener('click', function (ev) {
  var t = ev.target;
  if (!t || !t.closest) { return; }
  var c = t.closest('#genemap-base circle[data-g]');
  if (c && window.Shiny) { Shiny.setInputValue('map_click', c.getAttribute('data-g'), {priority: 'event'}); }
});
"""


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


def build_ui(models: Sequence[d.Model]) -> ui.Tag:
    choices = {str(i): m.label for i, m in enumerate(models)}
    empty: list[str] = []
    sidebar = ui.sidebar(
        ui.input_select("model", "Model", choices=choices, selected="0"),
        ui.output_ui("model_info"),
        width=270,
    )
    neighbours = ui.nav_panel(
        "Neighbours",
        ui.layout_columns(
            ui.input_selectize("gene", "Gene", choices=empty, options={"placeholder": "type a gene symbol"}),
            ui.input_text("nb_filter", "Filter the table", placeholder="part of a gene name, e.g. RAS"),
            ui.div(ui.download_button("nb_download", "Download CSV"), class_="pt-4"),
            col_widths=(4, 4, 4),
        ),
        ui.div(ui.p(ui.output_text("nb_caption", inline=True), class_="text-muted"),
               ui.input_action_button("nb_more", f"Show {d.PAGE_ROWS} more", class_="btn-sm btn-outline-secondary"),
               class_="rows-line"),
        ui.output_data_frame("nb_table"),
        value="neighbours",
    )
    analogy = ui.nav_panel(
        "Analogy",
        ui.div(
            ui.input_selectize("an_a", "A", choices=empty, width="210px"),
            ui.span("is to", class_="analogy-word"),
            ui.input_selectize("an_b", "B", choices=empty, width="210px"),
            ui.span("as ? is to", class_="analogy-word"),
            ui.input_selectize("an_c", "C", choices=empty, width="210px"),
            class_="analogy-line",
        ),
        ui.div(ui.input_switch("an_original", d.ANALOGY_MODES["original"].capitalize(), False, width="100%"), class_="mt-3"),
        ui.p(ui.output_text("an_caption", inline=True), class_="text-muted"),
        ui.output_data_frame("an_table"),
        value="analogy",
    )
    gene_map = ui.nav_panel(
        "Map",
        ui.layout_columns(
            ui.input_selectize("map_gene", "Find a gene on the map", choices=empty,
                               options={"placeholder": "type a gene symbol"}),
            ui.input_numeric("map_topn", "Neighbours to ring", 10, min=0, max=100),
            col_widths=(5, 3),
        ),
        ui.p(ui.output_text("map_status", inline=True), class_="text-muted"),
        ui.div(ui.output_ui("map_base"), ui.output_ui("map_overlay"), class_="genemap-wrap"),
        ui.h5(ui.output_text("map_click_caption", inline=True), class_="mt-3"),
        ui.output_data_frame("map_click_table"),
        value="map",
    )
    clusters = ui.nav_panel(
        "Clusters",
        ui.layout_columns(
            ui.output_ui("cl_select"),
            ui.div(ui.download_button("cl_download", "Download this cluster (CSV)"),
                   ui.download_button("cl_download_all", "Download all clusters (TSV)"), class_="pt-4"),
            col_widths=(4, 8),
        ),
        ui.div(ui.p(ui.output_text("cl_caption", inline=True), class_="text-muted"),
               ui.input_action_button("cl_more", f"Show {d.PAGE_ROWS} more", class_="btn-sm btn-outline-secondary"),
               class_="rows-line"),
        ui.output_data_frame("cl_table"),
        ui.h5("All clusters", class_="mt-4"),
        ui.output_data_frame("cl_summary"),
        value="clusters",
    )
    about = ui.nav_panel("About", ui.output_ui("about"), value="about")
    return ui.page_navbar(
        neighbours, analogy, gene_map, clusters, about,
        title="genevec explorer", id="nav", sidebar=sidebar, window_title="genevec explorer",
        header=ui.head_content(ui.tags.style(_CSS), ui.tags.script(_JS)),
    )


def build_app(models: Sequence[d.Model]) -> App:
    """The Shiny ``App`` for already loaded models (see :func:`genevec.app.create_app`)."""
    models = list(models)
    svg_cache: dict[tuple[str, int], str] = {}           # shared by every session of this process

    def server(input: Inputs, output: Outputs, session: Session) -> None:
        map_wanted = reactive.value(False)
        map_focus: reactive.Value[str | None] = reactive.value(None)

        @reactive.calc
        def model() -> d.Model:
            i = _model_index(input.model(), len(models))
            req(i is not None)                 # a value no select box sends: show nothing, raise nothing
            return models[i]

        # ---------------------------------------------------------------- pickers, per tab and model
        # A picker is served by the model's one shared gene index (d.search_genes): the session keeps
        # no copy of the 25k choices. Same route name and protocol as ui.update_selectize(server=True).
        filled: dict[str, int] = {}                      # tab -> model index its pickers were filled for

        def _fill(iid: str, gv, selected: str) -> None:
            def choices_json(request: Request) -> JSONResponse:
                q = request.query_params
                try:
                    limit = min(max(int(q.get("maxop", d.MAX_OPTIONS)), 1), d.MAX_OPTIONS)
                except ValueError:
                    limit = d.MAX_OPTIONS
                genes = d.search_genes(gv, q.get("query", ""), limit=limit, selected=[selected],
                                       any_word=q.get("conju") == "or")
                return JSONResponse([{"label": g, "value": g} for g in genes])

            url = session.dynamic_route(f"update_selectize_{iid}", choices_json)
            session.send_input_message(iid, {"value": [selected], "url": url})

        @reactive.effect
        def _fill_pickers():
            i = _model_index(input.model(), len(models))
            if i is None:
                return
            gv = models[i].vectors
            genes = gv.genes
            if filled.get("neighbours") != i:
                filled["neighbours"] = i
                _fill("gene", gv, d.default_gene(gv))
            tab = input.nav()                    # read after the landing tab's fill: a client may omit it
            if tab not in ("analogy", "map") or filled.get(tab) == i:
                return
            filled[tab] = i
            if tab == "analogy":
                for k, (iid, want) in enumerate(zip(PICKERS[tab], d.DEFAULT_ANALOGY)):
                    _fill(iid, gv, want if want in gv else genes[min(k, len(genes) - 1)])
            else:
                _fill("map_gene", gv, d.default_gene(gv))

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

        @render.ui
        def model_info():
            m = model()
            return ui.p(f"{len(m.vectors):,} genes x {m.vectors.dim} dimensions", ui.br(),
                        ui.tags.small(os.path.basename(m.path), class_="text-muted"))

        # ---------------------------------------------------------------- neighbours
        @reactive.calc
        def nb_all() -> pd.DataFrame:
            gv = model().vectors
            gene = input.gene()
            req(isinstance(gene, str) and gene and gene in gv)
            return d.neighbours(gv, gene)

        @reactive.calc
        def nb() -> pd.DataFrame:
            """Every other gene (filtered server-side over all of them): the caption's count and the CSV."""
            return d.filter_genes(nb_all(), _text(input.nb_filter()))

        nb_rows = _paged(lambda: (input.model(), input.gene(), _text(input.nb_filter())), input.nb_more)

        @reactive.calc
        def nb_page() -> tuple[pd.DataFrame, int]:
            """The rows the grid shows, and how many the whole (filtered) table has.

            Unfiltered, only the first rows are ranked (GeneVectors' top-n: ~13x less work than
            ranking all 25k genes); a filter ranks every gene once, then filters.
            """
            gv = model().vectors
            gene = input.gene()
            req(isinstance(gene, str) and gene and gene in gv)
            if _text(input.nb_filter()):
                table = nb()
                return table.iloc[:nb_rows()], len(table)
            return gv.neighbor_table(gene, topn=nb_rows()), len(gv) - 1

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
            return render.DataGrid(d.for_display(nb_page()[0]), height="560px", width="100%")

        @render.download_button(filename=lambda: d.safe_filename(_text(input.gene()) or "gene", "neighbours.csv"),
                         media_type="text/csv")
        def nb_download():
            yield d.to_csv(nb())

        # ---------------------------------------------------------------- analogy
        @reactive.calc
        def an_terms() -> tuple[str, str, str]:
            gv = model().vectors
            terms = (input.an_a(), input.an_b(), input.an_c())
            req(all(t and t in gv for t in terms))
            return terms

        @reactive.calc
        def an() -> pd.DataFrame:
            a, b, c = an_terms()
            mode = "original" if input.an_original() else "gensim"
            return d.analogy(model().vectors, a, b, c, mode=mode)

        @render.text
        def an_caption():
            a, b, c = an_terms()
            mode = "original" if input.an_original() else "gensim"
            return f"{a} is to {b} as ? is to {c}: genes closest to {a} - {b} + {c}. Semantics: {d.ANALOGY_MODES[mode]}."

        @render.data_frame
        def an_table():
            return render.DataGrid(d.for_display(an()), width="100%")

        # ---------------------------------------------------------------- map
        @reactive.effect
        def _want_map():
            if input.nav() in ("map", "clusters"):
                map_wanted.set(True)

        @reactive.calc
        async def gmap() -> pd.DataFrame:
            req(map_wanted())
            mdl = model()
            cached = os.path.isfile(d.map_path(mdl.path))
            note = None
            if not cached:
                note = ui.notification_show(
                    f"Computing the t-SNE map of {len(mdl.vectors):,} genes (once; cached in "
                    f"{os.path.basename(d.map_path(mdl.path))})...", duration=None, type="message")
            try:
                return await asyncio.to_thread(d.get_map, mdl)
            finally:
                if note is not None:
                    ui.notification_remove(note)

        @render.text
        async def map_status():
            m = await gmap()
            return (f"{len(m):,} genes, {m['cluster'].nunique()} k-means clusters. Hover a point for its gene, "
                    "click it for its neighbours.")

        @render.ui
        async def map_base():
            m = await gmap()
            mdl = model()
            key = (mdl.path, os.stat(mdl.path).st_mtime_ns)
            if key not in svg_cache:
                svg_cache[key] = d.map_svg(m)
            return ui.HTML(svg_cache[key])

        @reactive.effect
        @reactive.event(input.map_gene)
        def _focus_from_search():
            map_focus.set(input.map_gene() or None)

        @reactive.effect
        @reactive.event(input.map_click)
        def _focus_from_click():
            map_focus.set(input.map_click())

        @render.ui
        async def map_overlay():
            m = await gmap()
            gv = model().vectors
            focus = map_focus()
            if focus not in gv:
                focus = None
            topn = input.map_topn()
            # NaN and Infinity arrive as floats from JSON: only a finite positive number rings genes
            topn = int(min(topn, len(gv) - 1)) if isinstance(topn, (int, float)) and 0 < topn < float("inf") else 0
            others = [g for g, _ in gv.most_similar(focus, topn=topn)] if focus and topn else []
            return ui.HTML(d.map_overlay_svg(m, focus, others))

        @render.text
        def map_click_caption():
            g = input.map_click()
            req(g in model().vectors)
            return f"Nearest neighbours of {g} (clicked)"

        @render.data_frame
        def map_click_table():
            g = input.map_click()
            gv = model().vectors
            req(g in gv)
            return render.DataGrid(d.for_display(gv.neighbor_table(g, topn=20)), width="100%")

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
            req(k)
            k = int(k)
            req(k in set(m["cluster"].tolist()))
            return m, k

        cl_rows = _paged(lambda: (input.model(), input.cluster()), input.cl_more)

        @render.text
        async def cl_caption():
            m, k = await _cluster_pick()
            n = int((m["cluster"] == k).sum())
            note = d.rows_note(min(cl_rows(), n), n, rest="download for the rest")
            return f"Cluster {k}: {n:,} genes" + (f"; {note}" if note else "")

        @render.data_frame
        async def cl_table():
            m, k = await _cluster_pick()
            return render.DataGrid(d.cluster_table(m, k).iloc[:cl_rows()], height="420px", width="100%")

        @render.data_frame
        async def cl_summary():
            return render.DataGrid(d.cluster_summary(await gmap()), width="100%")

        @render.download_button(filename=lambda: d.safe_filename(f"cluster_{input.cluster()}", "genes.csv"),
                         media_type="text/csv")
        async def cl_download():
            m, k = await _cluster_pick()
            yield d.to_csv(d.cluster_table(m, k))

        @render.download_button(filename=lambda: d.safe_filename(model().label, "clusters.tsv"),
                         media_type="text/tab-separated-values")
        async def cl_download_all():
            m = await gmap()
            yield m.loc[:, ["gene", "cluster"]].to_csv(sep="\t", index=False)

        # ---------------------------------------------------------------- about
        @render.ui
        def about():
            blocks = [ui.p("Gene vectors learned by GloVe on a gene co-occurrence matrix (genevec). "
                           "Similarity is the cosine of two genes' vectors.")]
            for info in d.about(models):
                rows = [("File", info["path"]), ("Genes", f"{info['genes']:,}"),
                        ("Dimension", str(info["dim"])), ("Storage", info["dtype"])]
                rows += [(k, str(v)) for k, v in info["parameters"].items()]
                blocks.append(ui.h5(info["label"], class_="mt-3"))
                blocks.append(ui.tags.table(
                    *[ui.tags.tr(ui.tags.th(k), ui.tags.td(v)) for k, v in rows],
                    class_="about-table table table-sm w-auto"))
                if not info["parameters"]:
                    blocks.append(ui.p("No training parameters: the file has no .json sidecar.",
                                       class_="text-muted"))
                quality = info["quality"]
                if quality is None:
                    blocks.append(ui.p("No quality report stored with these vectors: run "
                                       "`genevec evaluate VECTORS --counts COUNTS`, or train with `genevec train`.",
                                       class_="text-muted"))
                else:
                    blocks.append(ui.h6("How good are the neighbours?", class_="mt-2"))
                    blocks.extend(ui.p(line, class_="quality-verdict") for line in quality["verdicts"])
                    head = list(quality["rows"][0])
                    blocks.append(ui.tags.table(
                        ui.tags.tr(*[ui.tags.th(h) for h in head]),
                        *[ui.tags.tr(*[ui.tags.td(str(r[h])) for h in head]) for r in quality["rows"]],
                        class_="about-table quality-table table table-sm w-auto"))
                if info["support"]:
                    blocks.append(ui.p(f"Neighbour support (the Support column): {info['support']}.",
                                       class_="text-muted"))
            return ui.TagList(*blocks)

    return App(build_ui(models), server)
