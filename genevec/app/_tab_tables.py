"""The Neighbours and Analogy tabs' outputs, per session: tables paged, filtered, downloadable, and the
enrichment of a gene's neighbours. What they show comes from :mod:`genevec.app._data`."""

from __future__ import annotations

import pandas as pd
from shiny import reactive, render, req, ui

from . import _data as d
from . import _ui as ui_
from ._session import SessionTools
from ._session import text as _text


def serve(t: SessionTools) -> None:
    """Register the Neighbours (with enrichment) and Analogy tabs' outputs in the current session."""
    input, model, gene_of, present, picker_notice = t.input, t.model, t.gene_of, t.present, t.picker_notice
    collections, _paged, _show_more = t.collections, t.paged, t.show_more
    _downloadable, _csv_or_header = t.downloadable, t.csv_or_header

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
