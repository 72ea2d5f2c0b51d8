"use strict";
/* Run report: task table filters, attempt lists and the per-trial drill-down.
   All content is inserted as text nodes (ob.h), so trial data never becomes markup. */
(function () {
  var h = ob.h, icon = ob.icon;
  var T = ob.readJSON("trials-data");
  var C = {};
  T.columns.forEach(function (c, i) { C[c] = i; });
  var byTask = {}, byName = {};
  T.rows.forEach(function (r, i) {
    (byTask[r[C.task]] = byTask[r[C.task]] || []).push(i);
    byName[r[C.name]] = i;
  });
  var detailCache = null;
  function details() {
    if (!detailCache) detailCache = ob.readJSON("details-data");
    return detailCache;
  }
  function status(r) { return !r[C.scored] ? "excluded" : r[C.passed] ? "pass" : "fail"; }
  function statusIcon(st) { return st === "pass" ? "pass" : st === "fail" ? "fail" : "excl"; }
  function words(s) { return String(s).replace(/_/g, " "); }

  /* ---------- task table ---------- */
  var table = document.getElementById("task-table");
  var taskRows = Array.prototype.slice.call(table.tBodies[0].rows);
  ob.sortable(table);

  function chip(i) {
    var r = T.rows[i], st = status(r);
    var rw = r[C.reward] == null ? "–" : r[C.reward].toFixed(2);
    return h("button", { type: "button", class: "chip " + st, "data-trial": r[C.name],
                         onclick: function (e) { e.stopPropagation(); openTrial(r[C.name]); } },
      icon(statusIcon(st)), h("span", { text: "attempt " + r[C.attempt] }),
      h("span", { text: st === "excluded" ? words(r[C.outcome]) : st }),
      h("span", { class: "meta2", text: "reward " + rw + " · " + ob.duration(r[C.seconds]) }));
  }
  function toggle(tr, open) {
    if (open === undefined) open = tr.getAttribute("aria-expanded") !== "true";
    if (tr._attempts) { tr._attempts.remove(); tr._attempts = null; }
    tr.setAttribute("aria-expanded", open ? "true" : "false");
    if (!open) return;
    var ids = (byTask[tr.getAttribute("data-task")] || []).slice();
    ids.sort(function (a, b) { return T.rows[a][C.attempt] - T.rows[b][C.attempt]; });
    var row = h("tr", { class: "attempts" },
      h("td", { colspan: tr.cells.length }, h("div", { class: "chips" }, ids.map(chip))));
    tr.after(row);
    tr._attempts = row;
  }
  taskRows.forEach(function (tr) {
    tr.addEventListener("click", function () { toggle(tr); });
    tr.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); toggle(tr); }
    });
  });

  var fText = document.getElementById("f-text"), fCat = document.getElementById("f-cat"),
      fDiff = document.getElementById("f-diff"), fStatus = document.getElementById("f-status"),
      shownEl = document.getElementById("f-shown");
  function applyFilters() {
    var text = fText.value.trim().toLowerCase(), cat = fCat.value, diff = fDiff.value, st = fStatus.value;
    var shown = 0;
    taskRows.forEach(function (tr) {
      var ok = (!text || (tr.getAttribute("data-task") + " " + tr.getAttribute("data-cat")).toLowerCase().indexOf(text) >= 0)
        && (!cat || tr.getAttribute("data-cat") === cat)
        && (!diff || tr.getAttribute("data-diff") === diff)
        && (!st || (st === "violations" ? tr.getAttribute("data-violations") !== "0"
                    : st === "excluded" ? tr.getAttribute("data-excluded") !== "0"
                    : tr.getAttribute("data-status") === st));
      tr.hidden = !ok;
      if (tr._attempts) tr._attempts.hidden = !ok;
      if (ok) shown++;
    });
    shownEl.textContent = shown + " of " + taskRows.length + " tasks shown";
  }
  [fText, fCat, fDiff, fStatus].forEach(function (el) { el.addEventListener("input", applyFilters); });
  applyFilters();

  /* ---------- drill-down ---------- */
  var dialog = document.getElementById("drill"), body = document.getElementById("drill-body");
  document.getElementById("drill-close").addEventListener("click", function () { dialog.close(); });
  dialog.addEventListener("close", function () {
    if (location.hash.indexOf("#trial=") === 0) history.replaceState(null, "", location.pathname + location.search);
  });

  function badge(kind, ic, text) { return h("span", { class: "st st-" + kind }, icon(ic), text); }
  function gate(label, ok, scored) {
    if (!scored) return badge("none", "excl", label + ": not scored");
    return ok ? badge("pass", "pass", label + ": pass") : badge("fail", "fail", label + ": fail");
  }
  function verdictBadge(passed) {
    if (passed === true) return badge("pass", "pass", "pass");
    if (passed === false) return badge("fail", "fail", "fail");
    return badge("none", "excl", "n/a");
  }
  function rubricBadge(v) {
    if (v === "yes") return badge("pass", "pass", "yes");
    if (v === "no") return badge("fail", "fail", "no");
    return badge("none", "excl", v || "ungraded");
  }
  function pre(text, cls) { return text ? h("pre", { class: cls || null, text: text }) : null; }
  function fold(summary, content, open) {
    if (!content) return null;
    var d = h("details", null, h("summary", { text: summary }), content);
    if (open) d.open = true;
    return d;
  }
  function section(title, id) { return h("h3", { id: id, text: title }); }
  function kv(pairs) {
    return h("dl", { class: "kv" }, pairs.filter(function (p) { return p[1] != null && p[1] !== ""; })
      .map(function (p) { return h("div", null, h("dt", { text: p[0] }), h("dd", { text: p[1] })); }));
  }

  function header(r, d) {
    var st = status(r);
    var verdict = st === "excluded" ? badge("none", "excl", "excluded from scores")
      : st === "pass" ? badge("pass", "pass", "passed") : badge("fail", "fail", "failed");
    var tokens = (r[C.input_tokens] || 0).toLocaleString() + " in / " + (r[C.output_tokens] || 0).toLocaleString() + " out";
    return [
      h("div", { class: "badges" }, verdict, badge("none", "dot", "outcome: " + words(r[C.outcome])),
        gate("task gate", r[C.task_gate], r[C.scored] && r[C.outcome] === "graded"),
        gate("compliance", r[C.compliance], r[C.scored] && r[C.outcome] === "graded"),
        r[C.partial] ? badge("partial", "part", "partially graded") : null),
      kv([["task", r[C.task]], ["attempt", r[C.attempt]],
          ["reward", r[C.reward] == null ? "–" : r[C.reward].toFixed(3)],
          ["wall time", ob.duration(r[C.seconds])], ["cost", ob.money(r[C.cost])], ["tokens", tokens],
          ["model calls", d.usage ? d.usage.calls + (d.usage.retries ? " (" + d.usage.retries + " retries)" : "") : null],
          ["phases", (d.phases || []).map(function (p) {
            return p[0] + (p[1] == null ? "" : " " + ob.duration(p[1])) + (p[2] === false ? " (failed)" : "");
          }).join(" · ")]]),
    ];
  }
  function files(name, mask, list) {
    var links = list.map(function (rel, i) {
      return (mask >> i) & 1 ? h("a", { href: encodeURIComponent(name) + "/" + rel, text: rel }) : null;
    });
    return h("p", { class: "files" }, h("span", { class: "hint", text: "Files: " }), links);
  }
  function exceptionBlock(e) {
    if (!e) return null;
    return [section("Exception", "d-exception"),
      h("p", null, h("b", { class: "mono", text: e.type }), " in phase ", h("b", { text: e.phase })),
      pre(e.message, "exc"), fold("Traceback", pre(e.traceback), false)];
  }
  function gradingTable(kind, items) {
    if (!items || !items.length) return null;
    var head = kind === "rubric" ? ["Verdict", "Criterion", "Weight", "Judge explanation"]
      : kind === "checks" ? ["Verdict", "Check", "Weight", "Message and evidence"] : ["Verdict", "Rule", "Message and evidence"];
    var rows = items.map(function (it) {
      if (kind === "rubric") {
        return h("tr", { "data-kind": "rubric", "data-name": it.name },
          h("td", { class: "verdict-cell" }, rubricBadge(it.verdict)),
          h("td", null, h("b", { text: it.name }), h("div", { text: it.criterion }),
            it.fact ? fold("Canonical fact", pre(it.fact)) : null),
          h("td", { class: "r num", text: it.weight == null ? "" : it.weight }),
          h("td", null, h("div", { class: "msg", text: it.explanation })));
      }
      var cells = [h("td", { class: "verdict-cell" }, verdictBadge(it.passed)),
        h("td", null, h("b", { text: it.name }), h("div", { class: "hint", text: it.kind }))];
      if (kind === "checks") cells.push(h("td", { class: "r num", text: it.weight == null ? "" : it.weight }));
      cells.push(h("td", null, h("div", { class: "msg", text: it.message }), fold("Evidence", pre(it.evidence))));
      return h("tr", { "data-kind": kind, "data-name": it.name }, cells);
    });
    return h("table", { class: "data compact grading", "data-section": kind },
      h("thead", null, h("tr", null, head.map(function (t) { return h("th", { text: t }); }))), h("tbody", null, rows));
  }
  function gradingBlock(g) {
    var out = [section("Grading", "d-grading")];
    if (!g || !g.present) { out.push(h("p", { class: "hint", text: "No grading details: the verifier did not run for this trial." })); return out; }
    out.push(h("h4", { text: "Checks (task gate)" }), gradingTable("checks", g.checks) || h("p", { class: "hint", text: "none" }));
    out.push(h("h4", { text: "Compliance rules" }), gradingTable("compliance", g.compliance) || h("p", { class: "hint", text: "none" }));
    out.push(h("h4", { text: "Rubric (LLM judge)" }), gradingTable("rubric", g.rubric) || h("p", { class: "hint", text: "none" }));
    return out;
  }
  function commandsBlock(d) {
    var out = [section("Commands (audit record)", "d-commands")];
    if (!d.commands.length && !d.omitted_commands) { out.push(h("p", { class: "hint", text: "No commands recorded." })); return out; }
    var rows = d.commands.map(function (c) {
      var bad = c.exit !== 0;
      return h("tr", { "data-index": c.i },
        h("td", { class: "num", text: c.i }),
        h("td", { class: "num hint", text: (c.time || "").replace("T", " ").replace("Z", "") }),
        h("td", { class: bad ? "exit-bad num" : "exit-0 num", text: c.exit == null ? "–" : c.exit }),
        h("td", null, h("code", { text: c.cmd }), c.user ? h("span", { class: "hint", text: " as " + c.user }) : null,
          fold("stdout", pre(c.out)), fold("stderr", pre(c.err))));
    });
    out.push(h("table", { class: "data compact", id: "d-commands-table" },
      h("thead", null, h("tr", null, ["#", "time", "exit", "command"].map(function (t) { return h("th", { text: t }); }))),
      h("tbody", null, rows)));
    if (d.omitted_commands) out.push(h("p", { class: "note", text: d.omitted_commands + " more commands are in agent/commands.jsonl." }));
    return out;
  }
  function stepsBlock(d) {
    var out = [section("Trajectory", "d-trajectory")];
    if (!d.has_trajectory) { out.push(h("p", { class: "hint", text: "No trajectory was recorded." })); return out; }
    d.steps.forEach(function (s) {
      out.push(h("div", { class: "step", "data-step": s.id },
        h("div", { class: "step-head" }, h("span", { class: "src src-" + s.source, text: s.source }),
          h("span", { text: "step " + s.id }), h("span", { text: s.time })),
        s.reasoning ? fold("Reasoning", pre(s.reasoning)) : null,
        s.message ? h("div", { class: "msg", text: s.message }) : null,
        s.tools.map(function (t) { return h("div", { class: "tool" }, "→ ", h("b", { text: t.name }), pre(t.args)); }),
        s.results.map(function (text) { return text ? fold("Output (" + text.length.toLocaleString() + " chars)", pre(text), text.length < 600) : null; })));
    });
    if (d.omitted_steps) out.push(h("p", { class: "note", text: d.omitted_steps + " more steps are in agent/trajectory.json." }));
    return out;
  }

  function openTrial(name) {
    var i = byName[name];
    if (i == null) return false;
    var r = T.rows[i], all = details(), d = all.details[i];
    document.getElementById("drill-title").textContent = name;
    body.replaceChildren();
    var instruction = d.instruction == null ? null : all.instructions[d.instruction];
    [header(r, d), files(name, d.files, all.files),
     d.clipped ? h("p", { class: "note", text: "Long texts are clipped in this report; the trial's files hold them in full." }) : null,
     exceptionBlock(d.exception), gradingBlock(d.grading),
     d.final ? [section("Final answer", "d-final"), h("div", { class: "msg step", text: d.final })] : null,
     instruction ? [section("Instruction", "d-instruction"), fold("Show the instruction given to the agent", pre(instruction), false)] : null,
     commandsBlock(d), stepsBlock(d)].forEach(function (part) {
      (Array.isArray(part) ? part : [part]).forEach(function (p) {
        if (Array.isArray(p)) p.forEach(function (q) { if (q) body.appendChild(q); });
        else if (p) body.appendChild(p);
      });
    });
    if (!dialog.open) dialog.showModal();
    dialog.scrollTop = 0;
    var want = "#trial=" + encodeURIComponent(name);
    if (location.hash !== want) history.replaceState(null, "", want);
    return true;
  }
  window.openTrial = openTrial;

  function route() {
    var m = /^#(trial|task)=(.+)$/.exec(location.hash);
    if (!m) return;
    var value = decodeURIComponent(m[2]);
    if (m[1] === "trial") { openTrial(value); return; }
    fText.value = value;
    applyFilters();
    var tr = taskRows.filter(function (t) { return t.getAttribute("data-task") === value; })[0];
    if (tr) { toggle(tr, true); tr.scrollIntoView({ block: "center" }); }
  }
  window.addEventListener("hashchange", route);
  route();
})();
