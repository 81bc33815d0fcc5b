// Charts on the pages, drawn by Chart.js (vendored from npm, served from static; no CDN).
// A <canvas data-chart="ID"> draws the JSON in the <script id="ID"> that
// {{ chart|json_script:"ID" }} writes: type, title, labels, values, axis titles, money;
// with `series` ([{label, values}]) the bars are stacked, one colour and legend entry each.
"use strict";

(() => {
  const COLOURS = ["#1565c0", "#90a4ae"];
  const usd = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });

  function draw(canvas) {
    const source = document.getElementById(canvas.dataset.chart);
    if (!source || canvas.dataset.drawn) return;
    const spec = JSON.parse(source.textContent);
    const format = (v) => (spec.money ? usd.format(v) : String(v));
    canvas.dataset.drawn = "1";
    new window.Chart(canvas, {
      type: spec.type,
      data: {
        labels: spec.labels,
        datasets: spec.series
          ? spec.series.map((s, i) => ({ label: s.label, data: s.values, backgroundColor: COLOURS[i % COLOURS.length] }))
          : [{ label: spec.title, data: spec.values, backgroundColor: COLOURS[0] }],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: {
          legend: { display: Boolean(spec.series) },
          title: { display: Boolean(spec.title), text: spec.title },
          tooltip: {
            callbacks: {
              label: (item) => (spec.series ? item.dataset.label + " " : "") + format(item.parsed.y),
            },
          },
        },
        scales: {
          x: { stacked: Boolean(spec.series), title: { display: true, text: spec.x_title } },
          y: {
            stacked: Boolean(spec.series),
            beginAtZero: true,
            title: { display: true, text: spec.y_title },
            ticks: { callback: (value) => format(value) },
          },
        },
      },
    });
  }

  function drawAll(root) {
    root.querySelectorAll("canvas[data-chart]").forEach(draw);
  }

  document.addEventListener("DOMContentLoaded", () => drawAll(document));
  document.addEventListener("htmx:afterSwap", (event) => drawAll(event.target));
})();
