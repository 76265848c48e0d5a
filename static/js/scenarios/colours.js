/*
 * Colour scales of the results map and their legends, from one table each, so the map and the legend
 * cannot drift apart. Sequential scales for a run's own numbers (speed has a fixed km/h scale, flow and
 * delay stretch to the run's 95th percentile so one busy motorway does not wash out the city); diverging
 * scales for a difference, symmetric around no change.
 */
import { el, formatNumber } from "./api.js";

export const NO_DATA = "#cfd4db";

export const METRICS = {
  speed: { property: "speed_kmh", label: "Mean speed", unit: "km/h", fixed: [5, 50], colours: ["#b91c1c", "#f97316", "#facc15", "#84cc16", "#15803d"] },
  flow: { property: "flow_veh_h", label: "Flow", unit: "veh/h", colours: ["#fde68a", "#f59e0b", "#dc2626", "#7e22ce", "#3b0764"] },
  delay: { property: "waiting_time_s", label: "Delay (waiting)", unit: "s", colours: ["#15803d", "#facc15", "#f97316", "#b91c1c", "#450a0a"] },
};

// Difference palettes, low to high. More traffic is red; for speed, slower is red.
export const DIFFERENCES = {
  flow: { label: "Flow change", unit: "veh/h", colours: ["#1d4ed8", "#93c5fd", "#f3f4f6", "#fca5a5", "#b91c1c"] },
  speed: { label: "Speed change", unit: "km/h", colours: ["#b91c1c", "#fca5a5", "#f3f4f6", "#86efac", "#15803d"] },
};

export function percentile(values, p) {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * (sorted.length - 1)))];
}

function stops(min, max, colours) {
  const span = max > min ? max - min : 1;
  return colours.flatMap((colour, i) => [min + (span * i) / (colours.length - 1), colour]);
}

function ramp(property, min, max, colours) {
  const value = ["to-number", ["get", property]];
  return ["case", ["==", ["get", property], null], NO_DATA, ["interpolate", ["linear"], value, ...stops(min, max, colours)]];
}

/** {expression, min, max, label, unit, colours} for a run's metric over these features. */
export function metricScale(metric, features) {
  const spec = METRICS[metric];
  let [min, max] = spec.fixed || [0, 0];
  if (!spec.fixed) {
    max = percentile(features.map((f) => Number(f.properties[spec.property])), 0.95) || 1;
  }
  return { ...spec, min, max, expression: ramp(spec.property, min, max, spec.colours) };
}

/** The diverging scale for a difference: `mode` "abs" (units) or "pct" (percent, clipped to ±100). */
export function differenceScale(metric, mode, features) {
  const spec = DIFFERENCES[metric];
  const property = `${metric}_${mode === "pct" ? "pct" : "diff"}`;
  let bound = mode === "pct" ? 50 : percentile(features.map((f) => Math.abs(Number(f.properties[property]))), 0.95);
  if (!bound) bound = mode === "pct" ? 50 : 1;
  const unit = mode === "pct" ? "%" : spec.unit;
  return { ...spec, property, unit, min: -bound, max: bound, expression: ramp(property, -bound, bound, spec.colours) };
}

// Emissions of a segment over the period (sums, mean over seeds): one sequential ramp, light to dark.
export const EMISSIONS = {
  co2: { property: "co2_g", label: "CO₂", unit: "g", colours: ["#fef9c3", "#fdba74", "#f97316", "#b91c1c", "#450a0a"] },
  nox: { property: "nox_mg", label: "NOx", unit: "mg", colours: ["#ecfeff", "#a5b4fc", "#8b5cf6", "#6b21a8", "#2e1065"] },
  pmx: { property: "pmx_mg", label: "PMx", unit: "mg", colours: ["#f5f5f4", "#d6d3d1", "#a8a29e", "#57534e", "#1c1917"] },
};

/** The scale of a pollutant over these features, stretched to their 95th percentile (as flow is). */
export function emissionScale(pollutant, features) {
  const spec = EMISSIONS[pollutant];
  const max = percentile(features.map((f) => Number(f.properties[spec.property])).filter((v) => v > 0), 0.95) || 1;
  return { ...spec, min: 0, max, expression: ramp(spec.property, 0, max, spec.colours) };
}

// A substation's peak transformer loading: fine, near its rating, over it.
export const LOADING_CLASSES = [
  { label: "< 70 %", colour: "#16a34a", max: 70 },
  { label: "70–100 %", colour: "#f59e0b", max: 100 },
  { label: "≥ 100 %", colour: "#dc2626", max: Infinity },
];

export const LOADING_COLOUR = [
  "step", ["to-number", ["get", "peak_loading_pct"]],
  LOADING_CLASSES[0].colour, 70, LOADING_CLASSES[1].colour, 100, LOADING_CLASSES[2].colour,
];

export function loadingColour(pct) {
  return LOADING_CLASSES.find((cls) => Number(pct) < cls.max || cls.max === Infinity).colour;
}

export const GEH_CLASSES = [
  { label: "GEH < 5", colour: "#16a34a", max: 5 },
  { label: "GEH 5–10", colour: "#f59e0b", max: 10 },
  { label: "GEH > 10", colour: "#dc2626", max: Infinity },
];

export const GEH_COLOUR = ["step", ["to-number", ["get", "geh"]], GEH_CLASSES[0].colour, 5, GEH_CLASSES[1].colour, 10, GEH_CLASSES[2].colour];

/** The legend: a gradient bar with its ends and middle labelled, and the GEH classes when shown. */
export function renderLegend(container, scale, { geh = false, title } = {}) {
  container.replaceChildren();
  container.append(el("p", "sc-legend-title", title || `${scale.label} (${scale.unit})`));
  const bar = el("div", "sc-legend-bar");
  bar.style.background = `linear-gradient(to right, ${scale.colours.join(", ")})`;
  container.append(bar);
  const ticks = el("div", "sc-legend-ticks");
  const mid = (scale.min + scale.max) / 2;
  // Values past the ends take the end colours: say so ("≥"), except on a fixed scale's natural ends.
  const diverging = scale.min < 0;
  ticks.append(
    el("span", null, diverging ? `≤ ${formatNumber(scale.min, 0)}` : formatNumber(scale.min, 0)),
    el("span", null, formatNumber(mid, 0)),
    el("span", null, `${scale.fixed ? "" : "≥ "}${diverging ? "+" : ""}${formatNumber(scale.max, 0)}`),
  );
  container.append(ticks);
  const none = el("p", "sc-legend-none");
  const swatch = el("i", "sc-swatch");
  swatch.style.background = NO_DATA;
  none.append(swatch, "no vehicles");
  container.append(none);
  if (geh) {
    const list = el("p", "sc-legend-geh");
    GEH_CLASSES.forEach((cls) => {
      const dot = el("i", "sc-dot");
      dot.style.background = cls.colour;
      list.append(dot, `${cls.label} `);
    });
    container.append(list);
  }
  container.hidden = false;
}
