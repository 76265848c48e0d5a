/*
 * The scenarios list (/scenarios/): one page of GET /api/scenarios/ at a time (the page number is in the
 * URL's ?page=, so back and reload keep it), each scenario with its runs and their states, and the actions
 * open and duplicate. Everything is written with textContent: names come from users.
 */
import { el, getAll, getJSON, readConfig, sendJSON } from "./api.js";

const $ = (id) => document.getElementById(id);
const config = readConfig("scenarios-config");
const root = $("scenario-list");
const PAGE_SIZE = config.page_size || 20;
const scenarioOf = (run) => (run.scenario && typeof run.scenario === "object" ? run.scenario.id : run.scenario);

function pageNumber() {
  const page = Number(new URLSearchParams(window.location.search).get("page") || 1);
  return Number.isInteger(page) && page > 0 ? page : 1;
}

function message(text) {
  $("sc-list-message").textContent = text;
  $("sc-list-message").hidden = !text;
}

function runsCell(runs) {
  const cell = el("td", "sc-runs-cell");
  if (!runs.length) {
    cell.append(el("span", "muted", "not run"));
    return cell;
  }
  runs.slice(0, 4).forEach((run) => {
    const link = el("a", "sc-run-link");
    link.href = `/runs/${run.id}/`;
    link.append(`#${run.id} `, el("span", `badge ${run.state}`, run.state));
    cell.append(link);
  });
  if (runs.length > 4) cell.append(el("span", "muted", ` +${runs.length - 4} more`));
  return cell;
}

async function duplicate(scenario, button) {
  button.disabled = true;
  try {
    const copy = await sendJSON("POST", `${config.api.scenarios}${scenario.id}/duplicate/`);
    window.location.assign(`/scenarios/${copy.id}/`);
  } catch (error) {
    message(`Could not duplicate "${scenario.name}": ${error.message}`);
    button.disabled = false;
  }
}

function row(scenario, runs) {
  const doc = scenario.document || {};
  const tr = el("tr");
  tr.dataset.scenario = String(scenario.id);
  const name = el("td");
  const link = el("a", null, scenario.name);
  link.href = `/scenarios/${scenario.id}/`;
  name.append(link);
  if (scenario.locked) name.append(" ", el("span", "badge sc-badge-locked", "run, locked"));
  const edits = Array.isArray(doc.edits) ? doc.edits.length : scenario.edits_count ?? "–";
  const created = scenario.created_at ? new Date(scenario.created_at).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" }) : "–";
  tr.append(
    name,
    el("td", null, scenario.version ? `v${scenario.version}` : "–"),
    el("td", null, doc.network || scenario.network || "–"),
    el("td", "num", String(edits)),
    runsCell(runs),
    el("td", null, created),
  );
  const actions = el("td", "sc-row-actions");
  const open = el("a", "button button-small button-secondary", "Open");
  open.href = `/scenarios/${scenario.id}/`;
  const copy = el("button", "button button-small button-secondary", "Duplicate");
  copy.type = "button";
  copy.addEventListener("click", () => duplicate(scenario, copy));
  actions.append(open, " ", copy);
  tr.append(actions);
  return tr;
}

async function runsOf(scenarios) {
  // The list's own runs when the API embeds them; else one read of the recent runs, grouped here.
  if (scenarios.every((s) => Array.isArray(s.runs))) return new Map(scenarios.map((s) => [s.id, s.runs]));
  const runs = await getAll(`${config.api.runs}?limit=1000`, 1).catch(() => []);
  const grouped = new Map();
  runs.forEach((run) => {
    const id = scenarioOf(run);
    grouped.set(id, [...(grouped.get(id) || []), run]);
  });
  grouped.forEach((list) => list.sort((a, b) => b.id - a.id));
  return grouped;
}

async function load() {
  const page = pageNumber();
  const body = await getJSON(`${config.api.scenarios}?limit=${PAGE_SIZE}&offset=${(page - 1) * PAGE_SIZE}`);
  const scenarios = Array.isArray(body) ? body : body.results || [];
  const count = Array.isArray(body) ? scenarios.length : body.count ?? scenarios.length;
  const runs = await runsOf(scenarios);
  const rows = $("sc-rows");
  rows.replaceChildren();
  if (!scenarios.length) {
    const empty = el("td", "muted", page > 1 ? "No scenarios on this page." : "No scenarios yet. Start with “New scenario”.");
    empty.colSpan = 7;
    const tr = el("tr");
    tr.append(empty);
    rows.append(tr);
  }
  scenarios.forEach((scenario) => rows.append(row(scenario, runs.get(scenario.id) || [])));
  const first = count ? (page - 1) * PAGE_SIZE + 1 : 0;
  $("sc-list-summary").textContent = `${first}–${(page - 1) * PAGE_SIZE + scenarios.length} of ${count}`;
  $("sc-prev").disabled = page <= 1;
  $("sc-next").disabled = Array.isArray(body) ? true : !body.next;
  root.dataset.count = String(count);
  root.dataset.state = "ready";
}

function go(delta) {
  const params = new URLSearchParams(window.location.search);
  params.set("page", String(pageNumber() + delta));
  window.location.search = params.toString();
}

$("sc-prev").addEventListener("click", () => go(-1));
$("sc-next").addEventListener("click", () => go(1));
load().catch((error) => {
  root.dataset.state = "error";
  message(`The scenarios could not be loaded: ${error.message}`);
});
