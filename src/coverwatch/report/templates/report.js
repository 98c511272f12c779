(function () {
  "use strict";
  var table = document.getElementById("devices");
  if (!table) { return; }
  var filter = document.getElementById("device-filter");
  var openOnly = document.getElementById("device-open-only");
  var counter = document.getElementById("device-count");
  var bodies = Array.prototype.slice.call(table.tBodies);
  var state = { col: -1, dir: 1 };

  function key(body, col) {
    var cell = body.rows[0].cells[col];
    var sort = cell.getAttribute("data-sort");
    return sort !== null ? sort : cell.textContent.trim().toLowerCase();
  }

  function sortBy(col, numeric) {
    state.dir = state.col === col ? -state.dir : 1;
    state.col = col;
    bodies.sort(function (a, b) {
      var x = key(a, col), y = key(b, col), c;
      if (numeric) { c = parseFloat(x) - parseFloat(y); }
      else { c = x < y ? -1 : x > y ? 1 : 0; }
      return c * state.dir;
    });
    bodies.forEach(function (body) { table.appendChild(body); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, i) {
      th.setAttribute("aria-sort", i === col ? (state.dir > 0 ? "ascending" : "descending") : "none");
    });
  }

  function applyFilter() {
    var words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    var shown = 0;
    bodies.forEach(function (body) {
      var text = body.rows[0].textContent.toLowerCase();
      var ok = words.every(function (w) { return text.indexOf(w) !== -1; });
      if (openOnly.checked && body.getAttribute("data-open") === "0") { ok = false; }
      body.hidden = !ok;
      if (ok) { shown += 1; }
    });
    counter.textContent = "Showing " + shown + " of " + bodies.length + " devices";
  }

  Array.prototype.forEach.call(table.tHead.querySelectorAll("button[data-col]"), function (b) {
    b.addEventListener("click", function () {
      sortBy(parseInt(b.getAttribute("data-col"), 10), b.getAttribute("data-type") === "num");
    });
  });
  filter.addEventListener("input", applyFilter);
  openOnly.addEventListener("change", applyFilter);

  // Printed reports show every device's evidence: open all details for printing, then restore.
  var closed = [];
  window.addEventListener("beforeprint", function () {
    closed = Array.prototype.filter.call(document.querySelectorAll("details"), function (d) {
      return !d.open;
    });
    closed.forEach(function (d) { d.open = true; });
  });
  window.addEventListener("afterprint", function () {
    closed.forEach(function (d) { d.open = false; });
  });
  document.documentElement.classList.add("js");
  applyFilter();
})();
