/*
 * The run page's energy layers on the results map: emissions per segment (a line layer on the results
 * source, so it follows the time slider), charging stations as circles sized and coloured by the energy
 * they delivered, and the grid's substations coloured by their peak loading over their service areas
 * (translucent polygons). A click on a charger opens a popup; a click on a substation is handed to the
 * page (`onSubstation`), which opens its loading panel. Each layer is off until the planner turns it on.
 */
import { el, formatNumber } from "./api.js";
import { byZoom, hitBox, pointerOver } from "./basemap.js";
import { LOADING_COLOUR } from "./colours.js";

const EMPTY = { type: "FeatureCollection", features: [] };
const WIDTH = byZoom([11, 1.6, 15, 4.5, 19, 16]);
const OFFSET = byZoom([11, 0.6, 15, 1.8, 19, 7]);
export const ENERGY_LAYERS = {
  emissions: ["en-emissions"],
  chargers: ["en-chargers"],
  substations: ["en-areas", "en-areas-outline", "en-substations", "en-selected"],
};
const CLICKABLE = ["en-substations", "en-chargers"];

function table(rows) {
  const t = el("table", "feature-popup-table");
  const body = el("tbody");
  rows.forEach(([label, value]) => {
    const tr = el("tr");
    tr.append(el("th", null, label), el("td", null, value));
    body.append(tr);
  });
  t.append(body);
  return t;
}

/** The chargers' circles: area grows with energy (sqrt), so a station with 4x the kWh looks 4x as big. */
function chargerPaint(maxKwh) {
  const top = Math.max(maxKwh, 1);
  const energy = ["to-number", ["get", "energy_kwh"]];
  return {
    "circle-radius": ["interpolate", ["linear"], ["sqrt", energy], 0, 5, Math.sqrt(top), 18],
    "circle-color": ["interpolate", ["linear"], energy, 0, "#bfdbfe", top / 2, "#3b82f6", top, "#1e3a8a"],
    "circle-stroke-color": ["case", ["==", ["get", "placed"], false], "#dc2626", "#ffffff"],
    "circle-stroke-width": 2,
    "circle-opacity": 0.9,
  };
}

/** Substations' service areas as their own features (MapLibre cannot draw a geometry nested in properties). */
function areaFeatures(substations) {
  return substations
    .filter((f) => f.properties.area)
    .map((f) => ({
      type: "Feature",
      geometry: f.properties.area,
      properties: { key: f.properties.key, peak_loading_pct: f.properties.peak_loading_pct },
    }));
}

function pointFeatures(substations) {
  return substations.map((f) => {
    const { area, series, ...rest } = f.properties;
    return { type: "Feature", geometry: f.geometry, properties: rest };
  });
}

function chargerRows(p) {
  return [
    ["Power", `${formatNumber(p.power_kw, 0)} kW × ${formatNumber(p.points, 0)} points`],
    ["Energy delivered", `${formatNumber(p.energy_kwh, 1)} kWh`],
    ["Cars charged", formatNumber(p.vehicles, 1)],
    ["Substation", p.substation || "–"],
  ].concat(p.placed === false ? [["Placed", "no car lane near enough: not in the simulation"]] : []);
}

