"use strict";
/* Shared helpers: safe DOM building (text nodes only, never innerHTML) and sortable tables. */
var ob = (function () {
  function h(tag, attrs) {
    var el = document.createElement(tag);
    if (attrs) {
      for (var k in attrs) {
        if (!Object.prototype.hasOwnProperty.call(attrs, k) || attrs[k] == null) continue;
        if (k === "class") el.className = attrs[k];
        else if (k === "text") el.textContent = String(attrs[k]);
        else if (k.slice(0, 2) === "on") el.addEventListener(k.slice(2), attrs[k]);
        else el.setAttribute(k, String(attrs[k]));
      }
    }
    for (var i = 2; i < arguments.length; i++) append(el, arguments[i]);
    return el;
  }
  function append(el, child) {
    if (child == null || child === false) return;
    if (Array.isArray(child)) { child.forEach(function (c) { append(el, c); }); return; }
    el.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
  var SVGNS = "http://www.w3.org/2000/svg";
  function icon(name) {
    var svg = document.createElementNS(SVGNS, "svg");
    svg.setAttribute("class", "ic");
    svg.setAttribute("aria-hidden", "true");
    var use = document.createElementNS(SVGNS, "use");
    use.setAttribute("href", "#i-" + name);
    svg.appendChild(use);
    return svg;
  }
  function readJSON(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }
  function sortable(table) {
    var heads = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(heads, function (th, col) {
      if (!th.hasAttribute("data-sort")) return;
      th.tabIndex = 0;
      function go() {
        var asc = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(heads, function (o) { o.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var numeric = th.getAttribute("data-sort") === "num";
        var body = table.tBodies[0];
        var rows = Array.prototype.filter.call(body.rows, function (r) { return !r.classList.contains("attempts"); });
        Array.prototype.slice.call(body.querySelectorAll("tr.attempts")).forEach(function (r) { r.remove(); });
        rows.forEach(function (r) { if (r.hasAttribute("aria-expanded")) r.setAttribute("aria-expanded", "false"); r._attempts = null; });
        rows.sort(function (a, b) {
          var x = a.cells[col].getAttribute("data-v"), y = b.cells[col].getAttribute("data-v");
          var d = numeric ? (parseFloat(x) - parseFloat(y)) : String(x).localeCompare(String(y));
          return asc ? d : -d;
        });
        var frag = document.createDocumentFragment();
        rows.forEach(function (r) { frag.appendChild(r); });
        body.appendChild(frag);
      }
      th.addEventListener("click", go);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter") go(); });
    });
  }
  function pct(v) { return v == null ? "–" : (v * 100).toFixed(1) + "%"; }
  function money(v) {
    if (v == null) return "–";
    if (v === 0) return "$0";
    return "$" + (Math.abs(v) < 0.01 ? v.toFixed(4) : Math.abs(v) < 10 ? v.toFixed(3) : v.toFixed(2));
  }
  function duration(s) {
    if (s == null) return "–";
    if (s < 60) return s.toFixed(1) + "s";
    var m = Math.floor(Math.round(s) / 60), sec = Math.round(s) % 60;
    if (m < 60) return m + "m " + (sec < 10 ? "0" : "") + sec + "s";
    return Math.floor(m / 60) + "h " + (m % 60 < 10 ? "0" : "") + (m % 60) + "m";
  }
  return { h: h, icon: icon, readJSON: readJSON, sortable: sortable, pct: pct, money: money, duration: duration };
})();
