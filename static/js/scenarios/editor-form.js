/*
 * The editor's side panel as a scenario document and back: fill the fields from a stored document, read
 * them into one (times of day -> seconds, "1, 2, 3" -> [1, 2, 3]), and show the API's field errors next to
 * their fields. Fields carry data-field="demand.period" etc., the path of the value in the document, so an
 * error from the server finds its field without a table here. Validation is the server's; the page only
 * refuses what it cannot even put into the document (a seed that is not a whole number).
 */
import { clock, el, secondsOf } from "./api.js";

const $ = (id) => document.getElementById(id);
export const DAY = 86400;

function setValue(id, value) {
  if (value !== undefined && value !== null) $(id).value = String(value);
}

export function demandSource() {
  const checked = document.querySelector("input[name=demand_source]:checked");
  return checked ? checked.value : "random";
}

export function showDemandSource() {
  const source = demandSource();
  $("sc-demand-random").hidden = source !== "random";
  $("sc-demand-counts").hidden = source !== "counts";
}

export function fillForm(doc) {
  setValue("sc-name", doc.name);
  setValue("sc-network", doc.network);
  setValue("sc-base", doc.base ?? "");
  $("sc-begin").value = clock(doc.begin ?? 25200).slice(0, 5);
  $("sc-end").value = clock((doc.end ?? 32400) % DAY).slice(0, 5);
  const interval = String(doc.interval ?? 900);
  const select = $("sc-interval");
  if (![...select.options].some((o) => o.value === interval)) {
    select.append(new Option(`${Number(interval) / 60} min`, interval));
  }
  select.value = interval;
  const demand = doc.demand || {};
  const source = demand.source === "counts" ? "counts" : "random";
  document.querySelector(`input[name=demand_source][value=${source}]`).checked = true;
  setValue("sc-period", demand.period);
  setValue("sc-demand-seed", demand.seed);
  setValue("sc-fringe", demand.fringe_factor);
  setValue("sc-date", demand.date);
  setValue("sc-scale", demand.scale ?? 1);
  $("sc-seeds").value = (doc.seeds || [1]).join(", ");
  showDemandSource();
}

function number(id) {
  const raw = $(id).value.trim();
  return raw === "" ? null : Number(raw);
}

/**
 * The document the fields describe (without edits) and the errors found before any request:
 * {doc, errors} with errors keyed by field path.
 */
export function readForm() {
  const errors = {};
  const begin = secondsOf($("sc-begin").value);
  let end = secondsOf($("sc-end").value);
  if (Number.isNaN(begin)) errors.begin = ["Give the time of day the simulation starts."];
  if (Number.isNaN(end)) errors.end = ["Give the time of day the simulation ends."];
  if (end === 0 && begin > 0) end = DAY; // "00:00" as the end is the end of the day
  const seeds = [];
  const seedText = $("sc-seeds").value.trim();
  for (const part of seedText.split(/[\s,;]+/).filter(Boolean)) {
    if (!/^-?\d+$/.test(part)) {
      errors.seeds = [`"${part.slice(0, 20)}" is not a whole number; give seeds like 1, 2, 3.`];
      break;
    }
    seeds.push(Number(part));
  }
  const source = demandSource();
  const demand = { source, scale: number("sc-scale") ?? 1 };
  if (source === "random") {
    demand.period = number("sc-period");
    demand.seed = number("sc-demand-seed");
    demand.fringe_factor = number("sc-fringe");
    Object.keys(demand).forEach((k) => demand[k] === null && delete demand[k]);
  } else {
    demand.date = $("sc-date").value || null;
  }
  const doc = {
    name: $("sc-name").value.trim(),
    network: $("sc-network").value,
    begin: Number.isNaN(begin) ? null : begin,
    end: Number.isNaN(end) ? null : end,
    interval: Number($("sc-interval").value),
    demand,
    seeds,
  };
  const base = $("sc-base").value;
  if (base) doc.base = Number(base);
  return { doc, errors };
}

export function clearErrors() {
  document.querySelectorAll("#sc-form [data-field]").forEach((node) => node.classList.remove("sc-invalid"));
  document.querySelectorAll("#sc-form .sc-error").forEach((node) => {
    node.textContent = "";
  });
  document.querySelectorAll("#sc-form [aria-invalid]").forEach((node) => node.removeAttribute("aria-invalid"));
}

/** Where an error for `path` is shown: the field itself, else its nearest shown parent ("demand"). */
function errorSlot(path) {
  const parts = path.split(".");
  while (parts.length) {
    const name = parts.join(".");
    const slot = document.querySelector(`#sc-form [data-field-error="${CSS.escape(name)}"]`);
    const field = document.querySelector(`#sc-form [data-field="${CSS.escape(name)}"]`);
    if (field && !field.hidden && field.offsetParent !== null) {
      return { field, slot: field.querySelector(":scope > .sc-error") || slot };
    }
    if (slot) return { field: null, slot };
    parts.pop();
  }
  return null;
}

/** Put each message next to its field; returns the messages that found no field (for the summary). */
export function showErrors(flat) {
  const unplaced = [];
  Object.entries(flat).forEach(([path, messages]) => {
    const place = path === "_" ? null : errorSlot(path);
    const text = messages.join(" ");
    if (!place || !place.slot) {
      unplaced.push(path === "_" ? text : `${path}: ${text}`);
      return;
    }
    if (place.field) {
      place.field.classList.add("sc-invalid");
      const input = place.field.querySelector("input, select");
      if (input) input.setAttribute("aria-invalid", "true");
    }
    place.slot.textContent = place.slot.textContent ? `${place.slot.textContent} ${text}` : text;
  });
  return unplaced;
}

const DIRECTIONS = { from: "from", to: "to", both: "from and to" };

/** A planner's sentence for one edit; `segment(id)` and `district(id)` give names when known. */
export function describeEdit(edit, segment, district) {
  const road = () => {
    const info = segment(edit.segment);
    const name = info && info.name ? info.name : info && info.highway ? `a ${info.highway} road` : "road";
    return `${name} (segment ${edit.segment})`;
  };
  switch (edit.type) {
    case "close_segment":
      return `Close ${road()}`;
    case "speed_limit":
      return `Speed limit ${edit.kmh} km/h on ${road()}`;
    case "lanes":
      return `${edit.lanes} lane${edit.lanes === 1 ? "" : "s"} on ${road()}`;
    case "demand_scale": {
      const factor = `×${edit.factor}`;
      if (edit.district === undefined || edit.district === null) return `Demand ${factor}, whole city`;
      return `Demand ${factor} for trips ${DIRECTIONS[edit.direction || "both"]} ${district(edit.district)}`;
    }
    case "ev_share":
      return `Electric cars: ${Math.round(edit.share * 100)} % of the fleet`;
    case "add_charging_station":
      return `New charger, ${edit.power_kw ?? 22} kW × ${edit.points ?? 2}, on ${road()}`;
    default:
      return `${edit.type} ${JSON.stringify(edit)}`;
  }
}

/** One removable line of the edits list, keyed by the edit's index in the document (for its errors). */
export function editItem(text, index, onRemove, readOnly) {
  const item = el("li", "sc-edit");
  item.dataset.field = `edits.${index}`;
  item.appendChild(el("span", "sc-edit-text", text));
  if (!readOnly) {
    const remove = el("button", "sc-remove", "×");
    remove.type = "button";
    remove.setAttribute("aria-label", `Remove: ${text}`);
    remove.addEventListener("click", () => onRemove(index));
    item.appendChild(remove);
  }
  item.appendChild(el("p", "sc-error"));
  return item;
}
