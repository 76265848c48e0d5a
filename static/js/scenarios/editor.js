/*
 * The scenario editor (/scenarios/new/ and /scenarios/<id>/): the side panel is the scenario document
 * (name, network, base, window, demand, seeds, edits), the map is where road edits are made. Save POSTs a
 * new scenario or PUTs this one (the API answers a run, hence locked, scenario's PUT with a new version: the
 * page then shows that version); "Save and run" queues a run and opens its page. Field errors of the API
 * are shown next to their fields. The page's state is in #scenario-editor's data attributes.
 */
import { ApiError, flattenErrors, getAll, getJSON, readConfig, sendJSON, el } from "./api.js";
import { createMap } from "./basemap.js";
import { editorMap } from "./editor-map.js";
import { clearErrors, describeEdit, editItem, fillForm, readForm, showDemandSource, showErrors } from "./editor-form.js";

const $ = (id) => document.getElementById(id);
const config = readConfig("scenario-config");
const root = $("scenario-editor");
const SEGMENT_EDITS = new Set(["close_segment", "speed_limit", "lanes", "add_charging_station"]);

const state = {
  scenario: null, // the stored scenario as the API answered it
  edits: [],
  dirty: false,
  unlocked: false, // "edit as new version" pressed on a locked scenario
  busy: false,
};
const segments = new Map(); // RoadSegment id -> its properties, for names in the lists
const districts = new Map(); // District id -> name
let mapEditor = null;
let map = null;

const locked = () => Boolean(state.scenario && state.scenario.locked);
const readOnly = () => locked() && !state.unlocked;

function message(text, kind = "error") {
  const box = kind === "error" ? $("sc-message") : $("sc-notice");
  $("sc-message").hidden = true;
  $("sc-notice").hidden = true;
  if (text) {
    box.textContent = text;
    box.hidden = false;
  }
}

function setDirty(dirty) {
  state.dirty = dirty;
  $("sc-dirty").hidden = !dirty;
  root.dataset.dirty = dirty ? "1" : "0";
}

function districtName(id) {
  return districts.get(Number(id)) || `district ${id}`;
}

function describe(edit) {
  return describeEdit(edit, (id) => segments.get(Number(id)), districtName);
}

function removeEdit(index) {
  state.edits.splice(index, 1);
  setDirty(true);
  renderEdits();
}

function renderEdits() {
  const roads = $("sc-edits");
  const demand = $("sc-demand-edits");
  roads.replaceChildren();
  demand.replaceChildren();
  state.edits.forEach((edit, index) => {
    const item = editItem(describe(edit), index, removeEdit, readOnly());
    (SEGMENT_EDITS.has(edit.type) ? roads : demand).append(item);
  });
  const count = state.edits.filter((e) => SEGMENT_EDITS.has(e.type)).length;
  $("sc-edit-count").textContent = String(count);
  root.dataset.edits = String(state.edits.length);
  if (mapEditor) mapEditor.refresh(state.edits);
}

function editsOf(segment) {
  return state.edits
    .map((edit, index) => [edit, index])
    .filter(([edit]) => edit.segment === segment)
    .map(([edit, index]) => [describe(edit), index]);
}

/** A road action from the map panel: one edit per segment, replacing that segment's edit of the same type. */
function applyAction(action) {
  for (const segment of action.segments) {
    state.edits = state.edits.filter((e) => !(e.segment === segment && e.type === action.type));
    if (action.type === "close_segment") state.edits.push({ type: "close_segment", segment });
    if (action.type === "speed_limit") state.edits.push({ type: "speed_limit", segment, kmh: action.kmh });
    if (action.type === "lanes") state.edits.push({ type: "lanes", segment, lanes: action.lanes });
    if (action.type === "add_charging_station") {
      state.edits.push({ type: "add_charging_station", segment, power_kw: action.power_kw, points: 2, position_m: 0 });
    }
  }
  setDirty(true);
  renderEdits();
}

