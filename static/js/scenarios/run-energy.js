/*
 * The energy side of a finished run's page: the grid's note (said on the page when substations are
 * synthetic), the "Energy" layer toggles (emissions per segment, charging stations, substations with their
 * service areas), their legend, and the panel a substation opens: its figures and its loading chart.
 * State for tests and styling is in #run-page's data attributes (substations, chargers, energy-layers).
 */
import { el, formatNumber, getJSON } from "./api.js";
import { emissionScale, LOADING_CLASSES, loadingColour, renderLegend } from "./colours.js";
import { energyLayers } from "./energy-layers.js";
import { ENERGY_KPI_LABELS } from "./kpi-cards.js";
import { clearLoadingChart, drawLoadingChart } from "./substation-chart.js";

const $ = (id) => document.getElementById(id);

function fact(list, term, value) {
  list.append(el("dt", null, term), el("dd", null, value));
}

function gridNote(grid) {
  const note = $("grid-note");
  if (!grid) {
    note.hidden = true;
    return;
  }
  if (grid.error) {
    note.textContent = `The grid could not be computed for this run: ${grid.error}`;
    note.className = "alert error sc-grid-note";
    note.hidden = false;
    return;
  }
  const synthetic = Number(grid.synthetic || 0) > 0 || /synthetic/i.test(grid.note || "");
  note.textContent = grid.note || "";
  note.className = "alert sc-grid-note";
  note.hidden = !synthetic || !grid.note;
}

function dots(container, title, classes) {
  const list = el("p", "sc-legend-geh");
  list.append(el("span", "sc-legend-title", title));
  classes.forEach((cls) => {
    const dot = el("i", "sc-dot");
    dot.style.background = cls.colour;
    list.append(dot, `${cls.label} `);
  });
  container.append(list);
}

/**
 * Wires the energy side of the page. `layers` is null when the map could not start (the figures and the
 * note still show). Returns {onResults(features)} for the page to call when the segments reload.
 */
