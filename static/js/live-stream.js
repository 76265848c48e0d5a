/*
 * The live map (/live/), part 2 of 7: the state (the newest item per sensor and the open alerts) and the websocket: subscribe, snapshots, updates, seq gaps and resyncs, reconnects with backoff, pings.
 * LivePage and the helpers come from live-base.js (window.CityTwinLive).
 */
(function () {
  'use strict';

  var live = window.CityTwinLive;
  var KIND_ORDER = live.KIND_ORDER;
  var STALE_COLOUR = live.STALE_COLOUR;
  var NO_DATA_COLOUR = live.NO_DATA_COLOUR;
  var RECONNECT_MIN_MS = live.RECONNECT_MIN_MS;
  var RECONNECT_MAX_MS = live.RECONNECT_MAX_MS;
  var SILENCE_LIMIT_MS = live.SILENCE_LIMIT_MS;
  var CLOSE_SIGNED_OUT = live.CLOSE_SIGNED_OUT;
  var colourFor = live.colourFor;
  var LivePage = live.LivePage;

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
}());
