/*
 * A substation's loading over the run's window as a Plotly chart: the load it serves stacked by where it
 * comes from (buildings, charging stations, cars recharging at their destination; kW, left axis) and its
 * transformer loading (% of its rating, right axis) with the 100 % line. Plotly (the vendored basic
 * bundle, ~1 MB) is loaded on the first substation opened, not with the page.
 */
import { clock } from "./api.js";

let loading = null;

/** Loads the vendored Plotly once (its static URL comes from the page, hashed in production). */
export function loadPlotly(src) {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!loading) {
    loading = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = src;
      script.onload = () => (window.Plotly ? resolve(window.Plotly) : reject(new Error("Plotly did not load.")));
      script.onerror = () => {
        loading = null;
        reject(new Error("The chart library could not be loaded."));
      };
      document.head.append(script);
    });
  }
  return loading;
}

const STACK = [
  ["buildings_kw", "Buildings", "rgba(100, 116, 139, 0.55)"],
  ["stations_kw", "Charging stations", "rgba(59, 130, 246, 0.6)"],
  ["destinations_kw", "Destination charging", "rgba(168, 85, 247, 0.55)"],
];

function traces(series) {
  // Each value is an interval's mean: drawn as steps over the interval (the last one repeated at its end).
  const x = [...series.map((row) => Number(row.begin)), ...series.slice(-1).map((row) => Number(row.end))];
  const rows = [...series, ...series.slice(-1)];
  const stacked = STACK.map(([key, name, colour]) => ({
    type: "scatter",
    mode: "lines",
    name,
    x,
    y: rows.map((row) => Number(row[key]) || 0),
    stackgroup: "load",
    line: { width: 0.5, color: colour, shape: "hv" },
    fillcolor: colour,
    hovertemplate: `${name}: %{y:.1f} kW<extra></extra>`,
  }));
  const loadingTrace = {
    type: "scatter",
    mode: "lines",
    name: "Loading",
    x,
    y: rows.map((row) => (row.loading_pct === null ? null : Number(row.loading_pct))),
    yaxis: "y2",
    line: { width: 2.5, color: "#111827", shape: "hv" },
    connectgaps: false,
    hovertemplate: "Loading: %{y:.1f} %<extra></extra>",
  };
  return [...stacked, loadingTrace];
}

function layout(series) {
  const begins = series.map((row) => Number(row.begin));
  const end = series.length ? Number(series[series.length - 1].end) : 0;
  const ticks = [...begins, end];
  const peak = Math.max(100, ...series.map((row) => Number(row.loading_pct) || 0));
  return {
    margin: { l: 48, r: 48, t: 8, b: 36 },
    height: 230,
    showlegend: true,
    legend: { orientation: "h", y: -0.22, font: { size: 10 } },
    hovermode: "x unified",
    xaxis: { tickvals: ticks, ticktext: ticks.map(clock), range: [begins[0] ?? 0, end], fixedrange: true },
    yaxis: { title: { text: "kW", font: { size: 11 } }, rangemode: "tozero", fixedrange: true },
    yaxis2: {
      title: { text: "loading %", font: { size: 11 } },
      overlaying: "y",
      side: "right",
      range: [0, peak * 1.1],
      dtick: peak > 200 ? 50 : 25,
      showgrid: false,
      fixedrange: true,
    },
    shapes: [
      { type: "line", xref: "paper", x0: 0, x1: 1, yref: "y2", y0: 100, y1: 100, line: { color: "#dc2626", width: 1, dash: "dash" } },
    ],
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "rgba(0,0,0,0)",
    font: { family: "inherit", size: 11 },
  };
}

/** Draws (or redraws) the chart of one substation's `series` into `container`. */
export async function drawLoadingChart(container, series, plotlySrc) {
  const Plotly = await loadPlotly(plotlySrc);
  await Plotly.react(container, traces(series || []), layout(series || []), { displayModeBar: false, responsive: true });
}

export function clearLoadingChart(container) {
  if (window.Plotly) window.Plotly.purge(container);
}
