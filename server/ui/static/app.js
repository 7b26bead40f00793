// rise dashboard: progressive enhancement only; every page works without it.
// Live updates come from the project event stream (server-sent events).
(function () {
  "use strict";
  var $ = function (sel, root) { return (root || document).querySelector(sel); };
  var $$ = function (sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); };

  function announce(text) {
    var live = $("#live");
    if (live) { live.textContent = text; }
  }

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  function stateBadge(state) {
    return el("span", { "class": "state", "data-state": state }, state);
  }

  function fmtTime(iso) {
    var d = new Date(iso);
    return isNaN(d) ? iso : d.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
  }

  // Projects filter: the same fields as the server-side filter, applied as you type.
  function setupFilter() {
    var inputs = $$("[data-filter]");
    if (!inputs.length) { return; }
    var table = $(inputs[0].getAttribute("data-filter"));
    var count = $("#projects-count");
    if (!table) { return; }
    var form = inputs[0].form;
    var total = count ? count.textContent.replace(/^\d+ of /, "") : "";
    function apply() {
      var q = form.elements.q.value.trim().toLowerCase();
      var vis = form.elements.visibility.value;
      var status = form.elements.status.value;
      var owner = form.elements.owner.value.trim();
      var shown = 0;
      $$("tbody tr", table).forEach(function (tr) {
        var o = tr.getAttribute("data-owner");
        var ok = (!q || tr.getAttribute("data-name").indexOf(q) >= 0) &&
          (!vis || tr.getAttribute("data-visibility") === vis) &&
          (!status || tr.getAttribute("data-status") === status) &&
          (!owner || o === owner || o.replace(/^(user|team):/, "") === owner);
        tr.hidden = !ok;
        if (ok) { shown++; }
      });
      if (count) { count.textContent = shown + " of " + total; }
    }
    inputs.forEach(function (i) { i.addEventListener("input", apply); i.addEventListener("change", apply); });
  }

  // Typed-name confirmation: the button is enabled once the name matches
  // (the server checks it again).
  function setupConfirm() {
    $$("input[data-confirm]").forEach(function (input) {
      var button = $("[data-confirm-button]", input.form);
      if (!button) { return; }
      var check = function () { button.disabled = input.value !== input.getAttribute("data-confirm"); };
      input.addEventListener("input", check);
      check();
    });
  }

  // Logs: search filters the lines as you type; follow keeps the newest in view.
  var logs = $("#logs");
  var search = $("#log-search");
  var follow = $("#log-follow");
  function logMatches(li) {
    var q = search ? search.value.toLowerCase() : "";
    return !q || li.textContent.toLowerCase().indexOf(q) >= 0;
  }
  function setupLogs() {
    if (!logs) { return; }
    $$(".js-only").forEach(function (e) { e.hidden = false; });
    if (search) {
      search.addEventListener("input", function () {
        $$("li", logs).forEach(function (li) { li.hidden = !logMatches(li); });
      });
    }
    if (follow && follow.checked) { logs.scrollTop = logs.scrollHeight; }
  }
  var maxLines = 5000;
  function addLog(ev) {
    if (!logs) { return; }
    var note = $("#logs-note");
    if (note) { note.remove(); }
    var li = el("li", { "data-stream": ev.stream });
    var t = el("time", { datetime: ev.time }, (ev.time || "").slice(11, 23));
    li.appendChild(t);
    li.appendChild(document.createTextNode(" "));
    li.appendChild(el("span", {}, ev.text));
    li.hidden = !logMatches(li);
    logs.appendChild(li);
    while (logs.children.length > maxLines) { logs.removeChild(logs.firstChild); }
    if (follow && follow.checked) { logs.scrollTop = logs.scrollHeight; }
  }

  // State changes: every badge of the deployment, the deployments table
  // (a new deployment gets a row) and the deployment page's timeline.
  function onState(ev) {
    $$("[data-deployment]").forEach(function (scope) {
      if (scope.getAttribute("data-deployment") !== ev.deployment) { return; }
      var badge = scope.classList.contains("state") ? scope : $(".state", scope);
      if (badge) { badge.setAttribute("data-state", ev.state); badge.textContent = ev.state; }
      var msg = $(".message", scope);
      if (msg && scope.tagName === "DL") { msg.textContent = ev.message || ""; }
    });
    var table = $("#deployments");
    if (table && !$('tr[data-deployment="' + CSS.escape(ev.deployment) + '"]', table)) {
      var project = table.getAttribute("data-project");
      var tr = el("tr", { "data-deployment": ev.deployment });
      var th = el("th", { scope: "row" });
      th.appendChild(el("a", { href: "/projects/" + encodeURIComponent(project) + "/deployments/" + encodeURIComponent(ev.deployment) }, ev.deployment));
      tr.appendChild(th);
      var td = el("td");
      td.appendChild(stateBadge(ev.state));
      tr.appendChild(td);
      tr.appendChild(el("td", {}, ev.group));
      tr.appendChild(el("td"));
      var when = el("td");
      when.appendChild(el("time", { datetime: ev.time }, fmtTime(ev.time)));
      tr.appendChild(when);
      tr.appendChild(el("td"));
      $("tbody", table).insertBefore(tr, $("tbody", table).firstChild);
      var none = $("#no-deployments");
      if (none) { none.remove(); }
    }
    var facts = $("dl.facts[data-deployment]");
    var timeline = $("#timeline");
    if (timeline && facts && facts.getAttribute("data-deployment") === ev.deployment &&
        !$('li[data-seq="' + ev.seq + '"]', timeline)) {
      var li = el("li", { "data-seq": String(ev.seq) });
      li.appendChild(el("time", { datetime: ev.time }, fmtTime(ev.time)));
      li.appendChild(document.createTextNode(" "));
      li.appendChild(stateBadge(ev.state));
      if (ev.message) {
        li.appendChild(document.createTextNode(" "));
        li.appendChild(el("span", { "class": "message" }, ev.message));
      }
      timeline.appendChild(li);
    }
    announce("Deployment " + ev.deployment + " is " + ev.state + (ev.message ? ": " + ev.message : ""));
  }

  function setupEvents() {
    var main = $("main[data-events]");
    if (!main || !window.EventSource) { return; }
    var es = new EventSource(main.getAttribute("data-events"));
    es.addEventListener("state", function (e) { onState(JSON.parse(e.data)); });
    es.addEventListener("log", function (e) { addLog(JSON.parse(e.data)); });
    window.addEventListener("pagehide", function () { es.close(); });
  }

  function start() {
    setupFilter();
    setupConfirm();
    setupLogs();
    setupEvents();
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
