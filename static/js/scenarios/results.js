/*
 * The run page's map layers: the run's per-segment results, the difference against another run, and the
 * calibration detectors (circles coloured by GEH), each a GeoJSON source the page fills from the API; and
 * the popup a click opens with the segment's or the detector's numbers (unless an energy layer claims the
 * click). A street is one segment per direction, so lines are drawn offset to their right: both directions
 * stay visible.
 */
import { clock, el, formatNumber } from "./api.js";
import { byZoom, hitBox, pointerOver } from "./basemap.js";
import { GEH_COLOUR } from "./colours.js";

const EMPTY = { type: "FeatureCollection", features: [] };
const WIDTH = byZoom([11, 1.2, 15, 3.5, 19, 14]);
const OFFSET = byZoom([11, 0.6, 15, 1.8, 19, 7]);
const LINES = ["res-lines", "diff-lines"];

function lineLayer(id, source) {
  return {
    id,
    type: "line",
    source,
    layout: { "line-cap": "round", "line-join": "round", visibility: id === "res-lines" ? "visible" : "none" },
    paint: { "line-color": "#9aa0a8", "line-width": WIDTH, "line-offset": OFFSET },
  };
}

function table(rows) {
  const t = el("table", "feature-popup-table");
  const body = el("tbody");
  rows
    .filter(([, value]) => value !== undefined)
    .forEach(([label, value]) => {
      const tr = el("tr");
      tr.append(el("th", null, label), el("td", null, value));
      body.append(tr);
    });
  t.append(body);
  return t;
}

const signed = (v, digits = 0) => (v === null || v === undefined ? "–" : `${v > 0 ? "+" : ""}${formatNumber(v, digits)}`);

function resultRows(p) {
  return [
    ["Flow", `${formatNumber(p.flow_veh_h, 0)} veh/h`],
    ["Mean speed", `${formatNumber(p.speed_kmh, 1)} km/h`],
    ["Travel time", `${formatNumber(p.travel_time_s, 1)} s`],
    ["Waiting", `${formatNumber(p.waiting_time_s, 1)} s`],
    ["Density", `${formatNumber(p.density, 1)} veh/km`],
  ];
}

function differenceRows(p) {
  return [
    ["Flow", `${formatNumber(p.flow_base, 0)} → ${formatNumber(p.flow_veh_h, 0)} veh/h`],
    ["Flow change", `${signed(p.flow_diff)} veh/h (${signed(p.flow_pct, 1)} %)`],
    ["Speed", `${formatNumber(p.speed_base, 1)} → ${formatNumber(p.speed_kmh, 1)} km/h`],
    ["Speed change", `${signed(p.speed_diff, 1)} km/h (${signed(p.speed_pct, 1)} %)`],
  ];
}

function detectorRows(p) {
  const rows = [["Detector-hours", String(p.hours.length)], ["Mean GEH", formatNumber(p.geh, 2)]];
  return rows.concat(
    p.hours.map((h) => [Number.isFinite(h.hour) ? clock(h.hour) : String(h.hour), `obs ${formatNumber(h.observed, 0)} · sim ${formatNumber(h.simulated, 0)} · GEH ${formatNumber(h.geh, 2)}`]),
  );
}

/** Detector rows (one per detector and hour) as one point per detector, coloured by its mean GEH. */
export function detectorFeatures(rows) {
  const bySensor = new Map();
  rows.forEach((row) => {
    if (!Number.isFinite(row.lon) || !Number.isFinite(row.lat)) return;
    const entry = bySensor.get(row.sensor) || { row, hours: [] };
    entry.hours.push({ hour: row.hour, observed: row.observed, simulated: row.simulated, geh: row.geh });
    bySensor.set(row.sensor, entry);
  });
  return [...bySensor.values()].map(({ row, hours }) => ({
    type: "Feature",
    geometry: { type: "Point", coordinates: [row.lon, row.lat] },
    properties: {
      sensor: row.sensor,
      code: row.code,
      geh: hours.reduce((sum, h) => sum + Number(h.geh || 0), 0) / hours.length,
      hours: JSON.stringify(hours),
    },
  }));
}

/** `claim(event)`: another layer's handler (the energy layers) that may take a click first (true: taken). */
export function resultsMap(map, { segmentName, claim = () => false }) {
  map.addSource("results", { type: "geojson", data: EMPTY });
  map.addSource("difference", { type: "geojson", data: EMPTY });
  map.addSource("detectors", { type: "geojson", data: EMPTY });
  map.setPaintProperty("roads-base", "line-color", "#dde1e7");
  map.addLayer(lineLayer("res-lines", "results"));
  map.addLayer(lineLayer("diff-lines", "difference"));
  map.addLayer({
    id: "cal-points",
    type: "circle",
    source: "detectors",
    paint: {
      "circle-color": GEH_COLOUR,
      "circle-radius": byZoom([11, 4, 16, 8, 19, 12]),
      "circle-stroke-color": "#ffffff",
      "circle-stroke-width": 1.5,
    },
  });
  pointerOver(map, [...LINES, "cal-points"]);

  const popup = new window.maplibregl.Popup({ closeOnClick: false, maxWidth: "340px", className: "citytwin-popup" });

  map.on("click", (event) => {
    if (claim(event)) {
      popup.remove();
      return;
    }
    const layers = ["cal-points", ...LINES].filter((id) => map.getLayoutProperty(id, "visibility") !== "none");
    const [feature] = map.queryRenderedFeatures(hitBox(event.point), { layers });
    if (!feature) {
      popup.remove();
      return;
    }
    const p = feature.properties;
    const root = el("div", "feature-popup sc-popup");
    root.dataset.kind = feature.layer.id;
    if (feature.layer.id === "cal-points") {
      root.append(el("h3", "feature-popup-title", `Detector ${p.code || p.sensor}`));
      root.append(table(detectorRows({ ...p, hours: JSON.parse(p.hours || "[]") })));
    } else {
      const title = el("h3", "feature-popup-title", p.name ? `${p.name} (segment ${p.segment})` : `Segment ${p.segment}`);
      root.append(title);
      if (!p.name) {
        segmentName(p.segment).then((name) => {
          if (name) title.textContent = `${name} (segment ${p.segment})`;
        });
      }
      root.append(table(feature.layer.id === "res-lines" ? resultRows(p) : differenceRows(p)));
    }
    popup.setLngLat(event.lngLat).setDOMContent(root).addTo(map);
  });

  return {
    showResults(collection, scale) {
      map.getSource("results").setData(collection);
      map.setPaintProperty("res-lines", "line-color", scale.expression);
    },
    recolourResults(scale) {
      map.setPaintProperty("res-lines", "line-color", scale.expression);
    },
    showDifference(collection, scale) {
      map.getSource("difference").setData(collection);
      map.setPaintProperty("diff-lines", "line-color", scale.expression);
    },
    recolourDifference(scale) {
      map.setPaintProperty("diff-lines", "line-color", scale.expression);
    },
    setView(view) {
      map.setLayoutProperty("res-lines", "visibility", view === "results" ? "visible" : "none");
      map.setLayoutProperty("diff-lines", "visibility", view === "difference" ? "visible" : "none");
      popup.remove();
    },
    showDetectors(features, visible) {
      map.getSource("detectors").setData({ type: "FeatureCollection", features });
      map.setLayoutProperty("cal-points", "visibility", visible ? "visible" : "none");
    },
    renderedCount(layer) {
      return map.queryRenderedFeatures({ layers: [layer] }).length;
    },
  };
}
