/*
 * A published comparison's difference map: the city map (static/js/map.js's style) with each street coloured
 * by the change of its traffic flow between the two runs (more: red, fewer: blue; thin when the change is
 * small), from /api/public/comparisons/<id>/difference/. Configuration arrives as a json_script element.
 */
(function () {
  'use strict';

  function status(text, state) {
    var node = document.getElementById('diff-status');
    if (node) {
      node.textContent = text;
      node.dataset.state = state;
    }
  }

  function fmt(value) {
    return typeof value === 'number' ? String(Math.round(value * 10) / 10) : '–';
  }

  function popup(props) {
    var root = document.createElement('div');
    root.className = 'feature-popup';
    var title = document.createElement('h3');
    title.className = 'feature-popup-title';
    title.textContent = props.name || ('Segment ' + props.segment);
    root.appendChild(title);
    [['Flow before (veh/h)', props.flow_base], ['Flow after (veh/h)', props.flow_veh_h],
      ['Change (veh/h)', props.flow_diff], ['Change (%)', props.flow_pct],
      ['Speed change (km/h)', props.speed_diff]].forEach(function (pair) {
      var p = document.createElement('p');
      p.className = 'feature-popup-kind';
      p.textContent = pair[0] + ': ' + fmt(pair[1]);
      root.appendChild(p);
    });
    return root;
  }

  function init() {
    var element = document.getElementById('published-config');
    var config = element ? JSON.parse(element.textContent) : {};
    var container = document.getElementById('published-map');
    if (!container || typeof maplibregl === 'undefined' || !window.CityTwinMap) {
      return;
    }
    var map;
    try {
      map = new maplibregl.Map({
        container: container, style: window.CityTwinMap.buildStyle(), bounds: config.bounds,
        fitBoundsOptions: {padding: 30}, maxZoom: 19, attributionControl: false
      });
    } catch (error) {
      status('The map needs WebGL, which this browser does not provide.', 'error');
      return;
    }
    map.addControl(new maplibregl.NavigationControl({}), 'top-right');
    map.addControl(new maplibregl.AttributionControl({compact: false, customAttribution: window.CityTwinMap.attribution}), 'bottom-right');
    map.once('load', function () {
      fetch(config.difference_url).then(function (r) {
        if (!r.ok) { throw new Error('HTTP ' + r.status); }
        return r.json();
      }).then(function (data) {
        var changes = (data.features || []).map(function (f) { return Math.abs(f.properties.flow_diff || 0); });
        var top = Math.max(1, Math.max.apply(null, changes.concat([1])));
        map.addSource('difference', {type: 'geojson', data: data});
        map.addLayer({
          id: 'difference', type: 'line', source: 'difference',
          layout: {'line-cap': 'round', 'line-join': 'round'},
          paint: {
            'line-color': ['interpolate', ['linear'], ['coalesce', ['get', 'flow_diff'], 0],
              -top, '#1d4ed8', 0, '#d4d4d8', top, '#b91c1c'],
            'line-width': ['interpolate', ['linear'], ['abs', ['coalesce', ['get', 'flow_diff'], 0]],
              0, 1, top, 7]
          }
        });
        map.on('click', 'difference', function (event) {
          new maplibregl.Popup({className: 'citytwin-popup'}).setLngLat(event.lngLat)
            .setDOMContent(popup(event.features[0].properties)).addTo(map);
        });
        status((data.features || []).length + ' streets compared.', 'ready');
        document.body.dataset.differenceReady = '1';
      }).catch(function () {
        status('The differences could not be loaded.', 'error');
      });
    });
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
}());
