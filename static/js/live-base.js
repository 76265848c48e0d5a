/*
 * The live map (/live/), part 1 of 7: the constants, colour scales, formatting helpers, the LivePage
 * object with its start and the sensor directory, shared with the other parts as window.CityTwinLive.
 * The parts load in order (templates/maps/live.html): live-base, live-stream, live-list, live-map,
 * live-chart, live-alerts, then live.js, which starts the page. What the page does: see live.js.
 */
(function () {
  'use strict';

  var OSM_ATTRIBUTION =
    '<a href="https://www.openstreetmap.org/copyright" target="_blank" rel="noopener">' +
    '\u00a9 OpenStreetMap contributors</a>';
  var FALLBACK_BOUNDS = [24.92, 60.16, 24.96, 60.175];
  var KIND_ORDER = ['traffic', 'air_quality', 'energy'];

  var STALE_COLOUR = '#a3a9b3';
  var NO_DATA_COLOUR = '#ffffff';

  // Colour scales per kind, by the kind's headline property. The legend is drawn from these, and the map
  // and the list use the same function, so the three cannot drift apart.
  var SCALES = {
    traffic: {
      type: 'ramp',
      title: 'Traffic: mean speed',
      stops: [[0, '#b91c1c'], [15, '#ef4444'], [30, '#f59e0b'], [45, '#84cc16'], [60, '#16a34a']],
      ends: ['slow', 'fast']
    },
    air_quality: {
      type: 'steps',
      title: 'Air quality: PM2.5',
      // Upper bound (exclusive), colour, label.
      steps: [
        [10, '#22c55e', 'good'],
        [25, '#eab308', 'moderate'],
        [50, '#f97316', 'poor'],
        [100, '#dc2626', 'very poor'],
        [Infinity, '#7e22ce', 'extremely poor']
      ]
    },
    energy: {
      type: 'ramp',
      title: 'Energy: active power',
      stops: [[0, '#dbeafe'], [10, '#93c5fd'], [50, '#3b82f6'], [200, '#1d4ed8'], [1000, '#172554']],
      ends: ['low', 'high']
    }
  };
  var CHART_COLOURS = ['#2563eb', '#f97316', '#10b981', '#a855f7', '#e11d48', '#64748b'];

  var RECONNECT_MIN_MS = 1000;
  var RECONNECT_MAX_MS = 30000;
  var PING_EVERY_MS = 25000;
  var SILENCE_LIMIT_MS = 70000; // no message at all (not even a pong): the socket is dead
  var CHART_REFRESH_MS = 10000;
  var CLOSE_SIGNED_OUT = 4401;

  // ---------------------------------------------------------------------------------------------------
  // Small helpers

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined && text !== null) {
      node.textContent = text;
    }
    return node;
  }

  function clear(node) {
    while (node.firstChild) {
      node.removeChild(node.firstChild);
    }
  }

  function readConfig() {
    var element = document.getElementById('live-config');
    var config = element ? JSON.parse(element.textContent) : {};
    var bounds = config.bounds;
    if (!Array.isArray(bounds) || bounds.length !== 4 || !bounds.every(Number.isFinite)) {
      bounds = FALLBACK_BOUNDS;
    }
    return {
      bounds: bounds,
      staleAfterS: Number.isFinite(config.stale_after_s) ? config.stale_after_s : 300,
      kinds: config.kinds || {},
      catalog: config.catalog || {},
      headline: config.headline || {},
      username: config.username || ''
    };
  }

  function cookie(name) {
    var parts = document.cookie ? document.cookie.split(';') : [];
    for (var i = 0; i < parts.length; i++) {
      var part = parts[i].trim();
      if (part.indexOf(name + '=') === 0) {
        return decodeURIComponent(part.slice(name.length + 1));
      }
    }
    return '';
  }

  function hexToRgb(hex) {
    var n = parseInt(hex.slice(1), 16);
    return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
  }

  function rgbToHex(rgb) {
    return '#' + rgb.map(function (c) {
      var s = Math.round(c).toString(16);
      return s.length === 1 ? '0' + s : s;
    }).join('');
  }

  function ramp(stops, value) {
    if (value <= stops[0][0]) {
      return stops[0][1];
    }
    for (var i = 1; i < stops.length; i++) {
      if (value <= stops[i][0]) {
        var t = (value - stops[i - 1][0]) / (stops[i][0] - stops[i - 1][0]);
        var a = hexToRgb(stops[i - 1][1]);
        var b = hexToRgb(stops[i][1]);
        return rgbToHex([0, 1, 2].map(function (k) { return a[k] + (b[k] - a[k]) * t; }));
      }
    }
    return stops[stops.length - 1][1];
  }

  function colourFor(kind, value) {
    var scale = SCALES[kind];
    if (!scale || typeof value !== 'number' || !isFinite(value)) {
      return NO_DATA_COLOUR;
    }
    if (scale.type === 'ramp') {
      return ramp(scale.stops, value);
    }
    for (var i = 0; i < scale.steps.length; i++) {
      if (value < scale.steps[i][0]) {
        return scale.steps[i][1];
      }
    }
    return scale.steps[scale.steps.length - 1][1];
  }

  var numberFormats = {};
  function formatNumber(value) {
    if (typeof value !== 'number' || !isFinite(value)) {
      return '–';
    }
    var abs = Math.abs(value);
    var digits = abs >= 100 ? 0 : abs >= 10 ? 1 : 2;
    if (!numberFormats[digits]) {
      numberFormats[digits] = new Intl.NumberFormat('en-GB', {maximumFractionDigits: digits});
    }
    return numberFormats[digits].format(value);
  }

  function formatValue(value, unit) {
    var text = formatNumber(value);
    return unit && text !== '–' ? text + '\u00a0' + unit : text;
  }

  function pad(n) {
    return n < 10 ? '0' + n : String(n);
  }

  // Local clock time, 24 h; the date too when it is not today.
  function formatTime(ms) {
    var d = new Date(ms);
    var clock = pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
    var today = new Date();
    if (d.toDateString() === today.toDateString()) {
      return clock;
    }
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' + clock;
  }

  // A local, zone-less timestamp for Plotly (it ignores offsets in date strings).
  function plotlyTime(ms) {
    var d = new Date(ms);
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' +
      pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
  }

  function formatAge(seconds) {
    if (seconds < 2) {
      return 'just now';
    }
    if (seconds < 60) {
      return Math.floor(seconds) + ' s ago';
    }
    if (seconds < 3600) {
      return Math.floor(seconds / 60) + ' min ago';
    }
    if (seconds < 86400) {
      return Math.floor(seconds / 3600) + ' h ago';
    }
    return Math.floor(seconds / 86400) + ' d ago';
  }

  function formatDuration(seconds) {
    if (seconds % 60 === 0) {
      return (seconds / 60) + ' min';
    }
    return seconds + ' s';
  }

  // ---------------------------------------------------------------------------------------------------
  // The page

  function LivePage(root) {
    this.root = root;
    this.config = readConfig();
    // What the test and the console read: the newest item per sensor, as streamed.
    this.state = {sensors: {}, alerts: {}};
    window.liveState = this.state;
    this.directory = {}; // code -> {name, kind, lon, lat} from /api/sensors/ (sensors that never reported too)
    this.rows = {}; // code -> list row elements
    this.groups = {}; // kind -> group elements
    this.staleFlags = {};
    this.hiddenKinds = {};
    this.search = '';
    this.selected = null;
    this.socket = null;
    this.retries = 0;
    this.reconnectAt = 0;
    this.lastMessageAt = 0;
    this.seq = {};
    this.awaitingSnapshot = {};
    this.snapshots = {};
    this.stats = {connects: 0, snapshots: 0, resyncs: 0}; // for the console and the tests
    this.ready = false;
    this.signedOut = false;
    this.mapLoaded = false;
    this.mapFailed = false;
    this.chart = {code: null, fetchedAt: 0, timer: null, loading: false};
    this.plotly = null;
  }

  LivePage.prototype.start = function () {
    this.buildKindFilter();
    this.buildLegend();
    this.bindPanels();
    this.initMap();
    this.loadDirectory();
    this.connect();
    var self = this;
    window.setInterval(function () { self.tick(); }, 1000);
    window.setInterval(function () { self.keepAlive(); }, PING_EVERY_MS);
    window.addEventListener('online', function () { self.reconnectNow(); });
  };

  // --- the sensor directory: names, and sensors that have not reported yet -------------------------

  LivePage.prototype.loadDirectory = function () {
    var self = this;
    var url = '/api/sensors/?active=true&limit=10000&bbox=' + this.config.bounds.join(',');
    var fetchPage = function (pageUrl) {
      return fetch(pageUrl, {credentials: 'same-origin', headers: {Accept: 'application/json'}})
        .then(function (response) {
          if (!response.ok) {
            throw new Error('HTTP ' + response.status);
          }
          return response.json();
        })
        .then(function (body) {
          (body.features || []).forEach(function (feature) {
            var p = feature.properties || {};
            var coords = feature.geometry && feature.geometry.coordinates;
            if (!p.code || !coords) {
              return;
            }
            self.directory[p.code] = {name: p.name || '', kind: p.kind, lon: coords[0], lat: coords[1]};
          });
          // Follow `next` on this origin only.
          if (body.next) {
            var next = new URL(body.next, window.location.origin);
            if (next.origin === window.location.origin) {
              return fetchPage(next.pathname + next.search);
            }
          }
          return null;
        });
    };
    fetchPage(url)
      .then(function () { self.renderAll(); })
      .catch(function () {
        // Names are a convenience: the stream alone still shows every reporting sensor by its code.
      });
  };

  window.CityTwinLive = {
    OSM_ATTRIBUTION: OSM_ATTRIBUTION,
    FALLBACK_BOUNDS: FALLBACK_BOUNDS,
    KIND_ORDER: KIND_ORDER,
    STALE_COLOUR: STALE_COLOUR,
    NO_DATA_COLOUR: NO_DATA_COLOUR,
    SCALES: SCALES,
    CHART_COLOURS: CHART_COLOURS,
    RECONNECT_MIN_MS: RECONNECT_MIN_MS,
    RECONNECT_MAX_MS: RECONNECT_MAX_MS,
    PING_EVERY_MS: PING_EVERY_MS,
    SILENCE_LIMIT_MS: SILENCE_LIMIT_MS,
    CHART_REFRESH_MS: CHART_REFRESH_MS,
    CLOSE_SIGNED_OUT: CLOSE_SIGNED_OUT,
    el: el,
    clear: clear,
    readConfig: readConfig,
    cookie: cookie,
    hexToRgb: hexToRgb,
    rgbToHex: rgbToHex,
    ramp: ramp,
    colourFor: colourFor,
    numberFormats: numberFormats,
    formatNumber: formatNumber,
    formatValue: formatValue,
    pad: pad,
    formatTime: formatTime,
    plotlyTime: plotlyTime,
    formatAge: formatAge,
    formatDuration: formatDuration,
    LivePage: LivePage,
  };
}());
