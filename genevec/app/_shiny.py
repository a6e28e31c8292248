"""The Shiny server: one session's shared state and helpers, the gene pickers, the sidebar and About.

The page is :mod:`genevec.app._ui`'s. Each tab's outputs are registered by its own module, handed
the session's :class:`~genevec.app._session.SessionTools`: Neighbours and Analogy
(:mod:`._tab_tables`), Map and Clusters (:mod:`._tab_map`), Compare tissues (:mod:`._tab_compare`).
What they show comes from :mod:`genevec.app._data`, :mod:`._svg`, :mod:`._about` and :mod:`._compare`.
"""

from __future__ import annotations

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
from . import _tab_compare, _tab_map, _tab_tables
from . import _ui as ui_
from ._session import SessionTools
from ._session import model_index as _model_index
from ._session import text as _text

log = logging.getLogger(__name__)


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

        tools = SessionTools(input=input, session=session, collections=collections, model=model, gene_of=gene_of,
                             present=present, picker_notice=picker_notice, paged=_paged, result=_result,
                             show_more=_show_more, downloadable=_downloadable, csv_or_header=_csv_or_header)
        _tab_tables.serve(tools)
        _tab_map.serve(tools)

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
            _tab_compare.serve(tools, collection)

    return App(ui_.build_ui(models, list(collections), None if collection is None else collection.tissues), server)