export function energyLayers(map, { onSubstation, underLayers = [] }) {
  map.addSource("en-substation-points", { type: "geojson", data: EMPTY });
  map.addSource("en-service-areas", { type: "geojson", data: EMPTY });
  map.addSource("en-charger-points", { type: "geojson", data: EMPTY });
  const hidden = { visibility: "none" };
  // Service areas go under the segment lines; points above everything.
  const firstLine = map.getLayer("res-lines") ? "res-lines" : undefined;
  map.addLayer(
    {
      id: "en-areas",
      type: "fill",
      source: "en-service-areas",
      layout: hidden,
      paint: { "fill-color": LOADING_COLOUR, "fill-opacity": 0.16 },
    },
    firstLine,
  );
  map.addLayer(
    {
      id: "en-areas-outline",
      type: "line",
      source: "en-service-areas",
      layout: hidden,
      paint: { "line-color": LOADING_COLOUR, "line-width": 1.5, "line-opacity": 0.7 },
    },
    firstLine,
  );
  map.addLayer({
    id: "en-emissions",
    type: "line",
    source: "results",
    layout: { ...hidden, "line-cap": "round", "line-join": "round" },
    paint: { "line-color": "#9aa0a8", "line-width": WIDTH, "line-offset": OFFSET },
  });
  map.addLayer({ id: "en-chargers", type: "circle", source: "en-charger-points", layout: hidden, paint: chargerPaint(1) });
  map.addLayer({
    id: "en-substations",
    type: "circle",
    source: "en-substation-points",
    layout: hidden,
    paint: {
      "circle-color": LOADING_COLOUR,
      "circle-radius": byZoom([11, 4, 16, 8, 19, 12]),
      "circle-stroke-color": "#111827",
      "circle-stroke-width": 1.5,
    },
  });
  // The substation whose panel is open: a ring around it.
  map.addLayer({
    id: "en-selected",
    type: "circle",
    source: "en-substation-points",
    layout: hidden,
    filter: ["==", ["get", "key"], ""],
    paint: {
      "circle-radius": byZoom([11, 9, 16, 14, 19, 18]),
      "circle-color": "rgba(0, 0, 0, 0)",
      "circle-stroke-color": "#2563eb",
      "circle-stroke-width": 3,
    },
  });
  pointerOver(map, [...underLayers, ...ENERGY_LAYERS.emissions, ...CLICKABLE]);

  const popup = new window.maplibregl.Popup({ closeOnClick: false, maxWidth: "320px", className: "citytwin-popup" });
  const substations = new Map();
  let selected = null;

  const visible = (id) => map.getLayer(id) && map.getLayoutProperty(id, "visibility") !== "none";

  return {
    /** Takes the click when it lands on a substation or a charger; true when it did. */
    click(event) {
      const layers = CLICKABLE.filter(visible);
      if (!layers.length) return false;
      const [feature] = map.queryRenderedFeatures(hitBox(event.point, 6), { layers });
      if (!feature) return false;
      const p = feature.properties;
      if (feature.layer.id === "en-substations") {
        popup.remove();
        selected = p.key;
        map.setFilter("en-selected", ["==", ["get", "key"], p.key]);
        onSubstation(substations.get(p.key));
        return true;
      }
      const root = el("div", "feature-popup sc-popup");
      root.dataset.kind = "en-chargers";
      root.append(el("h3", "feature-popup-title", p.name || `Charging station ${p.key}`), table(chargerRows(p)));
      popup.setLngLat(feature.geometry.coordinates).setDOMContent(root).addTo(map);
      return true;
    },
    setSubstations(collection) {
      const features = collection.features || [];
      substations.clear();
      features.forEach((f) => substations.set(f.properties.key, f));
      map.getSource("en-substation-points").setData({ type: "FeatureCollection", features: pointFeatures(features) });
      map.getSource("en-service-areas").setData({ type: "FeatureCollection", features: areaFeatures(features) });
      return features.length;
    },
    setChargers(collection) {
      const features = collection.features || [];
      map.getSource("en-charger-points").setData({ type: "FeatureCollection", features });
      const max = Math.max(0, ...features.map((f) => Number(f.properties.energy_kwh) || 0));
      Object.entries(chargerPaint(max)).forEach(([name, value]) => map.setPaintProperty("en-chargers", name, value));
      return max;
    },
    recolourEmissions(scale) {
      map.setPaintProperty("en-emissions", "line-color", scale.expression);
    },
    show(group, on) {
      ENERGY_LAYERS[group].forEach((id) => map.setLayoutProperty(id, "visibility", on ? "visible" : "none"));
      if (group === "chargers" && !on) popup.remove();
    },
    select(key) {
      selected = key;
      map.setFilter("en-selected", ["==", ["get", "key"], key || ""]);
    },
    renderedCount(layer) {
      return visible(layer) ? map.queryRenderedFeatures({ layers: [layer] }).length : 0;
    },
  };
}
