"""The Compare tissues tab's outputs, per session (a tissue collection only): a gene's nearest genes in
each tissue side by side, and the genes whose neighbours change most between two tissues."""

from __future__ import annotations

import asyncio
from typing import Any

import pandas as pd
from shiny import reactive, render, req, ui

from . import _compare as c
from . import _data as d
from ._session import SessionTools


def serve(t: SessionTools, collection: Any) -> None:
    """Register the Compare tissues tab's outputs in the current session (``collection``: the
    :class:`genevec.TissueModels` served); the content comes from :mod:`._compare`."""
    input, gene_of, downloadable, csv_or_header = t.input, t.gene_of, t.downloadable, t.csv_or_header

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
