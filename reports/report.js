(function () {
  "use strict";
  var form = document.getElementById("filters");
  var table = document.getElementById("findings-table");
  if (!form || !table) { return; }
  var rows = Array.prototype.slice.call(table.tBodies[0].rows);
  var fields = Array.prototype.slice.call(form.querySelectorAll("[data-col]"));
  var shown = document.getElementById("shown");
  function apply() {
    var want = {};
    fields.forEach(function (f) { want[f.getAttribute("data-col")] = f.value.trim(); });
    var q = (want.q || "").toLowerCase();
    var n = 0;
    rows.forEach(function (tr) {
      var ok = (!want.d || tr.getAttribute("data-d") === want.d) &&
               (!want.r || tr.getAttribute("data-r") === want.r) &&
               (!want.s || tr.getAttribute("data-s") === want.s) &&
               (!want.t || tr.getAttribute("data-t") === want.t) &&
               (!q || tr.textContent.toLowerCase().indexOf(q) >= 0);
      tr.hidden = !ok;
      if (ok) { n += 1; }
    });
    if (shown) { shown.textContent = "显示 " + n + " / " + rows.length + " 行"; }
  }
  fields.forEach(function (f) { f.addEventListener("input", apply); f.addEventListener("change", apply); });
  apply();
})();
(function () {
  "use strict";
  var pick = document.getElementById("trend-pick");
  var chart = document.getElementById("trend-chart");
  if (!pick || !chart) { return; }
  var boxes = Array.prototype.slice.call(pick.querySelectorAll("input[data-line]"));
  function sync(box) {
    var g = chart.querySelector('g[data-line="' + box.getAttribute("data-line") + '"]');
    if (g) { if (box.checked) { g.removeAttribute("display"); } else { g.setAttribute("display", "none"); } }
    box.parentNode.className = box.checked ? "on" : "";
  }
  boxes.forEach(function (b) { sync(b); b.addEventListener("change", function () { sync(b); }); });
})();
