// Starts Django's OpenLayers geometry widgets (OLMapWidget.js) without inline script, over the city's
// own vector tiles (roads and buildings) instead of a remote base map.
(function () {
  "use strict";
  function cityBaseLayer() {
    const style = new ol.style.Style({
      stroke: new ol.style.Stroke({ color: "rgba(90, 100, 120, 0.8)", width: 1 }),
      fill: new ol.style.Fill({ color: "rgba(200, 195, 185, 0.6)" }),
    });
    return new ol.layer.VectorTile({
      source: new ol.source.VectorTile({
        format: new ol.format.MVT(),
        url: window.location.origin + "/tiles/buildings/{z}/{x}/{y}.pbf",
        maxZoom: 16,
        attributions: "© OpenStreetMap contributors",
      }),
      style: style,
    });
  }
  function start() {
    document.querySelectorAll(".citytwin-map-widget").forEach(function (wrapper) {
      const configNode = document.getElementById(wrapper.dataset.configId);
      if (!configNode) return;
      const options = JSON.parse(configNode.textContent);
      options.base_layer = cityBaseLayer();
      window[options.module] = new MapWidget(options);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
