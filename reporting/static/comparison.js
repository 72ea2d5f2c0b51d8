"use strict";
/* Comparison: sortable tables and the per-task filter. */
(function () {
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), ob.sortable);
  var input = document.getElementById("f-task"), shown = document.getElementById("f-task-shown");
  var rows = Array.prototype.slice.call(document.getElementById("per-task-table").tBodies[0].rows);
  function apply() {
    var q = input.value.trim().toLowerCase(), n = 0;
    rows.forEach(function (tr) {
      var ok = !q || (tr.getAttribute("data-task") + " " + tr.getAttribute("data-cat")).toLowerCase().indexOf(q) >= 0;
      tr.hidden = !ok;
      if (ok) n++;
    });
    shown.textContent = n + " of " + rows.length + " tasks shown";
  }
  input.addEventListener("input", apply);
  apply();
})();
