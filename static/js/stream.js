/*
 * A small client for the one websocket (/ws/, protocol in docs/streaming.md), as an ES module for pages
 * that follow one or two topics (the live map has its own, older client in live.js).
 *
 * openStream() connects, re-subscribes after every reconnect (exponential backoff), and asks for a fresh
 * snapshot when it sees a gap in a subscription's seq. Each subscription gets its items through
 * onItems(items, isSnapshot). onGiveUp() is called when the socket is closed for good (signed out, 4401)
 * or keeps failing, so the page can fall back to polling.
 */
const CLOSE_SIGNED_OUT = 4401;
const RECONNECT_MIN_MS = 1000;
const RECONNECT_MAX_MS = 30000;
const MAX_FAILED_CONNECTS = 5;

export function openStream({ onGiveUp = () => {} } = {}) {
  const subscriptions = new Map(); // id -> {topic, params, onItems, onError, seq}
  let socket = null;
  let delay = RECONNECT_MIN_MS;
  let failures = 0;
  let closed = false;
  let nextId = 1;

  function send(message) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  }

  function subscribeOnSocket(id, sub) {
    sub.seq = null;
    send({ action: "subscribe", id, topic: sub.topic, params: sub.params });
  }

  function onMessage(message) {
    const sub = subscriptions.get(message.id);
    if (!sub) return;
    if (message.type === "snapshot") {
      sub.seq = message.seq;
      sub.onItems(message.items, true);
    } else if (message.type === "update") {
      if (sub.seq !== null && message.seq !== sub.seq + 1) {
        sub.seq = null;
        send({ action: "resync", id: message.id });
        return;
      }
      sub.seq = message.seq;
      sub.onItems(message.items, false);
    } else if (message.type === "error") {
      sub.onError(message);
    }
  }

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(`${scheme}//${window.location.host}/ws/`);
    socket.addEventListener("open", () => {
      delay = RECONNECT_MIN_MS;
      failures = 0;
      subscriptions.forEach((sub, id) => subscribeOnSocket(id, sub));
    });
    socket.addEventListener("message", (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch (error) {
        return;
      }
      onMessage(message);
    });
    socket.addEventListener("close", (event) => {
      socket = null;
      if (closed) return;
      failures += 1;
      if (event.code === CLOSE_SIGNED_OUT || failures >= MAX_FAILED_CONNECTS) {
        closed = true;
        onGiveUp(event.code);
        return;
      }
      window.setTimeout(connect, delay);
      delay = Math.min(delay * 2, RECONNECT_MAX_MS);
    });
  }

  connect();
  return {
    subscribe(topic, params, onItems, onError = () => {}) {
      const id = `s${nextId++}`;
      const sub = { topic, params, onItems, onError, seq: null };
      subscriptions.set(id, sub);
      subscribeOnSocket(id, sub);
      return id;
    },
    close() {
      closed = true;
      if (socket) socket.close();
    },
  };
}

export function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}
