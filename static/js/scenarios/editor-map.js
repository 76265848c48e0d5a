/*
 * The editor's map: the network's roads from the tiles, the scenario's edited segments drawn over them
 * (closed in red, changed in purple), and the road panel a click opens: the segment's name, class, lanes
 * and speed from /api/road-segments/<id>/, with the actions that become edits. A stored street is one
 * segment per direction, so the panel finds the opposite segment and offers to edit both at once.
 */
import { getJSON, el, formatNumber } from "./api.js";
import { ROAD_WIDTH, hitBox, pointerOver } from "./basemap.js";

const $ = (id) => document.getElementById(id);
const CLICKABLE = ["roads-base", "edit-closed", "edit-changed"];

function overlay(id, filterIds, paint) {
  return {
    id,
    type: "line",
    source: "roads",
    "source-layer": "roads",
    filter: ["in", ["id"], ["literal", filterIds]],
    layout: { "line-cap": "round", "line-join": "round" },
    paint: { "line-width": ROAD_WIDTH, ...paint },
  };
}

/**
 * Wire the map of the editor. `segments` is the shared cache id -> segment properties; `onAction(action)`
 * receives {type: "close_segment"|"speed_limit"|"lanes", segments: [ids], kmh?, lanes?};
 * `editsOf(id)` lists [text, index] of the edits touching a segment; `onRemove(index)` removes one.
 */
export function editorMap(map, { segments, onAction, editsOf, onRemove, isReadOnly }) {
  map.addLayer(overlay("edit-changed", [], { "line-color": "#8e44c9", "line-opacity": 0.9 }));
  map.addLayer(overlay("edit-closed", [], { "line-color": "#d92d20", "line-dasharray": [1.2, 0.8] }));
  map.addLayer(
    overlay("selected", [], { "line-color": "#2563eb", "line-opacity": 0.45, "line-gap-width": 2, "line-width": 4 }),
  );
  pointerOver(map, CLICKABLE);

  let current = null; // {id, reverse}

  async function segment(id) {
    if (!segments.has(id)) {
      const feature = await getJSON(`/api/road-segments/${id}/`);
      segments.set(id, { id, ...feature.properties });
    }
    return segments.get(id);
  }

  async function reverseOf(info) {
    if (!info.from_node || !info.to_node || info.oneway === true) return null;
    const url = `/api/road-segments/?from_node=${info.to_node}&to_node=${info.from_node}&limit=5`;
    const found = await getJSON(url).catch(() => null);
    const feature = found && found.features && found.features[0];
    if (!feature) return null;
    segments.set(feature.id, { id: feature.id, ...feature.properties });
    return feature.id;
  }

  function fact(list, term, value) {
    if (value === null || value === undefined || value === "") return;
    list.append(el("dt", null, term), el("dd", null, value));
  }

  function renderPanel() {
    if (!current) return;
    const info = segments.get(current.id) || { id: current.id };
    $("seg-name").textContent = info.name || `Unnamed ${info.highway || "road"}`;
    $("seg-sub").textContent = `Segment ${current.id}${info.source_id ? ` · ${info.source_id}` : ""}`;
    const facts = $("seg-facts");
    facts.replaceChildren();
    fact(facts, "Class", info.highway);
    fact(facts, "Lanes", info.lanes ?? "not given");
    fact(facts, "Speed limit", info.maxspeed_kmh ? `${formatNumber(info.maxspeed_kmh, 0)} km/h` : "not given");
    fact(facts, "Length", info.length_m ? `${formatNumber(info.length_m, 0)} m` : null);
    fact(facts, "Direction", info.oneway ? "one-way" : "one of two directions");
    $("seg-both").closest("label").hidden = !current.reverse;
    $("seg-both-text").textContent = current.reverse ? `Both directions (also segment ${current.reverse})` : "";
    $("seg-actions").hidden = isReadOnly();
    if (info.maxspeed_kmh) $("seg-speed").value = String(Math.max(5, Math.round(info.maxspeed_kmh / 2 / 5) * 5 || 30));
    if (info.lanes) $("seg-lanes").value = String(Math.max(1, info.lanes - 1));
    const list = $("seg-edits");
    list.replaceChildren();
    for (const id of [current.id, current.reverse].filter(Boolean)) {
      for (const [text, index] of editsOf(id)) {
        const item = el("li", "sc-edit");
        item.append(el("span", "sc-edit-text", text));
        if (!isReadOnly()) {
          const remove = el("button", "sc-remove", "×");
          remove.type = "button";
          remove.setAttribute("aria-label", `Remove: ${text}`);
          remove.addEventListener("click", () => onRemove(index));
          item.append(remove);
        }
        list.append(item);
      }
    }
    $("seg-panel").hidden = false;
    $("seg-panel").dataset.segment = String(current.id);
  }

  async function select(id) {
    current = { id, reverse: null };
    map.setFilter("selected", ["in", ["id"], ["literal", [id]]]);
    renderPanel();
    try {
      const info = await segment(id);
      const reverse = await reverseOf(info);
      if (current && current.id === id) {
        current.reverse = reverse;
        map.setFilter("selected", ["in", ["id"], ["literal", [id, reverse].filter(Boolean)]]);
        renderPanel();
      }
    } catch (error) {
      $("seg-sub").textContent = `Segment ${id}: ${error.message}`;
    }
  }

  function dismiss() {
    current = null;
    $("seg-panel").hidden = true;
    map.setFilter("selected", ["in", ["id"], ["literal", []]]);
  }

  map.on("click", (event) => {
    const features = map.queryRenderedFeatures(hitBox(event.point), { layers: CLICKABLE });
    const hit = features.find((f) => f.id !== undefined && f.id !== null);
    if (hit) select(Number(hit.id));
    else dismiss();
  });

  function targets() {
    const ids = [current.id];
    if (current.reverse && $("seg-both").checked) ids.push(current.reverse);
    return ids;
  }

  $("seg-dismiss").addEventListener("click", dismiss);
  $("seg-close").addEventListener("click", () => onAction({ type: "close_segment", segments: targets() }));
  $("seg-speed-set").addEventListener("click", () =>
    onAction({ type: "speed_limit", segments: targets(), kmh: Number($("seg-speed").value) }),
  );
  $("seg-lanes-set").addEventListener("click", () =>
    onAction({ type: "lanes", segments: targets(), lanes: Number($("seg-lanes").value) }),
  );
  // a charger stands on one side of the road: the clicked direction only
  $("seg-charger-add").addEventListener("click", () =>
    onAction({ type: "add_charging_station", segments: [current.id], power_kw: Number($("seg-charger").value) }),
  );

  return {
    /** Redraw the edited segments and the open panel after the edits changed. */
    refresh(edits) {
      const closed = edits.filter((e) => e.type === "close_segment").map((e) => e.segment);
      const changed = edits.filter((e) => e.type === "speed_limit" || e.type === "lanes").map((e) => e.segment);
      map.setFilter("edit-closed", ["in", ["id"], ["literal", closed]]);
      map.setFilter("edit-changed", ["in", ["id"], ["literal", changed]]);
      renderPanel();
    },
    segment,
  };
}