function renderScenario() {
  const sc = state.scenario;
  const ro = readOnly();
  $("sc-fields").disabled = ro;
  $("sc-locked").hidden = !locked() || state.unlocked;
  $("sc-save").hidden = ro;
  $("sc-save").textContent = locked() ? "Save as new version" : "Save";
  $("sc-run").textContent = ro ? "Run again" : "Save and run";
  $("sc-duplicate").hidden = !sc;
  root.dataset.locked = locked() ? "1" : "0";
  root.dataset.readonly = ro ? "1" : "0";
  if (sc) {
    root.dataset.scenario = String(sc.id);
    const version = sc.version ? ` · version ${sc.version}` : "";
    $("sc-title").textContent = state.unlocked ? `New version of ${sc.name}` : sc.name;
    const created = sc.created_at ? ` · created ${new Date(sc.created_at).toLocaleString("en-GB")}` : "";
    const owner = sc.owner ? ` by ${sc.owner}` : "";
    $("sc-meta").textContent = `Scenario #${sc.id}${version} · network ${sc.network || sc.document.network}${created}${owner}`;
    document.title = `${sc.name} · CityTwin`;
  }
  renderChanges();
  renderEdits();
}

function renderChanges() {
  const list = $("sc-changes");
  list.replaceChildren();
  const sc = state.scenario;
  const base = sc && (sc.base ?? sc.document.base);
  const option = base ? [...$("sc-base").options].find((o) => o.value === String(base)) : null;
  const baseName = option ? option.textContent.replace(/ · #\d+$/, "") : "";
  $("sc-changes-against").textContent = base ? `against ${baseName ? `“${baseName}”` : "scenario"} (#${base})` : "against the network as stored";
  const changes = sc && Array.isArray(sc.changes) ? sc.changes : [];
  changes.forEach((change) => list.append(el("li", null, typeof change === "string" ? change : change.text || JSON.stringify(change))));
  if (!sc) $("sc-changes-note").textContent = "Save the scenario to see what it changes.";
  else if (state.dirty) $("sc-changes-note").textContent = "As last saved; save to update.";
  else $("sc-changes-note").textContent = changes.length ? "" : "Nothing: the same as its base.";
  root.dataset.changes = String(changes.length);
}

async function renderRuns() {
  const sc = state.scenario;
  if (!sc) return;
  let runs = Array.isArray(sc.runs) ? sc.runs : null;
  if (!runs) runs = await getAll(`${config.api.scenarios}${sc.id}/runs/?limit=50`, 1).catch(() => []);
  const list = $("sc-runs");
  list.replaceChildren();
  runs.forEach((run) => {
    const item = el("li");
    const link = el("a", null, `Run #${run.id}`);
    link.href = `/runs/${run.id}/`;
    item.append(link, " ", el("span", `badge ${run.state}`, run.state));
    list.append(item);
  });
  $("sc-runs-box").hidden = runs.length === 0;
}

async function save() {
  clearErrors();
  message("");
  const { doc, errors } = readForm();
  if (Object.keys(errors).length) {
    showErrors(errors);
    message("Some fields need a look before saving.");
    return null;
  }
  doc.edits = state.edits;
  const sc = state.scenario;
  state.busy = true;
  root.dataset.state = "saving";
  try {
    const saved = sc ? await sendJSON("PUT", `${config.api.scenarios}${sc.id}/`, doc) : await sendJSON("POST", config.api.scenarios, doc);
    const isNew = !sc || saved.id !== sc.id;
    state.scenario = saved;
    state.edits = (saved.document && saved.document.edits) || doc.edits;
    state.unlocked = false;
    setDirty(false);
    if (isNew) window.history.replaceState(null, "", `/scenarios/${saved.id}/`);
    renderScenario();
    renderRuns();
    message(sc && isNew ? `Saved as a new version (#${saved.id}); the run version stays as it was.` : "Saved.", "notice");
    root.dataset.state = "saved";
    return saved;
  } catch (error) {
    root.dataset.state = "error";
    if (error instanceof ApiError && error.errors) {
      const unplaced = showErrors(flattenErrors(error.errors));
      message([error.message, ...unplaced].join(" "));
    } else {
      message(error.message);
    }
    return null;
  } finally {
    state.busy = false;
  }
}

async function run() {
  let sc = state.scenario;
  if (!readOnly() && (!sc || state.dirty || state.unlocked)) sc = await save();
  if (!sc) return;
  root.dataset.state = "queueing";
  try {
    const queued = await sendJSON("POST", `${config.api.scenarios}${sc.id}/runs/`);
    window.location.assign(`/runs/${queued.id}/`);
  } catch (error) {
    root.dataset.state = "error";
    message(`The run was not queued: ${error.message}`);
  }
}

async function duplicate() {
  try {
    const copy = await sendJSON("POST", `${config.api.scenarios}${state.scenario.id}/duplicate/`);
    window.location.assign(`/scenarios/${copy.id}/`);
  } catch (error) {
    message(`Could not duplicate: ${error.message}`);
  }
}

function addDemandEdit() {
  const factor = Number($("sc-ds-factor").value);
  const district = $("sc-ds-district").value;
  const edit = { type: "demand_scale", factor };
  if (district) {
    edit.district = Number(district);
    edit.direction = $("sc-ds-direction").value;
  }
  state.edits.push(edit);
  setDirty(true);
  renderEdits();
}

/** The fleet's electric share: one ev_share edit, replacing an earlier one. */
function setEvShare() {
  const share = Math.min(Math.max(Number($("sc-ev-share").value) / 100, 0), 1);
  state.edits = state.edits.filter((e) => e.type !== "ev_share");
  state.edits.push({ type: "ev_share", share });
  setDirty(true);
  renderEdits();
}

function fillSelects(scenarios) {
  const network = $("sc-network");
  config.networks.forEach((n) => network.append(new Option(n.label, n.name)));
  const base = $("sc-base");
  scenarios
    .filter((s) => !config.scenario_id || s.id !== config.scenario_id)
    .forEach((s) => base.append(new Option(`${s.name}${s.version ? ` (v${s.version})` : ""} · #${s.id}`, String(s.id))));
}

function boundsOf(name) {
  const network = config.networks.find((n) => n.name === name);
  return network ? network.bounds : config.networks[0] && config.networks[0].bounds;
}

async function loadDistricts() {
  const features = await getAll(`${config.api.districts}?limit=1000`, 5).catch(() => []);
  const select = $("sc-ds-district");
  features
    .map((f) => ({ id: f.id, name: f.properties.name || f.properties.code || `district ${f.id}` }))
    .sort((a, b) => a.name.localeCompare(b.name))
    .forEach((d) => {
      districts.set(Number(d.id), d.name);
      select.append(new Option(d.name, String(d.id)));
    });
}

async function init() {
  const [scenarios, scenario] = await Promise.all([
    getAll(`${config.api.scenarios}?limit=200`, 1).catch(() => []),
    config.scenario_id ? getJSON(`${config.api.scenarios}${config.scenario_id}/`) : Promise.resolve(null),
    loadDistricts(),
  ]);
  fillSelects(scenarios);
  const start = scenario ? { ...scenario.document, base: scenario.base ?? scenario.document.base } : { ...config.defaults };
  if (!scenario && config.base) start.base = config.base;
  fillForm(start);
  state.scenario = scenario;
  state.edits = (scenario && scenario.document.edits) || [];
  renderScenario();
  renderRuns();
  // Names of the edited roads, for the lists (one request each, cached).
  const ids = [...new Set(state.edits.filter((e) => SEGMENT_EDITS.has(e.type)).map((e) => e.segment))];

  try {
    map = await createMap($("sc-map"), boundsOf(start.network));
    mapEditor = editorMap(map, { segments, onAction: applyAction, editsOf, onRemove: removeEdit, isReadOnly: readOnly });
    window.scenarioMap = map;
  } catch (error) {
    $("sc-map-message").textContent = error.message;
    $("sc-map-message").hidden = false;
  }
  await Promise.all(ids.map((id) => (mapEditor ? mapEditor.segment(id) : Promise.resolve()).catch(() => null)));
  renderEdits();
  root.dataset.state = "ready";
}

$("sc-form").addEventListener("submit", (event) => {
  event.preventDefault();
  if (!state.busy) save();
});
// The "add a district's demand" inputs are not part of the document until "Add" is pressed.
const draftOnly = (target) => target.id && target.id.startsWith("sc-ds-");
$("sc-form").addEventListener("input", (event) => draftOnly(event.target) || setDirty(true));
$("sc-form").addEventListener("change", (event) => {
  if (!draftOnly(event.target)) setDirty(true);
  if (event.target.name === "demand_source") showDemandSource();
  if (event.target.id === "sc-network" && map) map.fitBounds(boundsOf(event.target.value), { padding: 30 });
});
$("sc-run").addEventListener("click", () => !state.busy && run());
$("sc-duplicate").addEventListener("click", duplicate);
$("sc-ds-add").addEventListener("click", addDemandEdit);
$("sc-ev-add").addEventListener("click", setEvShare);
$("sc-unlock").addEventListener("click", () => {
  state.unlocked = true;
  renderScenario();
  $("sc-name").focus();
});

init().catch((error) => {
  root.dataset.state = "error";
  message(error instanceof ApiError && error.status === 404 ? "No such scenario." : `The scenario could not be loaded: ${error.message}`);
});
