/* Filters and name search of a RetroTime results table.
 * Progressive enhancement: the table is complete without this script; the script only
 * shows the filter form (hidden in the HTML) and hides rows that do not match.
 * A link may preselect filters: race/index.html#sex=F&cat=F35-39&q=ana */
(function () {
  "use strict";
  var form = document.getElementById("filters");
  var table = document.getElementById("results");
  if (!form || !table || !table.tBodies.length) return;
  var rows = Array.prototype.slice.call(table.tBodies[0].rows);
  var count = document.getElementById("filter-count");
  var sex = form.elements.namedItem("sex");
  var cat = form.elements.namedItem("cat");
  var query = form.elements.namedItem("q");

  // The search rule of results/format.py:matches (the live search uses it): every word,
  // folded as search_key folds (no case, no accents), appears in the row's key.
  function fold(text) {
    return text.toLowerCase().normalize("NFKD").replace(/\p{M}/gu, "");
  }

  function apply() {
    var s = sex.value;
    var c = cat.value;
    var words = fold(query.value).split(/\s+/).filter(Boolean);
    var shown = 0;
    for (var i = 0; i < rows.length; i++) {
      var row = rows[i];
      var ok = (!s || row.dataset.sex === s) && (!c || row.dataset.cat === c);
      for (var j = 0; ok && j < words.length; j++) {
        ok = row.dataset.search.indexOf(words[j]) !== -1;
      }
      if (row.hidden === ok) row.hidden = !ok;
      if (ok) shown++;
    }
    count.value = shown === rows.length
      ? rows.length + " results"
      : shown + " of " + rows.length + " results shown";
  }

  var preset = new URLSearchParams(window.location.hash.slice(1));
  if (preset.has("sex")) sex.value = preset.get("sex");
  if (preset.has("cat")) cat.value = preset.get("cat");
  if (preset.has("q")) query.value = preset.get("q");
  form.addEventListener("input", apply);
  form.addEventListener("change", apply);
  form.addEventListener("submit", function (event) { event.preventDefault(); });
  form.hidden = false;
  apply();
})();