export function runEnergy({ map, run, api, root, plotlySrc, underLayers }) {
  const box = $("energy-box");
  const doc = run.document || {};
  // Runs made before energy existed have no grid and no energy figures: nothing to show for them either.
  const reported = run.grid || Object.keys(ENERGY_KPI_LABELS).some((key) => key in (run.kpis || {}));
  if (doc.energy === false || run.state !== "succeeded" || !reported) return { onResults() {}, claim: () => false };
  box.hidden = false;
  gridNote(run.grid);
  const state = { features: [], chargers: [], substations: [], maxKwh: 0 };
  const panel = $("sub-panel");
  const layers = map
    ? energyLayers(map, { onSubstation: (feature) => openPanel(feature).catch(showError), underLayers })
    : null;

  function showError(error) {
    $("en-status").textContent = `The energy results could not be loaded: ${error.message}`;
  }

  function legend() {
    const container = $("en-legend");
    container.replaceChildren();
    if ($("en-emissions").checked) {
      const part = el("div", "sc-en-legend-part");
      renderLegend(part, emissionScale($("en-pollutant").value, state.features), {
        title: `${$("en-pollutant").selectedOptions[0].textContent} per segment, ${$("res-time-label").value}`,
      });
      container.append(part);
    }
    if ($("en-chargers").checked) {
      const p = el("p", "sc-legend-none");
      const dot = el("i", "sc-dot sc-dot-charger");
      p.append(dot, `Charging station: size and colour by energy delivered (up to ${formatNumber(state.maxKwh, 1)} kWh)`);
      container.append(p);
    }
    if ($("en-substations").checked) dots(container, "Substation peak loading:", LOADING_CLASSES);
    container.hidden = container.childElementCount === 0;
  }

  function toggle(group, checkbox) {
    if (!layers) return;
    layers.show(group, checkbox.checked);
    const on = ["emissions", "chargers", "substations"].filter((g) => $(`en-${g}`).checked);
    root.dataset.energyLayers = on.join(" ");
    if (group === "emissions") layers.recolourEmissions(emissionScale($("en-pollutant").value, state.features));
    if (group === "substations" && !checkbox.checked) closePanel();
    legend();
  }

  async function openPanel(feature) {
    if (!feature) return;
    const p = feature.properties;
    panel.hidden = false;
    panel.dataset.substation = p.key;
    delete panel.dataset.chart;
    $("sub-name").textContent = p.name || `Substation ${p.key}`;
    $("sub-kind").textContent = p.synthetic ? "Synthetic substation (no stored data)" : `Substation ${p.key}`;
    const facts = $("sub-facts");
    facts.replaceChildren();
    const peak = el("span", "sc-sub-peak", `${formatNumber(p.peak_loading_pct, 1)} %`);
    peak.style.color = loadingColour(p.peak_loading_pct);
    fact(facts, "Capacity", `${formatNumber(p.capacity_kva, 0)} kVA (${p.capacity_source || "?"})`);
    fact(facts, "Peak load", `${formatNumber(p.peak_kw, 1)} kW`);
    facts.append(el("dt", null, "Peak loading"));
    const dd = el("dd");
    dd.append(peak);
    facts.append(dd);
    fact(facts, "Above 100 %", `${formatNumber(p.overload_hours, 2)} h`);
    fact(facts, "Buildings served", formatNumber(p.buildings, 0));
    const chargers = state.chargers.filter((c) => c.properties.substation === p.key);
    fact(facts, "Charging stations", chargers.length ? `${chargers.length} (${formatNumber(chargers.reduce((s, c) => s + Number(c.properties.energy_kwh || 0), 0), 1)} kWh)` : "none");
    const series = p.series || [];
    $("sub-status").textContent = series.length ? "" : "No load was computed for this substation.";
    await drawLoadingChart($("sub-chart"), series, plotlySrc);
    panel.dataset.chart = "ready";
  }

  function closePanel() {
    if (layers) layers.select(null);
    panel.hidden = true;
    delete panel.dataset.substation;
    clearLoadingChart($("sub-chart"));
  }

  async function load() {
    const base = `${api.runs}${run.id}/`;
    const [substations, chargers] = await Promise.all([getJSON(`${base}substations/`), getJSON(`${base}charging-stations/`)]);
    state.substations = substations.features || [];
    state.chargers = chargers.features || [];
    if (substations.grid && !run.grid) gridNote(substations.grid);
    root.dataset.substations = String(state.substations.length);
    root.dataset.chargers = String(state.chargers.length);
    $("en-substations-count").textContent = `(${state.substations.length})`;
    $("en-chargers-count").textContent = `(${state.chargers.length})`;
    if (layers) {
      layers.setSubstations(substations);
      state.maxKwh = layers.setChargers(chargers);
    }
    const overloaded = state.substations.filter((f) => Number(f.properties.peak_loading_pct) >= 100).length;
    const delivered = state.chargers.reduce((sum, f) => sum + Number(f.properties.energy_kwh || 0), 0);
    $("en-status").textContent =
      `${state.substations.length} substations (${overloaded} above 100 % at their peak); ` +
      `${state.chargers.length} charging stations delivered ${formatNumber(delivered, 1)} kWh.`;
    legend();
  }

  ["emissions", "chargers", "substations"].forEach((group) => {
    const checkbox = $(`en-${group}`);
    checkbox.disabled = !layers;
    checkbox.addEventListener("change", () => toggle(group, checkbox));
  });
  $("en-pollutant").addEventListener("change", () => {
    if (layers) layers.recolourEmissions(emissionScale($("en-pollutant").value, state.features));
    legend();
  });
  $("sub-close").addEventListener("click", closePanel);
  load().catch(showError);

  return {
    onResults(features) {
      state.features = features;
      if (layers) layers.recolourEmissions(emissionScale($("en-pollutant").value, features));
      legend();
    },
    claim: (event) => (layers ? layers.click(event) : false),
  };
}
