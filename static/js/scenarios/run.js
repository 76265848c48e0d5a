/*
 * The page of one scenario run (/runs/<id>/): progress per seed while it runs (live on the `jobs` topic),
 * a cancel button, then the results on the map: segments coloured by speed, flow or delay, a time slider
 * over the run's intervals, the difference against another run (absolute or percent) and the calibration
 * detectors coloured by GEH; the trip and energy KPIs as cards; the energy layers (run-energy.js). The
 * page's state is in #run-page's data attributes.
 */
import { clock, el, formatNumber, getJSON, readConfig, sendJSON } from "./api.js";
import { createMap } from "./basemap.js";
import { differenceScale, metricScale, renderLegend } from "./colours.js";
import { card, ENERGY_KPI_LABELS, kpiValue, renderEnergyKpis } from "./kpi-cards.js";
import { compareControl } from "./run-compare.js";
import { runEnergy } from "./run-energy.js";
import { FINAL, followRun } from "./run-progress.js";
import { detectorFeatures, resultsMap } from "./results.js";

const $ = (id) => document.getElementById(id);
const config = readConfig("run-config");
const root = $("run-page");
const runUrl = `${config.api.runs}${config.run_id}/`;

const view = { run: null, scenario: null, map: null, layers: null, energy: null, features: [], diff: [], against: null, detectors: [] };
const names = new Map();

// The headline figures, as cards in this order; everything else the run reports goes to "All figures".
const KPI_LABELS = {
  mean_travel_time_s: ["Mean travel time", "s"],
  mean_time_loss_s: ["Mean time loss", "s"],
  vehicle_km: ["Vehicle-km", "km"],
  vehicle_hours: ["Vehicle-hours", "h"],
  teleports: ["Teleports", ""],
  vehicles_inserted: ["Vehicles inserted", ""],
  trips_completed: ["Trips completed", ""],
  vehicles_waiting_at_end: ["Waiting to enter at the end", ""],
};
// Bookkeeping of the run, not a result.
const HIDDEN_KPIS = new Set(["wall_seconds"]);

