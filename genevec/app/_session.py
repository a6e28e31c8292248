"""What every tab's server code shares within one session: the chosen model, the gene pickers' values,
paging, downloads. :func:`genevec.app._shiny.build_app` makes one :class:`SessionTools` per session."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shiny import Inputs, Session


def text(value: object) -> str:
    """A text input's value, stripped; anything else a client can send (null, numbers, lists) reads as ''."""
    return value.strip() if isinstance(value, str) else ""


def model_index(value: object, n: int) -> int | None:
    """The model selector's value as an index into the models, or None when it names no model."""
    if value is None or value == "":
        return 0
    if isinstance(value, str) and value.isascii() and value.isdigit() and int(value) < n:
        return int(value)
    return None


@dataclass(frozen=True)
class SessionTools:
    """One session's inputs and the helpers its tabs share (each defined in :func:`genevec.app._shiny.build_app`).

    ``model()`` is the chosen model (a reactive calc); ``gene_of(iid)`` a picker's gene ('' if none);
    ``present(iid)`` that gene if the model has it (else the output shows nothing); ``picker_notice``
    what a tab shows instead of a blank page; ``paged(key, button)`` the rows a big table shows;
    ``show_more``, ``downloadable`` and ``csv_or_header`` keep a table's buttons and download right;
    ``result(calc)`` a calc's value or None; ``collections`` the gene-set collections by name.
    """

    input: Inputs
    session: Session
    collections: dict[str, Any]
    model: Callable[[], Any]
    gene_of: Callable[[str], str]
    present: Callable[[str], str]
    picker_notice: Callable[..., Any]
    paged: Callable[..., Any]
    result: Callable[..., Any]
    show_more: Callable[..., None]
    downloadable: Callable[..., None]
    csv_or_header: Callable[..., Any]
