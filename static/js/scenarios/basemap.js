/*
 * The map under the scenario editor and the run page: MapLibre (the vendored global build) over the city's
 * own road tiles (/tiles/roads/, the same tiles as the 3D map; feature id = the RoadSegment id, which is what
 * a scenario's edits and a run's results are keyed by). No external tiles, glyphs or sprites.
 */
export const OSM_ATTRIBUTION =
  '<a href="https://www.openstreetmap.org/copyright" target="_blank" rel="noopener">© OpenStreetMap contributors</a>';

const FALLBACK_BOUNDS = [24.92, 60.16, 24.96, 60.175];
export const PATHS = ["footway", "cycleway", "path", "pedestrian", "steps", "bridleway", "corridor"];
const MAJOR = ["motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link"];
const MEDIUM = ["secondary", "secondary_link", "tertiary", "tertiary_link"];

export function byZoom(stops) {
  return ["interpolate", ["exponential", 1.5], ["zoom"], ...stops];
}

/** Line widths that grow with zoom and with the road's class, so main roads are easy to click. */
export const ROAD_WIDTH = byZoom([
  11, ["match", ["to-string", ["get", "highway"]], MAJOR, 1.6, 0.6],
  15, ["match", ["to-string", ["get", "highway"]], MAJOR, 5, 2.5],
  19, ["match", ["to-string", ["get", "highway"]], MAJOR, 22, 12],
]);

function tileUrl(layer) {
  // Absolute: MapLibre's workers resolve relative URLs against a blob: URL.
  return `${new URL(`/tiles/${layer}/`, window.location.origin).href}{z}/{x}/{y}.pbf`;
}

function style() {
  return {
    version: 8,
    name: "CityTwin scenarios",
    sources: {
      roads: { type: "vector", tiles: [tileUrl("roads")], minzoom: 10, maxzoom: 16, attribution: OSM_ATTRIBUTION },
    },
    layers: [
      { id: "background", type: "background", paint: { "background-color": "#eef0f3" } },
      {
        id: "roads-base",
        type: "line",
        source: "roads",
        "source-layer": "roads",
        filter: ["!", ["in", ["to-string", ["get", "highway"]], ["literal", PATHS]]],
        layout: { "line-cap": "round", "line-join": "round" },
        // Main roads stand out (as on the city map), so a planner finds them at a glance.
        paint: {
          "line-color": [
            "match",
            ["to-string", ["get", "highway"]],
            MAJOR,
            "#f0a35e",
            MEDIUM,
            "#f3d28b",
            "#c3c9d2",
          ],
          "line-width": ROAD_WIDTH,
        },
      },
    ],
  };
}

function validBounds(bounds) {
  return Array.isArray(bounds) && bounds.length === 4 && bounds.every(Number.isFinite) ? bounds : FALLBACK_BOUNDS;
}

/**
 * A flat (2D) map fitted to `bounds`; resolves with the map once its style is loaded. Rejects with a
 * message a page can show when the library or WebGL is missing.
 */
export function createMap(container, bounds) {
  return new Promise((resolve, reject) => {
    if (typeof window.maplibregl === "undefined") {
      reject(new Error("The map library did not load."));
      return;
    }
    let map;
    try {
      map = new window.maplibregl.Map({
        container,
        style: style(),
        bounds: validBounds(bounds),
        fitBoundsOptions: { padding: 30 },
        maxZoom: 19,
        dragRotate: false,
        pitchWithRotate: false,
        attributionControl: false,
        transformRequest: (url) =>
          url.startsWith(`${window.location.origin}/`) ? { url, credentials: "same-origin" } : { url },
      });
    } catch (error) {
      reject(new Error("The map needs WebGL, which this browser does not provide."));
      return;
    }
    map.addControl(new window.maplibregl.NavigationControl({ showCompass: false }), "top-right");
    map.addControl(new window.maplibregl.ScaleControl({ unit: "metric" }), "bottom-left");
    map.addControl(
      new window.maplibregl.AttributionControl({ compact: false, customAttribution: OSM_ATTRIBUTION }),
      "bottom-right",
    );
    map.once("load", () => resolve(map));
  });
}

/** A few pixels of slack so thin lines are easy to hit. */
export function hitBox(point, slack = 5) {
  return [
    [point.x - slack, point.y - slack],
    [point.x + slack, point.y + slack],
  ];
}

/** A pointer cursor over the given layers. */
export function pointerOver(map, layers) {
  map.on("mousemove", (event) => {
    const present = layers.filter((id) => map.getLayer(id) && map.getLayoutProperty(id, "visibility") !== "none");
    const hit = present.length > 0 && map.queryRenderedFeatures(hitBox(event.point), { layers: present }).length > 0;
    map.getCanvas().style.cursor = hit ? "pointer" : "";
  });
}
