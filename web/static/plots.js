// The plots of the web view: plotly.js (served from the plotly wheel), data from a JSON block of the page.
// Every text shown in a hover label is escaped first: plotly reads <b>, <a>, ... in labels as markup.
"use strict";
(function () {
  function esc(value) {
    return String(value === null || value === undefined ? "" : value)
      .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  }
  function json(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }
  var PHASES = ["cubic", "tetragonal", "amorphous", "mixed"];
  var COLOURS = {cubic: "#1f77b4", tetragonal: "#d62728", amorphous: "#2ca02c", mixed: "#9467bd"};

  function byPhase(d, xKey, xTitle, id, title) {
    var traces = PHASES.map(function (phase) {
      var idx = [];
      for (var i = 0; i < d.film_id.length; i++) {
        if (d.phase[i] === phase && d[xKey][i] !== null) idx.push(i);
      }
      return {
        type: "scatter", mode: "markers", name: phase, marker: {size: 9, color: COLOURS[phase]},
        x: idx.map(function (i) { return d[xKey][i]; }), y: idx.map(function (i) { return d.log10_sigma_25c[i]; }),
        customdata: idx.map(function (i) { return d.film_id[i]; }),
        text: idx.map(function (i) {
          return "film " + d.film_id[i] + " · " + esc(d.reference[i]) + "<br>" + esc(d.substrate[i]) + ", " +
            esc(d.phase[i]) + ", " + d.deposition_temp_c[i] + " °C";
        }),
        hovertemplate: "%{text}<br>log10 σ %{y:.2f}<extra></extra>"
      };
    }).filter(function (t) { return t.x.length > 0; });
    var layout = {title: {text: title}, xaxis: {title: {text: xTitle}}, yaxis: {title: {text: "log10 σ at 25 °C (S/cm)"}},
                  hovermode: "closest", margin: {t: 50}};
    if (xKey === "substrate") layout.xaxis.type = "category";
    Plotly.newPlot(id, traces, layout, {displaylogo: false, responsive: true});
    var el = document.getElementById(id);
    el.on("plotly_click", function (ev) {
      if (ev.points && ev.points.length) window.location.href = "/films/" + encodeURIComponent(ev.points[0].customdata);
    });
  }

  var d = json("plot-data");
  if (d) {
    byPhase(d, "deposition_temp_c", "deposition temperature (°C)", "plot-temperature", "log10 σ against deposition temperature");
    byPhase(d, "misfit", "lattice misfit against c-LLZO", "plot-misfit", "log10 σ against misfit");
    byPhase(d, "substrate", "substrate", "plot-substrate", "log10 σ by substrate");
  }
  (json("parity-data") || []).forEach(function (p, n) {
    var id = "plot-parity-" + n;
    var models = Array.from(new Set(p.model));
    var traces = models.map(function (m) {
      var idx = [];
      for (var i = 0; i < p.model.length; i++) if (p.model[i] === m && p.predicted[i] !== null) idx.push(i);
      return {type: "scatter", mode: "markers", name: esc(m), x: idx.map(function (i) { return p.measured[i]; }),
              y: idx.map(function (i) { return p.predicted[i]; }), customdata: idx.map(function (i) { return p.film_id[i]; }),
              error_y: {type: "data", array: idx.map(function (i) { return 1.96 * (p.sd[i] || 0); }), visible: true, thickness: 1},
              hovertemplate: "film %{customdata}<br>measured %{x:.2f}<br>predicted %{y:.2f}<extra>" + esc(m) + "</extra>"};
    });
    Plotly.newPlot(id, traces, {xaxis: {title: {text: "measured log10 σ at 25 °C"}},
                                yaxis: {title: {text: "held-out prediction (95 % bars)"}}, hovermode: "closest"},
                   {displaylogo: false, responsive: true});
    document.getElementById(id).on("plotly_click", function (ev) {
      if (ev.points && ev.points.length) window.location.href = "/films/" + encodeURIComponent(ev.points[0].customdata);
    });
    // calibration: the share of held-out films inside each central interval against its nominal level
    var levels = [0.5, 0.68, 0.8, 0.9, 0.95, 0.99], z = [0.6745, 0.9945, 1.2816, 1.6449, 1.96, 2.5758];
    var curves = models.map(function (m) {
      var inside = levels.map(function () { return 0; }), n = 0;
      for (var i = 0; i < p.model.length; i++) {
        if (p.model[i] !== m || p.predicted[i] === null || p.measured[i] === null || !p.sd[i]) continue;
        n++;
        for (var j = 0; j < levels.length; j++) if (Math.abs(p.measured[i] - p.predicted[i]) <= z[j] * p.sd[i]) inside[j]++;
      }
      return {type: "scatter", mode: "lines+markers", name: esc(m), x: levels,
              y: inside.map(function (c) { return n ? c / n : null; })};
    });
    curves.push({type: "scatter", mode: "lines", name: "ideal", x: [0, 1], y: [0, 1], line: {dash: "dot", color: "#888"}});
    Plotly.newPlot("plot-calibration-" + n, curves, {title: {text: "calibration: held-out films inside the central interval"},
                                                     xaxis: {title: {text: "nominal coverage"}, range: [0, 1]},
                                                     yaxis: {title: {text: "observed coverage"}, range: [0, 1.02]}},
                   {displaylogo: false, responsive: true});
  });
  var shap = json("shap-data");
  if (shap) {  // the report's Figure 7: which descriptors move the prediction most, largest on top
    Plotly.newPlot("plot-shap", [{type: "bar", orientation: "h", x: shap.mean_abs.slice().reverse(),
                                  y: shap.descriptor.map(esc).reverse(),
                                  hovertemplate: "%{y}: %{x:.3f}<extra></extra>"}],
                   {title: {text: "mean |SHAP| (log10 σ)"}, margin: {l: 160}}, {displaylogo: false, responsive: true});
  }
})();
