/*
 * "Compare with": which finished run the difference layer is taken against. The base scenario's newest
 * finished run is chosen by itself; when the base has none yet, the planner can run it from here and the
 * difference appears when it ends (its progress is shown meanwhile).
 */
import { el, getAll, getJSON, sendJSON } from "./api.js";
import { FINAL } from "./run-progress.js";

const $ = (id) => document.getElementById(id);
const POLL_MS = 2500;
const scenarioOf = (run) => (run.scenario && typeof run.scenario === "object" ? run.scenario.id : run.scenario);

export function compareControl({ run, scenario, api, onChoose }) {
  const base = scenario ? scenario.base ?? (scenario.document || {}).base ?? null : null;
  const select = $("diff-against");
  const names = new Map();

  function label(candidate) {
    const sid = scenarioOf(candidate);
    const name = candidate.scenario_name || names.get(sid) || `scenario #${sid}`;
    const seeds = Array.isArray(candidate.seeds) ? ` · ${candidate.seeds.length} seed${candidate.seeds.length === 1 ? "" : "s"}` : "";
    return `${name} · run #${candidate.id}${seeds}`;
  }

  function fill(candidates) {
    const chosen = select.value;
    select.replaceChildren(new Option("No comparison", ""));
    const ofBase = candidates.filter((c) => base && scenarioOf(c) === base);
    const others = candidates.filter((c) => !ofBase.includes(c));
    [["Base scenario", ofBase], ["Other finished runs", others]].forEach(([title, list]) => {
      if (!list.length) return;
      const group = el("optgroup");
      group.label = title;
      list.forEach((c) => group.append(new Option(label(c), String(c.id))));
      select.append(group);
    });
    if (chosen && candidates.some((c) => String(c.id) === chosen)) select.value = chosen;
    return ofBase;
  }

  async function followBaseRun(baseRun) {
    $("diff-run-base").hidden = true;
    $("diff-base-progress-box").hidden = false;
    $("diff-note").textContent = `The base scenario is running (run #${baseRun.id}); the difference appears when it ends.`;
    let current = baseRun;
    while (!FINAL.has(current.state)) {
      $("diff-base-progress").value = Number(current.progress || 0);
      $("diff-base-percent").textContent = `${Math.round(Number(current.progress || 0))} %`;
      await new Promise((resolve) => window.setTimeout(resolve, POLL_MS));
      current = await getJSON(`${api.runs}${current.id}/`).catch(() => current);
    }
    $("diff-base-progress-box").hidden = true;
    if (current.state !== "succeeded") {
      $("diff-note").textContent = `The base run #${current.id} ${current.state}${current.error ? `: ${current.error}` : ""}.`;
      $("diff-run-base").hidden = false;
      return;
    }
    await load();
  }

  async function load() {
    const runs = await getAll(`${api.runs}?limit=500`, 1);
    if (scenario) names.set(scenario.id, scenario.name);
    runs.forEach((c) => c.scenario_name && names.set(scenarioOf(c), c.scenario_name));
    if (base && !names.has(base)) {
      const baseScenario = await getJSON(`${api.scenarios}${base}/`).catch(() => null);
      if (baseScenario) names.set(base, baseScenario.name);
    }
    const finished = runs.filter((c) => c.state === "succeeded" && c.id !== run.id);
    finished.sort((a, b) => b.id - a.id);
    const ofBase = fill(finished);
    $("diff-box").hidden = false;
    if (!base) {
      $("diff-note").textContent = finished.length ? "" : "No other finished run to compare with yet.";
    } else if (ofBase.length) {
      $("diff-note").textContent = `Against the base scenario "${names.get(base) || `#${base}`}".`;
      if (!select.value) {
        select.value = String(ofBase[0].id);
        onChoose(ofBase[0].id);
      }
      return;
    } else {
      const pending = runs.filter((c) => scenarioOf(c) === base && !FINAL.has(c.state)).sort((a, b) => b.id - a.id);
      if (pending.length) {
        followBaseRun(pending[0]);
        return;
      }
      $("diff-note").textContent = `The base scenario "${names.get(base) || `#${base}`}" has no finished run yet.`;
      $("diff-run-base").hidden = false;
    }
  }

  select.addEventListener("change", () => onChoose(select.value ? Number(select.value) : null));
  $("diff-run-base").addEventListener("click", async () => {
    $("diff-run-base").disabled = true;
    try {
      const queued = await sendJSON("POST", `${api.scenarios}${base}/runs/`);
      await followBaseRun({ ...queued, progress: 0 });
    } catch (error) {
      $("diff-note").textContent = `The base run was not queued: ${error.message}`;
    } finally {
      $("diff-run-base").disabled = false;
    }
  });

  return { load };
}
