"""The app's page, without a server: tabs, their inputs and outputs, the style sheet, the About tab's tables.

:func:`build_ui` lays out what :func:`genevec.app._shiny.build_app`'s server fills; the ids of
inputs and outputs here are the ones the server reads and renders.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shiny import ui

from . import _compare as c
from . import _data as d
from . import _svg as sv

_CSS = """
.map-row { display: flex; gap: 1rem; align-items: flex-start; }
.genemap-wrap { position: relative; flex: 0 1 auto; width: min(100% - 220px, calc((100vh - 200px) * 1000 / 760));
                min-width: 320px; }
.genemap-wrap svg { width: 100%; height: auto; display: block; }
#genemap-overlay { position: absolute; top: 0; left: 0; width: 100%; height: auto; pointer-events: none; }
#genemap-base { border: 1px solid #ddd; border-radius: 4px; background: #fff; }
#genemap-base circle { cursor: pointer; }
#genemap-base circle:hover { stroke: #000; stroke-width: 1.5; }
.map-side { flex: 1 1 220px; min-width: 200px; max-width: 340px; max-height: calc(100vh - 200px);
            overflow-y: auto; }
.map-side .alert { font-size: .85rem; }
.map-legend { font-size: .85rem; }
.legend-title { font-weight: 600; margin-bottom: .25rem; }
.legend-item { display: flex; align-items: center; gap: .4rem; line-height: 1.35; }
.legend-swatch { width: .8rem; height: .8rem; border-radius: 50%; display: inline-block; flex: none; }
.legend-gradient { height: .8rem; width: 180px; border-radius: 3px; }
.legend-ends { display: flex; justify-content: space-between; width: 180px; }
.analogy-line { display: flex; align-items: center; gap: .75rem; flex-wrap: wrap; }
.analogy-line .form-group { margin-bottom: 0; }
.analogy-word { font-size: 1.15rem; padding-top: 1.4rem; }
.about-table td, .about-table th { padding: .15rem .6rem; vertical-align: top; }
.rows-line { display: flex; align-items: center; gap: .75rem; flex-wrap: wrap; margin-bottom: .5rem; }
.rows-line p { margin-bottom: 0; }
.picker-hint:empty { display: none; }
.bslib-sidebar-layout > .sidebar small { overflow-wrap: anywhere; }
.compare-line { display: flex; gap: 1rem; align-items: flex-end; flex-wrap: wrap; }
.compare-line .form-group { margin-bottom: 0; }
"""

# The gene pickers of each tab, filled when the tab is first shown (Neighbours at once: it is the
# landing tab). Clusters and About have none; Compare (a tissue collection only) lists every tissue's genes.
PICKERS = {"neighbours": ("gene",), "analogy": ("an_a", "an_b", "an_c"), "map": ("map_gene",),
           "compare": ("cmp_gene",)}

# A picker lists the genes that start with the first typed word, then the others that contain every
# word, each in natural order (the server's "rank"); the browser keeps that order as it filters.
_SCORE = ui.js_eval("""function (search) {
  var words = String(search || '').toLowerCase().split(/\\s+/).filter(Boolean);
  return function (item) {
    var label = String(item.label || item.value || '').toLowerCase();
    for (var i = 0; i < words.length; i++) { if (label.indexOf(words[i]) < 0) { return 0; } }
    return words.length && label.indexOf(words[0]) === 0 ? 2 : 1;
  };
}""")
_PICKER = {"placeholder": "type a gene symbol", "score": _SCORE,
           "sortField": [{"field": "$score", "direction": "desc"}, {"field": "rank", "direction": "asc"}]}
_JS = Path(__file__).parent / "www" / "genevec.js"

def _picker(iid: str, label: str, **kw: Any) -> ui.Tag:
    return ui.input_selectize(iid, label, choices=[], options=dict(_PICKER), **kw)


def _download(iid: str, label: str) -> ui.Tag:
    """A download link that stays disabled until the server says there is something to download."""
    return ui.download_button(iid, label, **{"data-shiny-disable-auto-enable": ""})


def _notice(iid: str) -> ui.Tag:
    return ui.output_ui(iid, class_="notice")


def build_ui(models: Sequence[d.Model], collections: Sequence[str], tissues: Sequence[str] | None = None) -> ui.Tag:
    """The page; ``tissues`` (a tissue collection's) relabel the model selector and add the Compare tab."""
    choices = {str(i): m.label for i, m in enumerate(models)}
    sets = {name: name for name in collections}
    selector = ui.input_select("model", "Model", choices=choices, selected="0")
    if tissues is not None:
        selector = ui.TagList(
            ui.input_select("model", "Tissue", choices=choices, selected="0"),
            ui.p("The tissue whose vectors the Neighbours, Analogy, Map, Clusters and About tabs show; "
                 "Compare tissues has its own choice.", class_="text-muted small"))
    sidebar = ui.sidebar(
        selector,
        ui.output_ui("model_info"),
        width=270,
    )
    neighbours = ui.nav_panel(
        "Neighbours",
        ui.layout_columns(
            _picker("gene", "Gene"),
            ui.input_text("nb_filter", "Filter the table", placeholder="part of a gene name, e.g. RAS"),
            ui.div(_download("nb_download", "Download CSV"), class_="pt-4"),
            col_widths=(4, 4, 4),
        ),
        _notice("nb_notice"),
        ui.div(ui.p(ui.output_text("nb_caption", inline=True), class_="text-muted"),
               ui.input_action_button("nb_more", f"Show {d.PAGE_ROWS} more", class_="btn-sm btn-outline-secondary d-none"),
               class_="rows-line"),
        ui.output_data_frame("nb_table"),
        ui.card(
            ui.card_header("Gene sets over-represented among the nearest genes"),
            ui.layout_columns(
                ui.input_select("en_sets", "Gene sets", choices=sets),
                ui.input_numeric("en_topn", "Nearest genes tested", 50, min=5, max=500, step=5),
                ui.div(_download("en_download", "Download enrichment (CSV)"), class_="pt-4"),
                col_widths=(4, 3, 5),
            ),
            ui.p(ui.output_text("en_summary", inline=True), class_="enrich-summary"),
            ui.p("Hypergeometric test of each set against the model's other genes that are in some set, "
                 "Benjamini-Hochberg q over every set tested. Sets with q <= 0.05 are listed; if none is, "
                 "the smallest p values, marked as not significant.", class_="text-muted small"),
            ui.output_data_frame("en_table"),
            class_="mt-3",
        ),
        value="neighbours",
    )
    analogy = ui.nav_panel(
        "Analogy",
        ui.div(
            _picker("an_a", "A", width="210px"),
            ui.span("is to", class_="analogy-word"),
            _picker("an_b", "B", width="210px"),
            ui.span("as ? is to", class_="analogy-word"),
            _picker("an_c", "C", width="210px"),
            class_="analogy-line",
        ),
        ui.layout_columns(
            ui.input_switch("an_original", d.ANALOGY_MODES["original"].capitalize(), False, width="100%"),
            ui.input_text("an_filter", "Filter the answers", placeholder="part of a gene name"),
            ui.div(_download("an_download", "Download CSV"), class_="pt-4"),
            col_widths=(4, 4, 4), class_="mt-3",
        ),
        _notice("an_notice"),
        ui.div(ui.p(ui.output_text("an_caption", inline=True), class_="text-muted"),
               ui.input_action_button("an_more", f"Show {d.PAGE_ROWS} more", class_="btn-sm btn-outline-secondary d-none"),
               class_="rows-line"),
        ui.output_data_frame("an_table"),
        value="analogy",
    )
    gene_map = ui.nav_panel(
        "Map",
        ui.layout_columns(
            _picker("map_gene", "Find a gene on the map"),
            ui.input_numeric("map_topn", "Neighbours to ring", 10, min=0, max=sv.MAX_RING),
            ui.input_select("map_colour", "Colour by", choices=sv.COLOUR_MODES),
            ui.panel_conditional("input.map_colour === 'set'",
                                 ui.input_select("map_sets", "Collection", choices=sets)),
            ui.panel_conditional("input.map_colour === 'set'",
                                 ui.input_selectize("map_set", "Gene set", choices=[],
                                                    options={"placeholder": "type part of a set's name"})),
            col_widths=(3, 2, 2, 2, 3),
        ),
        ui.div(ui.div(ui.output_ui("map_base"), ui.output_ui("map_overlay"), class_="genemap-wrap"),
               ui.div(_notice("map_notice"),
                      ui.p(ui.output_text("map_status", inline=True), " ",
                           ui.output_text("map_ring_caption", inline=True), class_="text-muted small"),
                      ui.output_ui("map_legend"), class_="map-side"),
               class_="map-row"),
        ui.h5(ui.output_text("map_click_caption", inline=True), class_="mt-3"),
        ui.output_data_frame("map_click_table"),
        value="map",
    )
    clusters = ui.nav_panel(
        "Clusters",
        ui.layout_columns(
            ui.output_ui("cl_select"),
            ui.div(_download("cl_download", "Download this cluster (CSV)"),
                   _download("cl_download_all", "Download all clusters (TSV)"), class_="pt-4"),
            col_widths=(4, 8),
        ),
        ui.div(ui.p(ui.output_text("cl_caption", inline=True), class_="text-muted"),
               ui.input_action_button("cl_more", f"Show {d.PAGE_ROWS} more", class_="btn-sm btn-outline-secondary d-none"),
               class_="rows-line"),
        ui.output_data_frame("cl_table"),
        ui.h5("All clusters", class_="mt-4"),
        ui.output_data_frame("cl_summary"),
        value="clusters",
    )
    about = ui.nav_panel("About", ui.output_ui("about"), value="about")
    panels = [neighbours, analogy, gene_map, clusters]
    if tissues is not None:
        panels.append(_compare_panel(list(tissues)))
    return ui.page_navbar(
        *panels, about,
        title="genevec explorer", id="nav", sidebar=sidebar, window_title="genevec explorer",
        header=ui.head_content(ui.tags.style(_CSS), ui.include_js(_JS)),
    )


def _compare_panel(tissues: list[str]) -> ui.Tag:
    """The Compare tissues tab: a gene's neighbours side by side across tissues, and the most-shifted genes."""
    pair = {t: t for t in tissues}
    return ui.nav_panel(
        "Compare tissues",
        ui.layout_columns(
            _picker("cmp_gene", "Gene"),
            ui.input_selectize("cmp_tissues", "Tissues", choices=pair, selected=tissues, multiple=True,
                               options={"plugins": ["remove_button"], "placeholder": "choose tissues"}),
            ui.input_numeric("cmp_topn", "Neighbours per tissue", 10, min=1, max=c.MAX_TOPN),
            ui.div(_download("cmp_download", "Download CSV"), class_="pt-4"),
            col_widths=(3, 5, 2, 2),
        ),
        _notice("cmp_notice"),
        ui.p(ui.output_text("cmp_caption", inline=True), class_="text-muted"),
        ui.output_data_frame("cmp_table"),
        ui.card(
            ui.card_header("Genes whose neighbours change most between two tissues"),
            ui.div(
                ui.input_select("sh_a", "Tissue A", choices=pair, selected=tissues[0], width="260px"),
                ui.input_select("sh_b", "Tissue B", choices=pair, selected=tissues[min(1, len(tissues) - 1)],
                                width="260px"),
                ui.input_numeric("sh_top", "Genes to list", 50, min=1, max=c.MAX_SHIFTS, width="140px"),
                ui.div(_download("sh_download", "Download shifts (CSV)")),
                class_="compare-line",
            ),
            _notice("sh_notice"),
            ui.p(ui.output_text("sh_caption", inline=True), class_="text-muted mt-2"),
            ui.p(ui.output_text("sh_help", inline=True), class_="text-muted small"),
            ui.output_data_frame("sh_table"),
            class_="mt-3",
        ),
        value="compare",
    )

def about_block(info: dict[str, Any]) -> list[ui.Tag]:
    """The About tab's section on one model (:func:`genevec.app._about.about`)."""
    blocks = [ui.h5(info["label"] if info["kind"] == "model" else f"Tissue: {info['label']}", class_="mt-3")]
    head = [("File", info["file"]), ("Genes", f"{info['genes']:,}"), ("Dimension", str(info["dim"])),
            ("Storage", info["dtype"])]
    blocks.append(kv_table(head + info["tissue"] + info["provenance"], "about-table provenance-table"))
    if info["guidance"]:
        blocks.append(ui.h6("What to expect", class_="mt-2"))
        blocks.append(ui.tags.ul(*[ui.tags.li(line) for line in info["guidance"]], class_="guidance"))
    quality = info["quality"]
    if quality is None:
        blocks.append(ui.p("No quality report stored with these vectors: run "
                           "`genevec evaluate VECTORS --counts COUNTS`, or train with `genevec train`.",
                           class_="text-muted"))
    else:
        blocks.append(ui.h6("How good are the neighbours?", class_="mt-2"))
        blocks.extend(ui.p(line, class_="quality-verdict") for line in quality["verdicts"])
        cols = list(quality["rows"][0])
        blocks.append(ui.tags.table(
            ui.tags.tr(*[ui.tags.th(h) for h in cols]),
            *[ui.tags.tr(*[ui.tags.td(str(r[h])) for h in cols]) for r in quality["rows"]],
            class_="about-table quality-table table table-sm w-auto"))
    if info["support"]:
        blocks.append(ui.p(f"Neighbour support (the Support column): {info['support']}.", class_="text-muted"))
    if info["parameters"]:
        blocks.append(ui.tags.details(ui.tags.summary("Training parameters"),
                                      kv_table(info["parameters"], "about-table parameter-table")))
    return blocks

def kv_table(rows: Sequence[tuple[str, str]], class_: str) -> ui.Tag:
    return ui.tags.table(*[ui.tags.tr(ui.tags.th(k), ui.tags.td(v)) for k, v in rows],
                         class_=f"{class_} table table-sm w-auto")
