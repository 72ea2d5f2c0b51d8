"use strict";
/* Leaderboard: sortable columns (the page is complete without script). */
(function () {
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), ob.sortable);
})();
