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
  function diagText(r) {
    var out = r[C.coverage] == null ? "" : " · evidence " + (r[C.coverage] * 100).toFixed(0) + "%";
    if (r[C.distractors_followed] && r[C.distractors_followed].length) out += " · followed " + r[C.distractors_followed].join(", ");
    if (r[C.wrong_remediations]) out += " · " + r[C.wrong_remediations] + " harmful";
    if (r[C.invalid_actions]) out += " · " + r[C.invalid_actions] + " invalid";
    return out;
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
      h("span", { class: "meta2", text: "reward " + rw + " · " + ob.duration(r[C.seconds]) + diagText(r) }));
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
    var graded = r[C.scored] && r[C.outcome] === "graded";
    var tokens = (r[C.input_tokens] || 0).toLocaleString() + " in / " + (r[C.output_tokens] || 0).toLocaleString() + " out";
    var calls = d.calls ? d.calls[0] + (d.calls[1] ? " (" + d.calls[1] + " retries)" : "") : null;
    return [
      h("div", { class: "badges" }, verdict, badge("none", "dot", "outcome: " + words(r[C.outcome])),
        gate("task gate", r[C.task_gate], graded), gate("compliance", r[C.compliance], graded),
        r[C.partial] ? badge("partial", "part", "partially graded") : null),
      kv([["task", r[C.task]], ["attempt", r[C.attempt]],
          ["reward", r[C.reward] == null ? "–" : r[C.reward].toFixed(3)],
          ["wall time", ob.duration(r[C.seconds])], ["cost", ob.money(r[C.cost])], ["tokens", tokens],
          ["model calls", calls],
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
      h("p", null, h("b", { class: "mono", text: e[0] }), " in phase ", h("b", { text: e[1] })),
      pre(e[2], "exc"), fold("Traceback", pre(e[3]), false)];
  }
  function dataTable(cls, heads, rows) {
    return h("table", { class: "data compact " + cls },
      h("thead", null, h("tr", null, heads.map(function (t) { return h("th", { text: t }); }))), h("tbody", null, rows));
  }
  function nameCell(name, sub) { return h("td", null, h("b", { text: name }), sub ? h("div", { class: "hint", text: sub }) : null); }
  function weightCell(w) { return h("td", { class: "r num", text: w == null ? "" : w }); }
  function gradingBlock(g) {
    var out = [section("Grading", "d-grading")];
    if (!g) { out.push(h("p", { class: "hint", text: "No grading details: the verifier did not run for this trial." })); return out; }
    var none = function () { return h("p", { class: "hint", text: "none" }); };
    out.push(h("h4", { text: "Checks (task gate)" }), g.checks.length ? dataTable("grading", ["Verdict", "Check", "Weight", "Message and evidence"],
      g.checks.map(function (c) {
        return h("tr", { "data-kind": "check", "data-name": c[0] }, h("td", { class: "verdict-cell" }, verdictBadge(c[3])),
          nameCell(c[0], c[1]), weightCell(c[2]), h("td", null, h("div", { class: "msg", text: c[4] }), fold("Evidence", pre(c[5]))));
      })) : none());
    out.push(h("h4", { text: "Compliance rules" }), g.compliance.length ? dataTable("grading", ["Verdict", "Rule", "Message and evidence"],
      g.compliance.map(function (c) {
        return h("tr", { "data-kind": "rule", "data-name": c[0] }, h("td", { class: "verdict-cell" }, verdictBadge(c[2])),
          nameCell(c[0], c[1]), h("td", null, h("div", { class: "msg", text: c[3] }), fold("Evidence", pre(c[4]))));
      })) : none());
    out.push(h("h4", { text: "Rubric (LLM judge)" }), g.rubric.length ? dataTable("grading", ["Verdict", "Criterion", "Weight", "Judge explanation"],
      g.rubric.map(function (c) {
        return h("tr", { "data-kind": "rubric", "data-name": c[0] }, h("td", { class: "verdict-cell" }, rubricBadge(c[3])),
          h("td", null, h("b", { text: c[0] }), h("div", { text: c[1] }), fold("Canonical fact", pre(c[5]))),
          weightCell(c[2]), h("td", null, h("div", { class: "msg", text: c[4] })));
      })) : none());
    if (g.diagnostics) out.push.apply(out, diagnosticsBlock(g.diagnostics));
    return out;
  }
  function diagnosticsBlock(d) {
    var list = function (xs) { return xs && xs.length ? xs.join(", ") : "none"; };
    var out = [h("h4", { text: "Diagnostics (not part of the reward)" })];
    var rows = [];
    if (d.declared) {
      rows.push(["Evidence coverage", fmtPct(d.coverage) + " — seen: " + list(d.seen) + "; missed: " + list(d.missed)]);
      rows.push(["Distractors investigated", list(d.investigated)]);
      rows.push(["Distractor followed", d.followed && d.followed.length ? "yes: " + d.followed.join(", ") : "no"]);
      rows.push(["Wrong remediations", d.harmful.length ? d.harmful.map(function (w) { return w[0] + " (command #" + w[1] + (w[2] > 1 ? ", " + w[2] + " times" : "") + ": " + w[3] + ")"; }).join("; ") : "none"]);
    } else {
      rows.push(["Evidence coverage", "n/a: the task declares no diagnostics"]);
    }
    rows.push(["Invalid actions", d.invalid_total ? d.invalid_total + " — " + d.invalid.map(function (a) {
      return a[0].replace(/_/g, " ") + (a[1] != null ? " (step " + a[1] + ")" : " (command #" + a[2] + ")") + ": " + a[3];
    }).join("; ") : "none"]);
    out.push(dataTable("grading diagnostics", ["Measure", "Value"], rows.map(function (r) {
      return h("tr", { "data-kind": "diagnostic", "data-name": r[0] }, h("th", { scope: "row", text: r[0] }), h("td", { class: "msg", text: r[1] }));
    })));
    return out;
  }
  function fmtPct(v) { return v == null ? "–" : (v * 100).toFixed(0) + "%"; }
  function auditBlock(a) {
    if (!a) return null;
    var out = [section(a[0] ? "Audit: flagged pass" : "Audit", "d-audit")];
    if (!a[1].length) out.push(h("p", { class: "hint", text: "No audit flags." }));
    else out.push(dataTable("audit", ["Severity", "Rule", "Message", "Command", "Evidence"], a[1].map(function (f) {
      return h("tr", { "data-rule": f[0], "data-severity": f[1] },
        h("td", { class: f[1] === "suspect" ? "exit-bad" : "hint", text: f[1] }), h("td", null, h("b", { text: f[0] })),
        h("td", null, h("div", { class: "msg", text: f[2] })), h("td", { class: "num", text: f[3] == null ? "" : f[3] }),
        h("td", null, fold("Evidence", pre(f[4]))));
    })));
    if (a[2] && a[2][0] !== "ungraded") out.push(h("p", null, h("b", { text: "Hack-detection judge: " + a[2][0] }), " ", a[2][1]));
    return out;
  }
  function commandsBlock(d) {
    var out = [section("Commands (audit record)", "d-commands")], cmds = d.cmds || [];
    if (!d.n_cmds) { out.push(h("p", { class: "hint", text: "No commands recorded." })); return out; }
    if (cmds.length) out.push(dataTable("", ["#", "time", "exit", "command"], cmds.map(function (c) {
      return h("tr", { "data-index": c[0] },
        h("td", { class: "num", text: c[0] }),
        h("td", { class: "num hint", text: (c[1] || "").replace("T", " ").replace("Z", "") }),
        h("td", { class: c[3] === 0 ? "exit-0 num" : "exit-bad num", text: c[3] == null ? "–" : c[3] }),
        h("td", null, h("code", { text: c[2] }), c[4] ? h("span", { class: "hint", text: " as " + c[4] }) : null,
          fold("stdout", pre(c[5])), fold("stderr", pre(c[6]))));
    })));
    if (d.n_cmds > cmds.length) out.push(h("p", { class: "note", text: (d.n_cmds - cmds.length) + " of " + d.n_cmds + " commands are only in agent/commands.jsonl." }));
    return out;
  }
  function stepsBlock(d) {
    var out = [section("Trajectory", "d-trajectory")], steps = d.steps || [];
    if (d.n_steps == null) { out.push(h("p", { class: "hint", text: "No trajectory was recorded." })); return out; }
    steps.forEach(function (s) {
      out.push(h("div", { class: "step", "data-step": s[0] },
        h("div", { class: "step-head" }, h("span", { class: "src src-" + s[1], text: s[1] }),
          h("span", { text: "step " + s[0] }), h("span", { text: s[2] })),
        s[4] ? fold("Reasoning", pre(s[4])) : null,
        s[3] ? h("div", { class: "msg", text: s[3] }) : null,
        s[5].map(function (t) { return h("div", { class: "tool" }, "→ ", h("b", { text: t[0] }), pre(t[1])); }),
        s[6].map(function (text) { return text ? fold("Output (" + text.length.toLocaleString() + " chars)", pre(text), text.length < 600) : null; })));
    });
    if (d.n_steps > steps.length) out.push(h("p", { class: "note", text: (d.n_steps - steps.length) + " of " + d.n_steps + " steps are only in agent/trajectory.json." }));
    return out;
  }

  function openTrial(name) {
    var i = byName[name];
    if (i == null) return false;
    var r = T.rows[i], all = details(), d = all.details[i];
    document.getElementById("drill-title").textContent = name;
    body.replaceChildren();
    var instruction = d.ins == null ? null : all.instructions[d.ins];
    [header(r, d), files(name, d.files, all.files),
     d.clipped ? h("p", { class: "note", text: "Long texts are clipped in this report; the trial's files hold them in full." }) : null,
     exceptionBlock(d.exc), auditBlock(d.audit), gradingBlock(d.grading),
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
