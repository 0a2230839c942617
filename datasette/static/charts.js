// Draws every <figure class="ofsted-chart"> from the JSON inside it with the
// vendored Chart.js. No inline scripts, no network: works offline.
(function () {
  "use strict";
  if (typeof Chart === "undefined") { return; }
  var palette = ["#1d70b8", "#00703c", "#f47738", "#d4351c", "#6f777b", "#4c2c92", "#28a197"];
  var judgementColours = {
    "Outstanding": "#00703c", "Good": "#1d70b8",
    "Requires improvement to be good": "#f47738", "Inadequate": "#d4351c",
    "Not yet judged": "#b1b4b6"
  };

  function colourFor(label, index) {
    return judgementColours[label] || palette[index % palette.length];
  }

  function config(spec) {
    var datasets = spec.datasets.map(function (d, i) {
      var colour = colourFor(d.label, i);
      return {
        label: d.label, data: d.data, borderColor: colour,
        backgroundColor: spec.kind === "bar" && spec.datasets.length === 1
          ? spec.labels.map(function (label) { return judgementColours[label] || colour; })
          : colour,
        spanGaps: false, stepped: spec.kind === "rating-timeline" ? "before" : false,
        pointRadius: spec.kind === "rating-timeline" ? 6 : 3
      };
    });
    var options = {
      animation: false, responsive: true, maintainAspectRatio: false,
      plugins: { legend: { display: spec.kind !== "rating-timeline" && datasets.length > 1 } },
      scales: { y: { beginAtZero: true, ticks: { precision: 0 } } }
    };
    if (spec.y_label) {
      options.scales.y.title = { display: true, text: spec.y_label };
    }
    var type = spec.kind === "rating-timeline" ? "line" : spec.kind === "stacked-bar" ? "bar" : spec.kind;
    if (spec.kind === "stacked-bar") {
      options.scales = { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } };
    }
    if (spec.kind === "rating-timeline") {
      options.scales = { y: {
        min: 0.5, max: 4.5,
        afterBuildTicks: function (axis) { axis.ticks = [1, 2, 3, 4].map(function (v) { return { value: v }; }); },
        ticks: { callback: function (v) {
          var label = spec.ratings[v] || "";
          // on a narrow screen the long label would be clipped: abbreviate it
          return this.chart.width < 480 ? label.replace("Requires improvement", "RI") : label;
        } }
      } };
      options.plugins.tooltip = { callbacks: { label: function (c) { return spec.ratings[c.parsed.y]; } } };
    }
    return { type: type, data: { labels: spec.labels, datasets: datasets }, options: options };
  }

  function draw() {
    document.querySelectorAll("figure.ofsted-chart").forEach(function (figure) {
      var data = figure.querySelector("script.ofsted-chart-data");
      var canvas = figure.querySelector("canvas");
      if (!data || !canvas) { return; }
      new Chart(canvas, config(JSON.parse(data.textContent)));
      figure.setAttribute("data-drawn", "true");
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
