"""genevec's interactive explorer: a Shiny for Python app over one or more vector files, or a tissue collection.

Tabs: *Neighbours* (every other gene by cosine, with its full name and support, filter, CSV download,
and the gene sets over-represented among the nearest genes), *Analogy* ("A is to B as ? is to C",
gensim or the original app's semantics; every answer, paged, filtered, downloadable), *Map* (t-SNE map
coloured by k-means cluster, a gene set or the similarity to a gene, with a legend: hover names a
gene, the search box and a click ring a gene and its neighbours), *Clusters* (each cluster's genes,
downloads), *Compare tissues* (a tissue collection only: a gene's nearest genes in each chosen
tissue side by side, naming the tissues that lack it and why, and the genes whose neighbours change
most between two tissues beyond split-half noise; both downloadable) and *About* (where each model
came from, what to expect of it, its quality report and training parameters; for a collection, every
tissue's samples, stability and quality, then the chosen tissue). Queries are answered by
:class:`genevec.GeneVectors` and :class:`genevec.TissueModels`.

A tissue collection (the folder written by :func:`genevec.fit_tissues` or ``genevec train --tissue
all``) is served as one model per tissue: the sidebar's tissue selector switches the tissue the
Neighbours, Analogy, Map, Clusters and About tabs show, as the model selector does for vector files.

Genes never change behind the user's back: pickers list genes in natural order, typing replaces the
chosen gene, Enter picks only a gene typed in full (or reached with the arrow keys), and a model
switch keeps every chosen gene; a gene the new model lacks keeps its name and the tab says why.
A tab with no gene shows a message, and a download stays disabled until there is a result.

Big tables (a gene's neighbours, a cluster's genes) send their first 200 rows to the browser, with
a "Show 200 more" button; the filter box searches every gene on the server and the CSV download
holds every row. Gene pickers are filled when their tab is first shown and searched on the server
in one index per model shared by every session, so an idle session costs little memory.

Needs the app extra: ``pip install "genevec[app]"``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import shiny

    from ..collection import TissueModels

log = logging.getLogger(__name__)

__all__ = ["create_app", "run_app"]


def _require_shiny() -> None:
    try:
        import shiny  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "The genevec app needs Shiny for Python, which is not installed. "
            'Install the app extra: pip install "genevec[app]"'
        ) from exc


def create_app(paths: Sequence[str | os.PathLike] | str | os.PathLike | TissueModels,
               gene_sets: Sequence[Any] = ("go_bp", "reactome")) -> shiny.App:
    """Build the Shiny app serving the given vector files or tissue collection.

    Parameters
    ----------
    paths : path, list of paths or TissueModels
        word2vec text files written by :meth:`genevec.GeneVectors.save` (each with its optional
        ``.json`` sidecar); several files give a model selector. Or one tissue collection: its folder
        (holding ``manifest.json``, read by :func:`genevec.load_tissues`) or a
        :class:`genevec.TissueModels`; its tissues are the models, and a Compare tissues tab is added.
        Everything is loaded now, once per process, so a bad file fails here rather than in a browser
        session.
    gene_sets : sequence, default=("go_bp", "reactome")
        The gene-set collections the Neighbours tab tests for enrichment and the Map can colour by:
        shipped names, GMT files or dicts (:func:`genevec.load_gene_sets`), loaded now.

    Returns
    -------
    shiny.App
        Serve it with :func:`run_app`, ``uvicorn`` or any ASGI server.

    Raises
    ------
    ImportError
        When shiny is not installed (the message gives the pip command).
    FileNotFoundError, genevec.exceptions.FileFormatError
        For a missing or malformed vectors file, or a collection folder that is missing, has no
        ``manifest.json`` or holds a changed file (the message names the problem and the fix).
    ValueError
        A collection folder given together with other paths.

    Notes
    -----
    The map of a model is computed on first use of the Map or Clusters tab (k-means and t-SNE:
    2-3 minutes for 25,321 genes on 2 cores, see :func:`genevec.maps.gene_map`) and cached in
    ``<vectors>.map.tsv`` beside the vectors (for a collection, beside each tissue's file; for a
    :class:`genevec.TissueModels` never saved, in memory); later sessions and restarts read it back.

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> from genevec import GeneVectors
    >>> from genevec.app import create_app
    >>> path = os.path.join(tempfile.mkdtemp(), "vectors.txt")
    >>> GeneVectors(np.eye(3), ["KRAS", "NRAS", "TP53"]).save(path)
    >>> type(create_app([path])).__name__
    'App'
    """
    _require_shiny()
    from ._data import load_served
    from ._shiny import build_app

    models, collection = load_served(paths)
    return build_app(models, gene_sets, collection=collection)


def run_app(
    paths: Sequence[str | os.PathLike] | str | os.PathLike | TissueModels,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    launch_browser: bool = False,
    gene_sets: Sequence[Any] = ("go_bp", "reactome"),
) -> None:
    """Serve :func:`create_app` on ``http://host:port`` until interrupted (Ctrl-C).

    Parameters
    ----------
    paths : path, list of paths or TissueModels
        Vector files or a tissue collection, as for :func:`create_app`.
    host : str, default="127.0.0.1"
        Interface to listen on; ``"0.0.0.0"`` exposes the app to the network.
    port : int, default=8000
    launch_browser : bool, default=False
        Open the app in the default web browser once it is up.
    gene_sets : sequence, default=("go_bp", "reactome")
        Gene-set collections, as for :func:`create_app`.

    Examples
    --------
    >>> import inspect
    >>> from genevec.app import run_app
    >>> list(inspect.signature(run_app).parameters)  # run_(["vectors.txt"]) blocks while serving
    ['paths', 'host', 'port', 'launch_browser', 'gene_sets']
    """
    import numbers

    if isinstance(port, bool) or not isinstance(port, numbers.Integral) or not 0 < port < 65536:
        raise ValueError(f"run_app: port must be an int in 1..65535, got {port!r}. Try port=8000.")
    app = create_app(paths, gene_sets)
    import shiny

    log.info("serving genevec app on http://%s:%d", host, port)
    shiny.run_app(app, host=host, port=int(port), launch_browser=launch_browser, dev_mode=False,
                  log_level="warning")
