/*
 * The traffic operators' live map (/live/): every sensor of the city coloured by its newest headline
 * value, streamed over the one websocket (/ws/, protocol in docs/streaming.md), with the open alerts.
 *
 * - State comes from two subscriptions: `readings` (all kinds, inside the city's bounds) and `alerts`.
 *   Each starts with a snapshot; updates carry `seq`, and a gap means this connection lost a message,
 *   so we ask for a fresh snapshot (`resync`) instead of guessing.
 * - The socket reconnects with an exponential backoff; close code 4401 means the session is gone, so we
 *   stop and ask the person to log in again.
 * - The style uses only our own vector tiles and circle/line/fill layers (no glyphs, no sprites, no
 *   external URLs), so ages and values are shown in HTML, not as map text.
 * - The CSP allows no inline script: the configuration arrives as a json_script element, and everything
 *   is built with createElement/textContent.
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

  // --- state ---------------------------------------------------------------------------------------

  LivePage.prototype.codes = function () {
    var seen = {};
    Object.keys(this.directory).forEach(function (c) { seen[c] = true; });
    Object.keys(this.state.sensors).forEach(function (c) { seen[c] = true; });
    return Object.keys(seen);
  };

  LivePage.prototype.info = function (code) {
    var item = this.state.sensors[code];
    var meta = this.directory[code] || {};
    var kind = (item && item.kind) || meta.kind;
    var headlineName = this.config.headline[kind];
    var headlineProp = null;
    (this.config.catalog[kind] || []).forEach(function (p) {
      if (p.name === headlineName) {
        headlineProp = p;
      }
    });
    var time = item ? Date.parse(item.time) : NaN;
    var age = isFinite(time) ? Math.max(0, (Date.now() - time) / 1000) : null;
    var value = item && item.values ? item.values[headlineName] : undefined;
    return {
      code: code,
      item: item || null,
      name: meta.name || code,
      kind: kind,
      kindLabel: this.config.kinds[kind] || kind || 'Sensor',
      lon: item ? item.lon : meta.lon,
      lat: item ? item.lat : meta.lat,
      headline: headlineProp,
      value: typeof value === 'number' ? value : null,
      time: isFinite(time) ? time : null,
      age: age,
      hasData: !!item,
      stale: !!item && (age === null || age > this.config.staleAfterS)
    };
  };

  LivePage.prototype.colourOf = function (info) {
    if (!info.hasData) {
      return NO_DATA_COLOUR;
    }
    if (info.stale) {
      return STALE_COLOUR;
    }
    return colourFor(info.kind, info.value);
  };

  LivePage.prototype.applyReadings = function (items, replace) {
    var self = this;
    if (replace) {
      this.state.sensors = {};
    }
    var changed = [];
    items.forEach(function (item) {
      if (!item || typeof item.sensor !== 'string') {
        return;
      }
      var previous = self.state.sensors[item.sensor];
      // An update may carry an older reading (a device replaying its buffer): keep the newest.
      if (previous && Date.parse(previous.time) > Date.parse(item.time)) {
        return;
      }
      self.state.sensors[item.sensor] = item;
      changed.push(item.sensor);
    });
    if (replace) {
      this.renderAll();
    } else {
      changed.forEach(function (code) { self.renderSensor(code); });
      this.updateSummary();
      this.updateMapSource();
    }
    if (this.selected && changed.indexOf(this.selected) !== -1) {
      this.renderDetail();
      this.renderPopup();
      this.scheduleChartRefresh();
    }
  };

  LivePage.prototype.applyAlerts = function (items, replace) {
    var self = this;
    if (replace) {
      this.state.alerts = {};
    }
    items.forEach(function (item) {
      if (!item || item.id === undefined) {
        return;
      }
      if (item.resolved_at) {
        delete self.state.alerts[item.id];
      } else {
        self.state.alerts[item.id] = item;
      }
    });
    this.renderAlerts();
  };

  // --- the websocket -------------------------------------------------------------------------------

  LivePage.prototype.connect = function () {
    var self = this;
    if (this.signedOut) {
      return;
    }
    this.seq = {};
    this.awaitingSnapshot = {r: true, a: true};
    this.setStatus(this.retries === 0 ? 'connecting' : 'reconnecting', this.retries === 0 ? 'Connecting…' : 'Reconnecting…');
    var url = (location.protocol === 'https:' ? 'wss' : 'ws') + '://' + location.host + '/ws/';
    var socket;
    try {
      socket = new WebSocket(url);
    } catch (error) {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    this.stats.connects += 1;
    socket.addEventListener('open', function () {
      if (self.socket !== socket) {
        return;
      }
      self.lastMessageAt = Date.now();
      self.send({
        action: 'subscribe', id: 'r', topic: 'readings',
        params: {kinds: KIND_ORDER.slice(), bbox: self.config.bounds}
      });
      self.send({action: 'subscribe', id: 'a', topic: 'alerts'});
    });
    socket.addEventListener('message', function (event) {
      if (self.socket !== socket) {
        return;
      }
      self.lastMessageAt = Date.now();
      var message;
      try {
        message = JSON.parse(event.data);
      } catch (error) {
        return;
      }
      self.onMessage(message);
    });
    socket.addEventListener('close', function (event) {
      if (self.socket !== socket) {
        return;
      }
      self.socket = null;
      if (event.code === CLOSE_SIGNED_OUT) {
        self.signedOut = true;
        self.setStatus('signed-out', 'Signed out');
        document.getElementById('live-signed-out').hidden = false;
        return;
      }
      self.scheduleReconnect();
    });
  };

  LivePage.prototype.send = function (message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify(message));
    }
  };

  LivePage.prototype.scheduleReconnect = function () {
    var self = this;
    var delay = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * Math.pow(2, this.retries));
    delay = Math.round(delay * (0.8 + Math.random() * 0.4)); // jitter: not every browser at once
    this.retries += 1;
    this.reconnectAt = Date.now() + delay;
    window.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = window.setTimeout(function () {
      self.reconnectAt = 0;
      self.connect();
    }, delay);
    this.updateReconnectStatus();
  };

  LivePage.prototype.reconnectNow = function () {
    if (this.socket || this.signedOut || !this.reconnectAt) {
      return;
    }
    window.clearTimeout(this.reconnectTimer);
    this.reconnectAt = 0;
    this.connect();
  };

  LivePage.prototype.updateReconnectStatus = function () {
    if (!this.reconnectAt) {
      return;
    }
    var seconds = Math.max(1, Math.ceil((this.reconnectAt - Date.now()) / 1000));
    this.setStatus('reconnecting', 'Reconnecting in ' + seconds + ' s…');
  };

  LivePage.prototype.keepAlive = function () {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) {
      return;
    }
    if (Date.now() - this.lastMessageAt > SILENCE_LIMIT_MS) {
      this.socket.close(); // the close handler reconnects
      return;
    }
    this.send({action: 'ping'});
  };

  LivePage.prototype.onMessage = function (message) {
    var id = message.id;
    switch (message.type) {
      case 'snapshot':
        this.stats.snapshots += 1;
        this.seq[id] = message.seq;
        this.awaitingSnapshot[id] = false;
        if (id === 'r') {
          this.applyReadings(message.items || [], true);
        } else if (id === 'a') {
          this.applyAlerts(message.items || [], true);
        }
        this.snapshots[id] = true;
        this.onSnapshot();
        break;
      case 'update':
        if (this.awaitingSnapshot[id] || this.seq[id] === undefined) {
          return; // a snapshot is on its way and replaces everything
        }
        if (message.seq !== this.seq[id] + 1) {
          // This connection lost a message: ask for the whole state again.
          this.awaitingSnapshot[id] = true;
          this.stats.resyncs += 1;
          this.send({action: 'resync', id: id});
          return;
        }
        this.seq[id] = message.seq;
        if (id === 'r') {
          this.applyReadings(message.items || [], false);
        } else if (id === 'a') {
          this.applyAlerts(message.items || [], false);
        }
        break;
      case 'resync':
        this.awaitingSnapshot[id] = true;
        break;
      case 'error':
        this.showError(id, message);
        if (message.code === 'unavailable' && id) {
          // the server could not read the snapshot (database restarting): ask again shortly
          window.setTimeout(() => this.send({action: 'resync', id: id}), 3000);
        }
        break;
      default:
        break; // subscribed, pong, unsubscribed
    }
  };

  LivePage.prototype.onSnapshot = function () {
    if (this.snapshots.r && this.snapshots.a) {
      this.retries = 0;
      this.setStatus('live', 'Live');
      this.checkReady();
    }
  };

  LivePage.prototype.checkReady = function () {
    if (!this.ready && this.snapshots.r && this.snapshots.a && (this.mapLoaded || this.mapFailed)) {
      this.ready = true;
      document.body.dataset.liveReady = '1';
    }
  };

  LivePage.prototype.showError = function (id, message) {
    var box = document.getElementById('live-error');
    var what = id === 'a' ? 'Alerts' : id === 'r' ? 'Live readings' : 'The live connection';
    box.textContent = what + ': ' + (message.detail || message.code || 'refused');
    box.hidden = false;
    // A refused subscription never sends a snapshot; do not wait for it.
    if (id === 'r' || id === 'a') {
      this.snapshots[id] = true;
      this.awaitingSnapshot[id] = false;
      this.onSnapshot();
    }
  };

  LivePage.prototype.setStatus = function (state, text) {
    var box = document.getElementById('live-status');
    box.dataset.state = state;
    box.querySelector('.live-status-text').textContent = text;
    this.statusState = state;
  };

  // --- the list ------------------------------------------------------------------------------------

  LivePage.prototype.buildKindFilter = function () {
    var self = this;
    var box = document.getElementById('live-kinds');
    KIND_ORDER.forEach(function (kind) {
      var label = el('label', 'live-kind');
      var input = el('input');
      input.type = 'checkbox';
      input.value = kind;
      input.checked = true;
      input.addEventListener('change', function () {
        self.hiddenKinds[kind] = !input.checked;
        self.applyFilters();
      });
      var swatch = el('span', 'live-dot live-dot-kind-' + kind);
      label.appendChild(input);
      label.appendChild(swatch);
      label.appendChild(document.createTextNode(self.config.kinds[kind] || kind));
      box.appendChild(label);
    });
    var search = document.getElementById('live-search');
    search.addEventListener('input', function () {
      self.search = search.value.trim().toLowerCase();
      self.applyFilters();
    });
  };

  LivePage.prototype.applyFilters = function () {
    var self = this;
    KIND_ORDER.forEach(function (kind) {
      var group = self.groups[kind];
      if (group) {
        group.section.hidden = !!self.hiddenKinds[kind];
      }
    });
    Object.keys(this.rows).forEach(function (code) {
      var row = self.rows[code];
      var text = (row.name + ' ' + code).toLowerCase();
      row.li.hidden = !!self.search && text.indexOf(self.search) === -1;
    });
    if (this.map && this.mapLoaded) {
      var shown = KIND_ORDER.filter(function (k) { return !self.hiddenKinds[k]; });
      var filter = ['in', ['get', 'kind'], ['literal', shown]];
      this.map.setFilter('sensors', filter);
      this.map.setFilter('sensors-selected', ['all', filter, ['==', ['get', 'code'], this.selected || '']]);
    }
  };

  LivePage.prototype.renderAll = function () {
    var self = this;
    var container = document.getElementById('live-sensor-groups');
    var codes = this.codes();
    var byKind = {};
    codes.forEach(function (code) {
      var info = self.info(code);
      var kind = KIND_ORDER.indexOf(info.kind) === -1 ? 'other' : info.kind;
      (byKind[kind] = byKind[kind] || []).push(info);
    });
    clear(container);
    this.rows = {};
    this.groups = {};
    KIND_ORDER.concat(['other']).forEach(function (kind) {
      var infos = byKind[kind];
      if (!infos || !infos.length) {
        return;
      }
      infos.sort(function (a, b) { return a.name.localeCompare(b.name) || a.code.localeCompare(b.code); });
      var section = el('section', 'live-group');
      section.dataset.kind = kind;
      var head = el('h2', 'live-group-title');
      head.appendChild(el('span', null, self.config.kinds[kind] || 'Other'));
      var counts = el('span', 'live-group-counts');
      head.appendChild(counts);
      section.appendChild(head);
      var list = el('ul', 'live-sensor-list');
      infos.forEach(function (info) {
        list.appendChild(self.buildRow(info));
      });
      section.appendChild(list);
      container.appendChild(section);
      self.groups[kind] = {section: section, counts: counts};
    });
    document.getElementById('live-sensors-empty').hidden = codes.length > 0;
    codes.forEach(function (code) { self.renderSensor(code); });
    this.applyFilters();
    this.updateSummary();
    this.updateMapSource();
    if (this.selected) {
      this.renderDetail();
      this.renderPopup();
    }
  };

  LivePage.prototype.buildRow = function (info) {
    var self = this;
    var li = el('li', 'live-sensor');
    li.dataset.sensor = info.code;
    var button = el('button', 'live-sensor-button');
    button.type = 'button';
    var dot = el('span', 'live-dot');
    var names = el('span', 'live-sensor-names');
    var name = el('span', 'live-sensor-name', info.name);
    var code = el('span', 'live-sensor-code', info.name === info.code ? info.kindLabel : info.code);
    names.appendChild(name);
    names.appendChild(code);
    var figures = el('span', 'live-sensor-figures');
    var value = el('span', 'value');
    var age = el('span', 'age');
    figures.appendChild(value);
    figures.appendChild(age);
    button.appendChild(dot);
    button.appendChild(names);
    button.appendChild(figures);
    button.addEventListener('click', function () { self.select(info.code, {fly: true}); });
    li.appendChild(button);
    this.rows[info.code] = {li: li, dot: dot, value: value, age: age, name: info.name};
    return li;
  };

  LivePage.prototype.renderSensor = function (code) {
    var row = this.rows[code];
    if (!row) {
      this.renderAll(); // a sensor we had not seen: rebuild the list in order
      return;
    }
    var info = this.info(code);
    row.dot.style.backgroundColor = this.colourOf(info);
    row.li.classList.toggle('is-stale', info.stale);
    row.li.classList.toggle('is-nodata', !info.hasData);
    row.li.classList.toggle('is-selected', this.selected === code);
    if (info.hasData) {
      row.value.textContent = info.headline && info.value !== null
        ? formatValue(info.value, info.headline.unit)
        : '–';
      row.value.title = info.headline ? info.headline.label : '';
    } else {
      row.value.textContent = 'no data';
      row.value.title = 'No reading yet';
    }
    this.staleFlags[code] = info.stale;
    this.renderAge(row, info);
  };

  LivePage.prototype.renderAge = function (row, info) {
    if (!info.hasData) {
      row.age.textContent = '';
      return;
    }
    row.age.textContent = info.age === null ? '' : (info.stale ? 'stale · ' : '') + formatAge(info.age);
    row.age.title = info.time === null ? '' : 'Reading time ' + formatTime(info.time);
  };

  LivePage.prototype.updateSummary = function () {
    var self = this;
    var counts = {};
    this.codes().forEach(function (code) {
      var info = self.info(code);
      var c = counts[info.kind] = counts[info.kind] || {live: 0, stale: 0, none: 0};
      if (!info.hasData) {
        c.none += 1;
      } else if (info.stale) {
        c.stale += 1;
      } else {
        c.live += 1;
      }
    });
    Object.keys(this.groups).forEach(function (kind) {
      var c = counts[kind] || {live: 0, stale: 0, none: 0};
      var parts = [c.live + ' live'];
      if (c.stale) {
        parts.push(c.stale + ' stale');
      }
      if (c.none) {
        parts.push(c.none + ' no data');
      }
      self.groups[kind].counts.textContent = parts.join(' · ');
    });
  };

  // Once a second: ages, and the stale flags (a sensor turns stale without any message).
  LivePage.prototype.tick = function () {
    var self = this;
    var flipped = false;
    Object.keys(this.rows).forEach(function (code) {
      var info = self.info(code);
      if (self.staleFlags[code] !== info.stale) {
        flipped = true;
        self.renderSensor(code);
      } else {
        self.renderAge(self.rows[code], info);
      }
    });
    if (flipped) {
      this.updateSummary();
      this.updateMapSource();
    }
    if (this.selected) {
      this.renderDetailAge();
      this.renderPopupAge();
    }
    this.renderAlertAges();
    this.updateReconnectStatus();
  };

  // --- the map -------------------------------------------------------------------------------------

  function tileUrl(layer) {
    // Absolute (workers resolve relative URLs against a blob: URL), braces left unencoded.
    return new URL('/tiles/' + encodeURIComponent(layer) + '/', window.location.origin).href + '{z}/{x}/{y}.pbf';
  }

  function vectorSource(layer, minzoom, maxzoom) {
    return {type: 'vector', tiles: [tileUrl(layer)], minzoom: minzoom, maxzoom: maxzoom, attribution: OSM_ATTRIBUTION};
  }

  function byZoom(stops) {
    return ['interpolate', ['exponential', 1.5], ['zoom']].concat(stops);
  }

  var MAJOR_ROADS = ['motorway', 'motorway_link', 'trunk', 'trunk_link', 'primary', 'primary_link'];
  var MEDIUM_ROADS = ['secondary', 'secondary_link', 'tertiary', 'tertiary_link'];
  var PATHS = ['footway', 'cycleway', 'path', 'pedestrian', 'steps', 'bridleway', 'corridor'];

  function highwayIn(list) {
    return ['in', ['to-string', ['get', 'highway']], ['literal', list]];
  }

  // A calm, light base so that the coloured sensors carry the information.
  function buildStyle() {
    return {
      version: 8,
      name: 'CityTwin live',
      sources: {
        districts: vectorSource('districts', 8, 14),
        roads: vectorSource('roads', 10, 16),
        buildings: vectorSource('buildings', 12, 16),
        sensors: {type: 'geojson', data: {type: 'FeatureCollection', features: []}, promoteId: 'code'}
      },
      layers: [
        {id: 'background', type: 'background', paint: {'background-color': '#f1f3f6'}},
        {
          id: 'buildings', type: 'fill', source: 'buildings', 'source-layer': 'buildings',
          paint: {'fill-color': '#dde1e7', 'fill-outline-color': '#c8ced7'}
        },
        {
          id: 'roads-casing', type: 'line', source: 'roads', 'source-layer': 'roads', minzoom: 12,
          filter: ['!', highwayIn(PATHS)],
          layout: {'line-cap': 'round', 'line-join': 'round'},
          paint: {'line-color': '#c6ccd5', 'line-width': byZoom([12, 1.5, 16, 6.5, 19, 26])}
        },
        {
          id: 'roads-path', type: 'line', source: 'roads', 'source-layer': 'roads', minzoom: 15,
          filter: highwayIn(PATHS),
          paint: {'line-color': '#c4c9d1', 'line-width': byZoom([15, 0.5, 19, 2]), 'line-dasharray': [2, 1.5]}
        },
        {
          id: 'roads-minor', type: 'line', source: 'roads', 'source-layer': 'roads', minzoom: 12,
          filter: ['all', ['!', highwayIn(PATHS)], ['!', highwayIn(MAJOR_ROADS)], ['!', highwayIn(MEDIUM_ROADS)]],
          layout: {'line-cap': 'round', 'line-join': 'round'},
          paint: {'line-color': '#ffffff', 'line-width': byZoom([12, 0.5, 16, 4, 19, 20])}
        },
        {
          id: 'roads-medium', type: 'line', source: 'roads', 'source-layer': 'roads',
          filter: highwayIn(MEDIUM_ROADS),
          layout: {'line-cap': 'round', 'line-join': 'round'},
          paint: {'line-color': '#fdf3d8', 'line-width': byZoom([10, 0.8, 16, 6, 19, 24])}
        },
        {
          id: 'roads-major', type: 'line', source: 'roads', 'source-layer': 'roads',
          filter: highwayIn(MAJOR_ROADS),
          layout: {'line-cap': 'round', 'line-join': 'round'},
          paint: {'line-color': '#fbe3c4', 'line-width': byZoom([10, 1.2, 16, 8, 19, 30])}
        },
        {
          id: 'districts-outline', type: 'line', source: 'districts', 'source-layer': 'districts',
          paint: {'line-color': '#8b95c9', 'line-opacity': 0.3, 'line-width': 1}
        },
        {
          id: 'sensors-selected', type: 'circle', source: 'sensors',
          filter: ['==', ['get', 'code'], ''],
          paint: {
            'circle-radius': ['interpolate', ['linear'], ['zoom'], 12, 10, 16, 16, 19, 22],
            'circle-color': 'rgba(37, 99, 235, 0.18)',
            'circle-stroke-color': '#1d4ed8',
            'circle-stroke-width': 2
          }
        },
        {
          id: 'sensors', type: 'circle', source: 'sensors',
          paint: {
            'circle-color': ['get', 'colour'],
            // Stale and silent sensors are smaller: the eye goes to what is current.
            'circle-radius': ['interpolate', ['linear'], ['zoom'],
              12, ['case', ['get', 'current'], 5, 3.5],
              16, ['case', ['get', 'current'], 9, 6],
              19, ['case', ['get', 'current'], 14, 9]],
            'circle-stroke-color': ['case', ['get', 'has_data'], '#ffffff', '#7b8494'],
            'circle-stroke-width': ['case', ['get', 'has_data'], 1.5, 1.5],
            'circle-opacity': ['case', ['get', 'current'], 1, 0.85]
          }
        }
      ]
    };
  }

  LivePage.prototype.initMap = function () {
    var self = this;
    var container = document.getElementById('live-map');
    if (typeof maplibregl === 'undefined') {
      this.mapMessage('The map library did not load.');
      this.mapFailed = true;
      return;
    }
    try {
      this.map = new maplibregl.Map({
        container: container,
        style: buildStyle(),
        bounds: this.config.bounds,
        fitBoundsOptions: {padding: 30},
        maxZoom: 19,
        maxPitch: 60,
        attributionControl: false,
        transformRequest: function (url) {
          if (url.indexOf(window.location.origin + '/') === 0) {
            return {url: url, credentials: 'same-origin'};
          }
          return {url: url};
        }
      });
    } catch (error) {
      this.mapMessage('The map needs WebGL, which this browser does not provide. The lists still update.');
      this.mapFailed = true;
      return;
    }
    var map = this.map;
    map.addControl(new maplibregl.NavigationControl({visualizePitch: true}), 'top-right');
    map.addControl(new maplibregl.ScaleControl({unit: 'metric'}), 'bottom-right');
    map.addControl(new maplibregl.AttributionControl({compact: false, customAttribution: OSM_ATTRIBUTION}), 'bottom-right');
    this.popup = new maplibregl.Popup({closeButton: true, closeOnClick: false, maxWidth: '280px', className: 'live-popup', offset: 12});
    this.popup.on('close', function () {
      self.popupCode = null;
    });
    map.once('load', function () {
      self.mapLoaded = true;
      self.updateMapSource();
      self.applyFilters();
      self.checkReady();
    });
    map.on('mouseenter', 'sensors', function () { map.getCanvas().style.cursor = 'pointer'; });
    map.on('mouseleave', 'sensors', function () { map.getCanvas().style.cursor = ''; });
    map.on('click', function (event) {
      var box = [[event.point.x - 5, event.point.y - 5], [event.point.x + 5, event.point.y + 5]];
      var hits = map.getLayer('sensors') ? map.queryRenderedFeatures(box, {layers: ['sensors']}) : [];
      if (hits.length) {
        self.select(hits[0].properties.code, {fly: false});
      }
    });
    window.liveMap = map;
  };

  LivePage.prototype.mapMessage = function (text) {
    var box = document.getElementById('live-map-message');
    box.textContent = text;
    box.hidden = false;
  };

  LivePage.prototype.features = function () {
    var self = this;
    return this.codes().map(function (code) {
      var info = self.info(code);
      if (!isFinite(info.lon) || !isFinite(info.lat)) {
        return null;
      }
      return {
        type: 'Feature',
        geometry: {type: 'Point', coordinates: [info.lon, info.lat]},
        properties: {
          code: code,
          kind: info.kind,
          value: info.value,
          time: info.item ? info.item.time : null,
          colour: self.colourOf(info),
          has_data: info.hasData,
          stale: info.stale,
          current: info.hasData && !info.stale
        }
      };
    }).filter(Boolean);
  };

  LivePage.prototype.updateMapSource = function () {
    if (!this.map || !this.mapLoaded) {
      return;
    }
    var source = this.map.getSource('sensors');
    if (source) {
      source.setData({type: 'FeatureCollection', features: this.features()});
    }
  };

  // --- selection: popup and detail panel -----------------------------------------------------------

  LivePage.prototype.select = function (code, options) {
    var info = this.info(code);
    if (!info.kind) {
      return;
    }
    var previous = this.selected;
    this.selected = code;
    if (previous && this.rows[previous]) {
      this.rows[previous].li.classList.remove('is-selected');
    }
    if (this.rows[code]) {
      this.rows[code].li.classList.add('is-selected');
      this.rows[code].li.scrollIntoView({block: 'nearest'});
    }
    this.applyFilters();
    var detail = document.getElementById('live-detail');
    detail.hidden = false;
    this.root.classList.add('has-detail');
    this.renderDetail();
    this.popupCode = code;
    this.renderPopup();
    if (this.map && isFinite(info.lon) && isFinite(info.lat)) {
      this.map.resize();
      var padding = {top: 40, left: 40, right: 40, bottom: 40};
      if (options && options.fly) {
        this.map.flyTo({center: [info.lon, info.lat], zoom: Math.max(this.map.getZoom(), 15), padding: padding, essential: true});
      } else {
        var p = this.map.project([info.lon, info.lat]);
        var c = this.map.getContainer();
        if (p.x < 0 || p.y < 0 || p.x > c.clientWidth || p.y > c.clientHeight) {
          this.map.easeTo({center: [info.lon, info.lat], padding: padding});
        }
      }
    }
    if (previous !== code) {
      window.clearTimeout(this.chart.timer);
      // A new object: a request still running for the previous sensor finishes on the old one.
      this.chart = {code: code, fetchedAt: 0, timer: null, loading: false};
      this.clearChart();
      this.refreshChart();
    }
  };

  LivePage.prototype.deselect = function () {
    var code = this.selected;
    this.selected = null;
    if (code && this.rows[code]) {
      this.rows[code].li.classList.remove('is-selected');
    }
    document.getElementById('live-detail').hidden = true;
    this.root.classList.remove('has-detail');
    if (this.popup) {
      this.popup.remove();
    }
    window.clearTimeout(this.chart.timer);
    this.chart = {code: null, fetchedAt: 0, timer: null, loading: false};
    this.applyFilters();
    if (this.map) {
      this.map.resize();
    }
  };

  LivePage.prototype.bindPanels = function () {
    var self = this;
    document.getElementById('live-detail-close').addEventListener('click', function () { self.deselect(); });
    document.addEventListener('keydown', function (event) {
      if (event.key === 'Escape' && self.selected) {
        self.deselect();
      }
    });
  };

  LivePage.prototype.stateChip = function (node, info) {
    node.className = 'live-chip';
    if (!info.hasData) {
      node.textContent = 'No data';
      node.classList.add('is-nodata');
    } else if (info.stale) {
      node.textContent = 'Stale';
      node.classList.add('is-stale');
      node.title = 'No reading for more than ' + formatDuration(this.config.staleAfterS);
    } else {
      node.textContent = 'Live';
      node.classList.add('is-live');
      node.title = '';
    }
  };

  LivePage.prototype.renderDetail = function () {
    var info = this.info(this.selected);
    document.getElementById('live-detail-dot').style.backgroundColor = this.colourOf(info);
    document.getElementById('live-detail-title').textContent = info.name;
    document.getElementById('live-detail-sub').textContent =
      info.kindLabel + (info.name !== info.code ? ' · ' + info.code : '');
    this.stateChip(document.getElementById('live-detail-state'), info);
    var values = document.getElementById('live-detail-values');
    clear(values);
    var headlineName = info.headline ? info.headline.name : null;
    var props = (this.config.catalog[info.kind] || []).slice().sort(function (a, b) {
      return (b.name === headlineName) - (a.name === headlineName);
    });
    props.forEach(function (p) {
      var v = info.item && info.item.values ? info.item.values[p.name] : undefined;
      if (v === undefined && p.name !== headlineName) {
        return; // this sensor does not measure it
      }
      var wrap = el('div', 'live-detail-value' + (p.name === headlineName ? ' is-headline' : ''));
      wrap.appendChild(el('dt', null, p.label));
      wrap.appendChild(el('dd', null, formatValue(v, p.unit)));
      values.appendChild(wrap);
    });
    this.renderDetailAge();
  };

  LivePage.prototype.renderDetailAge = function () {
    var info = this.info(this.selected);
    var node = document.getElementById('live-detail-time');
    if (info.time === null) {
      node.textContent = 'none yet';
    } else {
      node.textContent = formatTime(info.time) + ' (' + formatAge(info.age) + ')';
    }
    var chip = document.getElementById('live-detail-state');
    if ((chip.textContent === 'Stale') !== info.stale) {
      this.stateChip(chip, info);
      document.getElementById('live-detail-dot').style.backgroundColor = this.colourOf(info);
    }
  };

  LivePage.prototype.renderPopup = function () {
    if (!this.popup || !this.map || !this.popupCode) {
      return;
    }
    var info = this.info(this.popupCode);
    if (!isFinite(info.lon) || !isFinite(info.lat)) {
      return;
    }
    var root = el('div', 'live-popup-body');
    var title = el('h3', 'live-popup-title', info.name);
    root.appendChild(title);
    root.appendChild(el('p', 'live-popup-sub', info.kindLabel + (info.name !== info.code ? ' · ' + info.code : '')));
    var value = el('p', 'live-popup-value');
    if (info.headline) {
      value.appendChild(el('span', 'live-popup-label', info.headline.label + ' '));
    }
    value.appendChild(el('strong', null, info.hasData && info.headline ? formatValue(info.value, info.headline.unit) : 'no data'));
    root.appendChild(value);
    var time = el('p', 'live-popup-time');
    root.appendChild(time);
    var chip = el('span', 'live-chip');
    root.appendChild(chip);
    this.popupRefs = {time: time, chip: chip};
    this.renderPopupAge();
    this.popup.setLngLat([info.lon, info.lat]).setDOMContent(root);
    if (!this.popup.isOpen()) {
      this.popup.addTo(this.map);
    }
  };

  LivePage.prototype.renderPopupAge = function () {
    if (!this.popupRefs || !this.popupCode || !this.popup || !this.popup.isOpen()) {
      return;
    }
    var info = this.info(this.popupCode);
    this.popupRefs.time.textContent = info.time === null
      ? 'No reading yet'
      : 'Reading at ' + formatTime(info.time) + ' · ' + formatAge(info.age);
    this.stateChip(this.popupRefs.chip, info);
    if (info.stale) {
      this.popupRefs.chip.textContent = 'Stale: older than ' + formatDuration(this.config.staleAfterS);
    }
  };

  // --- the chart -----------------------------------------------------------------------------------

  // plotly.min.js bundles its own MapLibre and injects that version's CSS into <head>, after ours: move
  // our pinned maplibre-gl.css and live.css back to the end so that they win the cascade.
  function keepOurStylesLast() {
    Array.prototype.forEach.call(document.querySelectorAll('link[data-live-style]'), function (link) {
      document.head.appendChild(link);
    });
  }

  LivePage.prototype.loadPlotly = function () {
    if (window.Plotly) {
      return Promise.resolve(window.Plotly);
    }
    if (!this.plotly) {
      var src = this.root.dataset.plotlySrc;
      this.plotly = new Promise(function (resolve, reject) {
        var script = document.createElement('script');
        script.src = src;
        script.async = true;
        script.onload = function () {
          if (!window.Plotly) {
            reject(new Error('no Plotly'));
            return;
          }
          keepOurStylesLast();
          resolve(window.Plotly);
        };
        script.onerror = function () { reject(new Error('the chart library did not load')); };
        document.head.appendChild(script);
      });
      var self = this;
      this.plotly.catch(function () { self.plotly = null; });
    }
    return this.plotly;
  };

  LivePage.prototype.scheduleChartRefresh = function () {
    var self = this;
    if (!this.chart.code || this.chart.timer) {
      return;
    }
    var wait = Math.max(0, this.chart.fetchedAt + CHART_REFRESH_MS - Date.now());
    this.chart.timer = window.setTimeout(function () {
      self.chart.timer = null;
      self.refreshChart();
    }, wait);
  };

  LivePage.prototype.chartMessage = function (text) {
    var box = document.getElementById('live-chart-message');
    box.textContent = text || '';
    box.hidden = !text;
  };

  LivePage.prototype.clearChart = function () {
    var div = document.getElementById('live-chart');
    if (window.Plotly && div.data) {
      window.Plotly.purge(div);
    }
    this.chartMessage('Loading the last hour…');
  };

  LivePage.prototype.refreshChart = function () {
    var self = this;
    var chart = this.chart;
    var code = chart.code;
    if (!code) {
      return;
    }
    if (chart.loading) {
      this.scheduleChartRefresh(); // readings arrived meanwhile: fetch again after this one
      return;
    }
    chart.loading = true;
    chart.fetchedAt = Date.now();
    var url = '/api/sensors/' + encodeURIComponent(code) + '/readings/?resolution=1m';
    Promise.all([
      this.loadPlotly(),
      fetch(url, {credentials: 'same-origin', headers: {Accept: 'application/json'}}).then(function (response) {
        if (!response.ok) {
          throw new Error('the readings could not be loaded (HTTP ' + response.status + ')');
        }
        return response.json();
      })
    ]).then(function (results) {
      if (self.chart === chart) {
        self.drawChart(results[0], results[1]);
      }
    }).catch(function (error) {
      if (self.chart === chart) {
        self.chartMessage('No chart: ' + error.message + '.');
      }
    }).then(function () {
      chart.loading = false;
    });
  };

  LivePage.prototype.drawChart = function (Plotly, series) {
    var info = this.info(this.chart.code);
    var headlineName = info.headline ? info.headline.name : null;
    var props = (this.config.catalog[info.kind] || []).slice().sort(function (a, b) {
      return (b.name === headlineName) - (a.name === headlineName);
    });
    var points = series.points || [];
    var times = points.map(function (p) { return plotlyTime(Date.parse(p.time)); });
    var headlineUnit = info.headline ? info.headline.unit : null;
    var secondUnit = null;
    var traces = [];
    props.forEach(function (p, index) {
      var ys = points.map(function (pt) {
        var v = pt.values ? pt.values[p.name] : undefined;
        return typeof v === 'number' ? v : null;
      });
      if (!ys.some(function (v) { return v !== null; })) {
        return;
      }
      var axis = 'y';
      var visible = true;
      if (p.unit !== headlineUnit) {
        secondUnit = secondUnit || p.unit;
        axis = 'y2';
        // A third unit would share the right axis with another: offered in the legend, off by default.
        visible = p.unit === secondUnit ? true : 'legendonly';
      }
      traces.push({
        type: 'scatter',
        mode: points.length > 1 ? 'lines' : 'markers',
        name: p.label + ' (' + p.unit + ')',
        x: times,
        y: ys,
        yaxis: axis,
        visible: visible,
        connectgaps: false,
        line: {width: p.name === headlineName ? 2.5 : 1.5, color: CHART_COLOURS[index % CHART_COLOURS.length]},
        marker: {color: CHART_COLOURS[index % CHART_COLOURS.length]},
        hovertemplate: '%{y:.3~f} ' + p.unit + '<extra>' + p.label + '</extra>'
      });
    });
    var div = document.getElementById('live-chart');
    if (!traces.length) {
      if (div.data) {
        Plotly.purge(div);
      }
      this.chartMessage('No readings in the last hour.');
      return;
    }
    this.chartMessage('');
    var end = Date.now();
    var layout = {
      autosize: true,
      margin: {l: 52, r: secondUnit ? 56 : 16, t: 8, b: 36},
      paper_bgcolor: 'rgba(0,0,0,0)',
      plot_bgcolor: 'rgba(0,0,0,0)',
      font: {family: 'system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif', size: 11, color: '#3b4452'},
      showlegend: true,
      legend: {orientation: 'h', x: 0, y: 1.02, yanchor: 'bottom', font: {size: 11}},
      hovermode: 'x unified',
      xaxis: {type: 'date', range: [plotlyTime(end - 3600 * 1000), plotlyTime(end)], gridcolor: '#eceff3', tickformat: '%H:%M'},
      yaxis: {title: {text: headlineUnit || ''}, gridcolor: '#eceff3', zeroline: false, rangemode: 'tozero'},
      uirevision: this.chart.code
    };
    if (secondUnit) {
      layout.yaxis2 = {title: {text: secondUnit}, overlaying: 'y', side: 'right', showgrid: false, zeroline: false, rangemode: 'tozero'};
    }
    var injected = document.head.querySelectorAll('style').length;
    Plotly.react(div, traces, layout, {displayModeBar: false, responsive: true, displaylogo: false});
    if (document.head.querySelectorAll('style').length !== injected) {
      keepOurStylesLast();
    }
  };

  // --- alerts --------------------------------------------------------------------------------------

  LivePage.prototype.renderAlerts = function () {
    var self = this;
    var list = document.getElementById('live-alert-list');
    var alerts = Object.keys(this.state.alerts).map(function (id) { return self.state.alerts[id]; });
    alerts.sort(function (a, b) { return Date.parse(b.started_at) - Date.parse(a.started_at); });
    clear(list);
    this.alertAges = [];
    alerts.forEach(function (alert) { list.appendChild(self.buildAlert(alert)); });
    document.getElementById('live-alert-count').textContent = String(alerts.length);
    document.getElementById('live-alert-count').classList.toggle('is-zero', alerts.length === 0);
    document.getElementById('live-alerts-empty').hidden = alerts.length > 0;
  };

  LivePage.prototype.buildAlert = function (alert) {
    var self = this;
    var li = el('li', 'live-alert' + (alert.acknowledged_by ? ' is-acknowledged' : ''));
    li.dataset.alertId = String(alert.id);
    li.dataset.alertSensor = alert.sensor; // not data-sensor: that marks the sensor list's rows
    li.tabIndex = 0;
    li.title = 'Show ' + alert.sensor + ' on the map';

    var head = el('div', 'live-alert-head');
    head.appendChild(el('span', 'live-alert-kind live-alert-kind-' + alert.kind, alert.kind === 'anomaly' ? 'Anomaly' : 'Threshold'));
    var started = el('span', 'live-alert-started');
    head.appendChild(started);
    li.appendChild(head);

    li.appendChild(el('p', 'live-alert-message', alert.message));
    var meta = this.directory[alert.sensor];
    var sensorLine = el('p', 'live-alert-sensor');
    sensorLine.appendChild(el('span', 'live-label', 'Sensor '));
    sensorLine.appendChild(el('span', null, meta && meta.name ? meta.name + ' (' + alert.sensor + ')' : alert.sensor));
    li.appendChild(sensorLine);

    var foot = el('div', 'live-alert-foot');
    if (alert.acknowledged_by) {
      var ack = el('p', 'live-alert-ack');
      ack.appendChild(el('span', 'live-label', 'Acknowledged by '));
      ack.appendChild(el('strong', 'live-alert-ack-by', alert.acknowledged_by));
      if (alert.acknowledged_at) {
        ack.appendChild(document.createTextNode(' at ' + formatTime(Date.parse(alert.acknowledged_at))));
      }
      foot.appendChild(ack);
    } else {
      var button = el('button', 'live-ack-button', 'Acknowledge');
      button.type = 'button';
      button.addEventListener('click', function (event) {
        event.stopPropagation();
        self.acknowledge(alert, button, foot);
      });
      foot.appendChild(button);
    }
    li.appendChild(foot);

    var go = function () { self.focusAlert(alert); };
    li.addEventListener('click', go);
    li.addEventListener('keydown', function (event) {
      if ((event.key === 'Enter' || event.key === ' ') && event.target === li) {
        event.preventDefault();
        go();
      }
    });
    this.alertAges.push({node: started, at: Date.parse(alert.started_at)});
    this.renderAlertAge(this.alertAges[this.alertAges.length - 1]);
    return li;
  };

  LivePage.prototype.renderAlertAge = function (entry) {
    if (!isFinite(entry.at)) {
      entry.node.textContent = '';
      return;
    }
    entry.node.textContent = 'since ' + formatTime(entry.at) + ' · ' + formatAge(Math.max(0, (Date.now() - entry.at) / 1000));
  };

  LivePage.prototype.renderAlertAges = function () {
    var self = this;
    (this.alertAges || []).forEach(function (entry) { self.renderAlertAge(entry); });
  };

  LivePage.prototype.focusAlert = function (alert) {
    if (this.info(alert.sensor).kind) {
      this.select(alert.sensor, {fly: true});
    } else if (this.map && isFinite(alert.lon) && isFinite(alert.lat)) {
      this.map.flyTo({center: [alert.lon, alert.lat], zoom: Math.max(this.map.getZoom(), 15), essential: true});
    }
  };

  LivePage.prototype.acknowledge = function (alert, button, foot) {
    var self = this;
    button.disabled = true;
    button.textContent = 'Acknowledging…';
    var old = foot.querySelector('.live-alert-error');
    if (old) {
      foot.removeChild(old);
    }
    fetch('/api/alerts/' + encodeURIComponent(String(alert.id)) + '/acknowledge/', {
      method: 'POST',
      credentials: 'same-origin',
      headers: {'Content-Type': 'application/json', Accept: 'application/json', 'X-CSRFToken': cookie('csrftoken')},
      body: JSON.stringify({note: ''})
    }).then(function (response) {
      if (!response.ok) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          throw new Error(body.detail || 'HTTP ' + response.status);
        });
      }
      return response.json();
    }).then(function (item) {
      // The streamed alert item normally arrives first; this covers a socket that is reconnecting.
      if (item && item.id !== undefined && self.state.alerts[item.id]) {
        self.applyAlerts([item], false);
      }
    }).catch(function (error) {
      button.disabled = false;
      button.textContent = 'Acknowledge';
      foot.appendChild(el('p', 'live-alert-error', 'Could not acknowledge: ' + error.message));
    });
  };

  // --- the legend ----------------------------------------------------------------------------------

  LivePage.prototype.buildLegend = function () {
    var self = this;
    var legend = document.getElementById('live-legend');
    KIND_ORDER.forEach(function (kind) {
      var scale = SCALES[kind];
      var unit = '';
      (self.config.catalog[kind] || []).forEach(function (p) {
        if (p.name === self.config.headline[kind]) {
          unit = p.unit;
        }
      });
      var block = el('div', 'live-legend-block');
      block.appendChild(el('p', 'live-legend-title', scale.title + (unit ? ' (' + unit + ')' : '')));
      if (scale.type === 'ramp') {
        var bar = el('div', 'live-legend-ramp');
        var n = scale.stops.length - 1;
        bar.style.background = 'linear-gradient(to right, ' + scale.stops.map(function (s, i) {
          return s[1] + ' ' + Math.round((i / n) * 100) + '%';
        }).join(', ') + ')';
        block.appendChild(bar);
        var ticks = el('div', 'live-legend-ticks');
        scale.stops.forEach(function (s, i) {
          ticks.appendChild(el('span', null, (i === n ? '≥' : '') + formatNumber(s[0])));
        });
        block.appendChild(ticks);
      } else {
        // Steps: one equal segment per band, its range underneath, its name as a tooltip.
        var bands = el('div', 'live-legend-bands');
        var labels = el('div', 'live-legend-bands live-legend-band-labels');
        var lower = null;
        scale.steps.forEach(function (s) {
          var band = el('span', 'live-legend-band');
          band.style.backgroundColor = s[1];
          band.title = s[2];
          bands.appendChild(band);
          var range = lower === null ? '<' + formatNumber(s[0])
            : s[0] === Infinity ? '≥' + formatNumber(lower)
              : formatNumber(lower) + '–' + formatNumber(s[0]);
          labels.appendChild(el('span', null, range));
          lower = s[0];
        });
        block.appendChild(bands);
        block.appendChild(labels);
        var names = el('div', 'live-legend-ticks');
        names.appendChild(el('span', null, scale.steps[0][2]));
        names.appendChild(el('span', null, scale.steps[scale.steps.length - 1][2]));
        block.appendChild(names);
      }
      legend.appendChild(block);
    });
    var other = el('ul', 'live-legend-other');
    [[STALE_COLOUR, 'stale (> ' + formatDuration(this.config.staleAfterS) + ')'], [NO_DATA_COLOUR, 'no data yet']].forEach(function (row) {
      var item = el('li');
      var sw = el('span', 'live-legend-swatch');
      sw.style.backgroundColor = row[0];
      item.appendChild(sw);
      item.appendChild(el('span', 'live-legend-name', row[1]));
      other.appendChild(item);
    });
    legend.appendChild(other);
  };

  function init() {
    var root = document.getElementById('live');
    if (!root) {
      return;
    }
    var page = new LivePage(root);
    window.livePage = page;
    page.start();
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
}());
