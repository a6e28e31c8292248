// genevec explorer: gene pickers that never change a gene behind the user's back, clicks on the map,
// and the server's "enable this download / show this button" messages.
(function () {
  "use strict";

  // ------------------------------------------------------------------ gene pickers (single selectize)
  // * Typing over a chosen gene replaces it: the first key puts the gene aside (silently: the server keeps
  //   it) and starts a search; leaving the box (Escape, a click elsewhere) without a choice brings it back.
  // * Enter chooses only a gene whose full symbol was typed (any case), or an option reached with the
  //   arrow keys; Enter on a partial name chooses nothing and says so under the box.
  function pickerOf(input) {
    var control = input.closest && input.closest(".selectize-control");
    var select = control && control.previousElementSibling;
    var sel = select && select.selectize;
    return sel && sel.settings.maxItems === 1 ? sel : null;
  }

  function hint(sel, text) {
    var control = sel.$wrapper[0];
    var note = control.parentNode.querySelector(".picker-hint");
    if (!note) {
      note = document.createElement("div");
      note.className = "picker-hint form-text text-danger";
      control.parentNode.appendChild(note);
    }
    note.textContent = text;
  }

  function exactOption(sel, typed) {
    if (Object.prototype.hasOwnProperty.call(sel.options, typed)) { return typed; }
    var want = typed.toLowerCase();
    var keys = Object.keys(sel.options);
    for (var i = 0; i < keys.length; i++) {
      var label = String(sel.options[keys[i]].label || "");
      if (keys[i].toLowerCase() === want || label.toLowerCase() === want) { return keys[i]; }
    }
    return null;
  }

  function choose(sel, value) {
    sel.__gvPrevious = null;
    sel.__gvNavigated = false;
    hint(sel, "");
    sel.setValue(value);            // not silent: Shiny hears the change
    sel.close();
    sel.blur();
  }

  function restore(sel) {
    var prev = sel.__gvPrevious;
    sel.__gvPrevious = null;
    if (prev && !sel.items.length) {
      if (!sel.options[prev]) { sel.addOption({value: prev, label: prev, rank: -1}); }
      sel.setValue(prev, true);     // silent: the server never lost it
    }
  }

  function hook(sel) {
    if (sel.__gvHooked) { return; }
    sel.__gvHooked = true;
    sel.on("blur", function () { restore(sel); sel.__gvNavigated = false; });
    sel.on("load", function () {
      var typed = sel.__gvPendingEnter;
      if (!typed) { return; }
      sel.__gvPendingEnter = null;
      var exact = exactOption(sel, typed);
      if (exact !== null) { choose(sel, exact); } else { hint(sel, notFound(sel, typed)); }
    });
  }

  function notFound(sel, typed) {
    var what = sel.$input.attr("id") === "map_set" ? "gene set" : "gene";
    return "No " + what + " is called " + typed + ": type its full name, or pick it with the arrow keys and Enter.";
  }

  document.addEventListener("keydown", function (ev) {
    var input = ev.target;
    if (!input || input.tagName !== "INPUT") { return; }
    var sel = pickerOf(input);
    if (!sel) { return; }
    hook(sel);
    var key = ev.key;
    if (key === "ArrowDown" || key === "ArrowUp") { sel.__gvNavigated = true; return; }
    if (key === "Escape") { sel.setTextboxValue(""); sel.close(); restore(sel); return; }
    if (key === "Enter") {
      var typed = input.value.trim();
      if (sel.__gvNavigated && sel.$activeOption && sel.$activeOption.length) {
        sel.__gvPrevious = null;
        hint(sel, "");
        return;                     // an option chosen with the arrow keys: selectize adds it
      }
      ev.preventDefault();
      ev.stopImmediatePropagation();
      if (!typed) { return; }
      var exact = exactOption(sel, typed);
      if (exact !== null) { choose(sel, exact); }
      else if (sel.loading) { sel.__gvPendingEnter = typed; }
      else { hint(sel, notFound(sel, typed)); }
      return;
    }
    if (key.length === 1 && !ev.ctrlKey && !ev.metaKey && !ev.altKey) { putAside(sel); }
  }, true);

  // Pasting a name replaces the chosen gene too.
  document.addEventListener("paste", function (ev) {
    var sel = ev.target && ev.target.tagName === "INPUT" ? pickerOf(ev.target) : null;
    if (sel) { hook(sel); putAside(sel); }
  }, true);

  function putAside(sel) {
    hint(sel, "");
    sel.__gvNavigated = false;
    if (sel.items.length) {
      sel.__gvPrevious = sel.items[0];
      sel.clear(true);              // silent: the server keeps the gene until another is chosen
    }
  }

  // ------------------------------------------------------------------ the map: a click picks the gene
  // One listener for every circle of the (re-rendered) map; the name is read from data-g (the browser
  // unescapes it) and sent as plain data, never as HTML.
  document.addEventListener("click", function (ev) {
    var t = ev.target;
    if (!t || !t.closest) { return; }
    var c = t.closest("#genemap-base circle[data-g]");
    if (c && window.Shiny) { Shiny.setInputValue("map_click", c.getAttribute("data-g"), {priority: "event"}); }
  });

  // ------------------------------------------------------------------ server messages
  // {id: {enabled: bool}} for download links, {id: {shown: bool}} for anything else.
  function toggle(states) {
    Object.keys(states).forEach(function (id) {
      var el = document.getElementById(id);
      var st = states[id];
      if (!el) { return; }
      if (Object.prototype.hasOwnProperty.call(st, "enabled")) {
        el.classList.toggle("disabled", !st.enabled);
        if (st.enabled) { el.removeAttribute("aria-disabled"); el.removeAttribute("tabindex"); }
        else { el.setAttribute("aria-disabled", "true"); el.setAttribute("tabindex", "-1"); }
      }
      if (Object.prototype.hasOwnProperty.call(st, "shown")) { el.classList.toggle("d-none", !st.shown); }
    });
  }

  // {id, reload: true}: the picker now searches another model; forget the old options, keep the gene.
  // {id, value}: choose this gene (a click on the map), as if the user had picked it.
  function picker(msg) {
    var el = document.getElementById(msg.id);
    var sel = el && el.selectize;
    if (!sel) { return; }
    if (msg.reload) {
      // selectize's clearOptions() without its final clear(): the chosen gene stays in the box untouched
      var keep = {};
      sel.items.forEach(function (v) { if (sel.options[v]) { keep[v] = sel.options[v]; } });
      sel.loadedSearches = {};
      sel.userOptions = {};
      sel.renderCache = {};
      sel.options = sel.sifter.items = keep;
      sel.lastQuery = null;
      sel.trigger("option_clear");
      sel.load(function (cb) { sel.settings.load.apply(sel, ["", cb]); });
    }
    if (typeof msg.value === "string") {
      if (!sel.options[msg.value]) { sel.addOption({value: msg.value, label: msg.value, rank: -1}); }
      sel.setValue(msg.value);              // not silent: the server hears it as a pick
    }
  }

  function register() {
    if (window.Shiny && Shiny.addCustomMessageHandler) {
      Shiny.addCustomMessageHandler("genevec-toggle", toggle);
      Shiny.addCustomMessageHandler("genevec-picker", picker);
      return true;
    }
    return false;
  }
  if (!register()) { document.addEventListener("DOMContentLoaded", register); }
})();
