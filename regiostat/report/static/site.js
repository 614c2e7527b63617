/* regiostat profile site: draws a page's charts and map from its inline specs, and filters the index.
   No network: the specs carry their data, boundaries come from static/geo/*.js (window.REGIOSTAT_GEO). */
(function () {
  "use strict";

  var DUTCH = {decimal: ",", thousands: ".", grouping: [3], currency: ["€ ", ""]};

  function draw(id, spec) {
    var element = document.getElementById("chart-" + id);
    if (!element) { console.error("regiostat: no element for chart " + id); return Promise.resolve(); }
    return vegaEmbed(element, spec, {actions: false, renderer: "svg", mode: "vega-lite", formatLocale: DUTCH})
      .then(function () { element.setAttribute("data-rendered", "true"); })
      .catch(function (error) {
        element.setAttribute("data-rendered", "error");
        element.textContent = "Grafiek kon niet worden getekend / Chart could not be drawn: " + error;
        console.error("regiostat: chart " + id + " failed", error);
      });
  }

  function withBoundaries(map) {
    var topology = (window.REGIOSTAT_GEO || {})[map.geo];
    if (!topology) { throw new Error("boundary file " + map.geo + " not loaded"); }
    var spec = map.spec;
    spec.data = {values: topology, format: spec.data.format};
    return spec;
  }

  function drawPage(page) {
    var pending = page.charts.map(function (chart) { return draw(chart.id, chart.spec); });
    if (page.map) {
      try {
        pending.push(draw(page.map.id, withBoundaries(page.map)));
      } catch (error) {
        console.error("regiostat: map failed", error);
      }
    }
    return Promise.all(pending).then(function () { document.body.setAttribute("data-charts", "done"); });
  }

  function fold(text) {
    return text.toLowerCase().normalize("NFD").replace(/[\u0300-\u036f]/g, "");
  }

  function setUpSearch(input) {
    var items = Array.prototype.slice.call(document.querySelectorAll("li[data-search]"));
    var sections = Array.prototype.slice.call(document.querySelectorAll("section.level-group"));
    var count = document.getElementById("search-count");
    var none = document.getElementById("no-match");
    function filter() {
      var words = fold(input.value).split(/\s+/).filter(Boolean);
      var shown = 0;
      items.forEach(function (item) {
        var key = item.getAttribute("data-search");
        var match = words.every(function (w) { return key.indexOf(w) !== -1; });
        item.hidden = !match;
        if (match) { shown += 1; }
      });
      sections.forEach(function (section) {
        section.hidden = !section.querySelector("li[data-search]:not([hidden])");
      });
      count.textContent = shown + " regio's / regions";
      none.hidden = shown !== 0;
    }
    input.addEventListener("input", filter);
    filter();
  }

  var data = document.getElementById("page-data");
  if (data) { drawPage(JSON.parse(data.textContent)); }
  var search = document.getElementById("search");
  if (search) { setUpSearch(search); }
})();