function humanize(key) {
  const words = key.replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function renderKpis(run) {
  const kpis = run.kpis;
  $("run-energy-box").hidden = !renderEnergyKpis($("run-energy-kpis"), run);
  const box = $("run-kpis");
  const table = $("run-kpis-table");
  box.replaceChildren();
  table.replaceChildren();
  if (!kpis || typeof kpis !== "object") return;
  Object.entries(KPI_LABELS).forEach(([key, [label, unit]]) => {
    const [value, extra] = kpiValue(kpis[key]);
    if (value !== null) card(box, label, value, unit, extra);
  });
  Object.entries(kpis)
    .filter(([key]) => !(key in KPI_LABELS) && !(key in ENERGY_KPI_LABELS) && !HIDDEN_KPIS.has(key))
    .sort(([a], [b]) => a.localeCompare(b))
    .forEach(([key, raw]) => {
      const [value, extra] = kpiValue(raw);
      if (value === null) return;
      const tr = el("tr");
      tr.append(el("th", null, humanize(key)), el("td", "num", extra ? `${value} ${extra}` : value));
      table.append(tr);
    });
  $("run-kpis-more").hidden = table.childElementCount === 0;
  $("run-kpis-box").hidden = box.childElementCount === 0 && table.childElementCount === 0;
}

function renderProgress(run) {
  view.run = run;
  const percent = Math.round(Number(run.progress || 0));
  $("run-state").textContent = run.state;
  $("run-state").className = `badge ${run.state}`;
  $("run-progress").value = percent;
  $("run-percent").textContent = `${percent} %`;
  root.dataset.state = run.state;
  root.dataset.progress = String(percent);
  const list = $("run-seeds");
  list.replaceChildren();
  (run.seeds || []).forEach((seed) => {
    const item = el("li", "sc-seed");
    item.dataset.seed = String(seed.seed);
    const bar = el("progress");
    bar.max = 100;
    bar.value = Number(seed.progress || 0);
    const text = `Seed ${seed.seed}: ${seed.state || "queued"} ${Math.round(Number(seed.progress || 0))} %`;
    item.append(el("span", "sc-seed-label", text), bar);
    if (seed.job) {
      const link = el("a", "sc-seed-job", "job");
      link.href = `/jobs/${seed.job}/`;
      item.append(link);
    }
    list.append(item);
  });
  const running = !FINAL.has(run.state);
  // What the busiest seed is doing, in the job's own words ("simulating 07:12 of 07:30", ...).
  const busy = (run.seeds || []).find((s) => s.state === "running") || (run.seeds || [])[0];
  const said = busy ? busy.status_text || busy.status || "" : "";
  $("run-status").textContent = running ? said || "Waiting for a simulation worker…" : run.state === "succeeded" ? "Finished." : "";
  $("run-cancel").hidden = !running || run.cancel_requested;
  if (run.error) {
    $("run-error").textContent = run.error;
    $("run-error").hidden = false;
  }
  renderKpis(run);
}

function intervalParam() {
  const index = Number($("res-time").value);
  const interval = index > 0 ? view.run.intervals[index - 1] : null;
  return interval ? `&interval=${interval[0]}` : "";
}

function currentView() {
  return document.querySelector("input[name=view]:checked").value;
}

function legend() {
  if (currentView() === "difference" && view.against) {
    renderLegend($("res-legend"), differenceScale($("diff-metric").value, $("diff-mode").value, view.diff), { geh: view.detectors.length > 0 });
  } else {
    renderLegend($("res-legend"), metricScale($("res-metric").value, view.features), { geh: view.detectors.length > 0 });
  }
}

const withTraffic = (features, property) => features.filter((f) => Number(f.properties[property]) > 0).length;

async function loadResults() {
  $("res-status").textContent = "Loading the results…";
  const collection = await getJSON(`${config.api.runs}${config.run_id}/segments/?${intervalParam().slice(1)}`);
  view.features = collection.features || [];
  view.layers.showResults(collection, metricScale($("res-metric").value, view.features));
  if (view.energy) view.energy.onResults(view.features);
  const drawn = withTraffic(view.features, "flow_veh_h");
  root.dataset.features = String(drawn);
  const when = $("res-time-label").value === "whole window" ? "in the window" : `at ${$("res-time-label").value}`;
  $("res-status").textContent = `${drawn} segments carried traffic ${when}.`;
  legend();
}

async function loadDifference() {
  if (!view.against) return;
  const url = `${config.api.runs}${config.run_id}/difference/?against=${view.against}${intervalParam()}`;
  const collection = await getJSON(url);
  view.diff = collection.features || [];
  view.layers.showDifference(collection, differenceScale($("diff-metric").value, $("diff-mode").value, view.diff));
  root.dataset.diffFeatures = String(view.diff.filter((f) => f.properties.flow_diff !== null && f.properties.flow_diff !== undefined).length);
  $("view-difference").disabled = false;
  legend();
}

async function loadCalibration(run) {
  if (!run.calibration) return;
  const body = await getJSON(`${config.api.runs}${config.run_id}/calibration/`);
  const summary = $("cal-summary");
  summary.replaceChildren();
  const share = body.share_geh_below_5;
  card(summary, "GEH < 5", share === null || share === undefined ? "–" : `${formatNumber(share * (share <= 1 ? 100 : 1), 1)} %`, "", share !== null && share * (share <= 1 ? 100 : 1) >= 85 ? "meets DMRB" : "below the 85 % criterion");
  card(summary, "R²", formatNumber(body.r2, 3), "");
  card(summary, "Detector-hours", formatNumber(body.count, 0), "");
  view.detectors = detectorFeatures(body.rows || []);
  view.layers.showDetectors(view.detectors, $("cal-show").checked);
  root.dataset.detectors = String(view.detectors.length);
  $("cal-box").hidden = false;
  legend();
}

function setupSlider(run) {
  const slider = $("res-time");
  const intervals = run.intervals || [];
  slider.max = String(intervals.length);
  slider.disabled = intervals.length === 0;
  const label = () => {
    const index = Number(slider.value);
    const text = index > 0 ? `${clock(intervals[index - 1][0])}–${clock(intervals[index - 1][1])}` : "whole window";
    $("res-time-label").value = text;
    root.dataset.interval = index > 0 ? String(intervals[index - 1][0]) : "";
  };
  label();
  slider.addEventListener("input", label);
  slider.addEventListener("change", () => {
    loadResults().catch(showMapError);
    loadDifference().catch(showMapError);
  });
}

function showMapError(error) {
  $("res-status").textContent = `The results could not be loaded: ${error.message}`;
}

async function segmentName(id) {
  if (!names.has(id)) {
    names.set(id, getJSON(`/api/road-segments/${id}/`).then((f) => f.properties.name || null).catch(() => null));
  }
  return names.get(id);
}

async function onFinished(run) {
  renderProgress(run);
  if (run.state !== "succeeded") return;
  $("res-box").hidden = false;
  setupSlider(run);
  if (!view.energy) {
    const underLayers = ["res-lines", "diff-lines", "cal-points"];
    view.energy = runEnergy({ map: view.map, run, api: config.api, root, plotlySrc: root.dataset.plotly, underLayers });
  }
  if (!view.layers) return;
  await loadResults().catch(showMapError);
  await loadCalibration(run).catch(() => null);
  compareControl({
    run,
    scenario: view.scenario,
    api: config.api,
    onChoose: (against) => {
      view.against = against;
      if (!against) {
        $("view-results").checked = true;
        $("view-difference").disabled = true;
        applyView();
        return;
      }
      loadDifference().catch(showMapError);
    },
  })
    .load()
    .catch((error) => {
      $("diff-note").textContent = `The runs to compare with could not be loaded: ${error.message}`;
      $("diff-box").hidden = false;
    });
}

function applyView() {
  const current = currentView();
  root.dataset.view = current;
  view.layers.setView(current);
  $("res-metric-field").hidden = current !== "results";
  $("diff-metric-field").hidden = current !== "difference";
  $("diff-mode-field").hidden = current !== "difference";
  legend();
}

async function init() {
  const run = await getJSON(runUrl);
  const scenarioId = run.scenario && typeof run.scenario === "object" ? run.scenario.id : run.scenario;
  view.scenario = await getJSON(`${config.api.scenarios}${scenarioId}/`).catch(() => null);
  const sc = view.scenario;
  $("run-scenario-link").textContent = sc ? sc.name : run.scenario_name || `Scenario #${scenarioId}`;
  $("run-scenario-link").href = `/scenarios/${scenarioId}/`;
  $("run-title").textContent = `Run #${run.id}${sc ? ` of ${sc.name}` : ""}`;
  const doc = run.document || (sc ? sc.document : {});
  const seeds = (run.seeds || []).map((s) => s.seed).join(", ");
  $("run-meta").textContent = `Network ${run.network || doc.network || "?"} · ${clock(doc.begin)}–${clock(doc.end)} · seeds ${seeds}`;
  const network = config.networks.find((n) => n.name === (run.network || doc.network)) || config.networks[0];
  try {
    const map = await createMap($("run-map"), network && network.bounds);
    view.map = map;
    // The energy layers (set up when the run has finished) take clicks on substations and chargers first.
    view.layers = resultsMap(map, { segmentName, claim: (event) => (view.energy ? view.energy.claim(event) : false) });
    window.runMap = map;
  } catch (error) {
    $("run-map-message").textContent = error.message;
    $("run-map-message").hidden = false;
  }
  const follower = followRun(runUrl, {
    onUpdate: renderProgress,
    onFinal: (final) => onFinished(final),
    onError: (error) => {
      $("run-status").textContent = `Could not read the run: ${error.message}`;
    },
  });
  $("run-cancel").addEventListener("click", async () => {
    $("run-cancel").disabled = true;
    try {
      await sendJSON("POST", `${runUrl}cancel/`);
      $("run-status").textContent = "Cancelling…";
      await follower.refresh();
    } catch (error) {
      $("run-error").textContent = `Could not cancel: ${error.message}`;
      $("run-error").hidden = false;
    } finally {
      $("run-cancel").disabled = false;
    }
  });
}

$("res-metric").addEventListener("change", () => {
  view.layers.recolourResults(metricScale($("res-metric").value, view.features));
  legend();
});
["diff-metric", "diff-mode"].forEach((id) =>
  $(id).addEventListener("change", () => {
    view.layers.recolourDifference(differenceScale($("diff-metric").value, $("diff-mode").value, view.diff));
    legend();
  }),
);
document.querySelectorAll("input[name=view]").forEach((radio) => radio.addEventListener("change", applyView));
$("cal-show").addEventListener("change", () => view.layers.showDetectors(view.detectors, $("cal-show").checked));

init().catch((error) => {
  root.dataset.state = "error";
  $("run-error").textContent = error.status === 404 ? "No such run." : `The run could not be loaded: ${error.message}`;
  $("run-error").hidden = false;
});
