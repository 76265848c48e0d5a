/*
 * The scenario pages' calls to the API: JSON in and out with the session cookie and the CSRF token, and one
 * error type that keeps the API's error body ({code, detail, errors}) so a form can put each message next
 * to its field. Also the small formatting helpers the three pages share (times of day, numbers, elements).
 */
import { csrfToken } from "../stream.js";

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.detail) || `The server answered ${status}.`);
    this.status = status;
    this.code = (body && body.code) || "error";
    this.errors = (body && body.errors) || null;
  }
}

async function parse(response) {
  const type = response.headers.get("Content-Type") || "";
  const body = type.includes("json") ? await response.json().catch(() => null) : null;
  if (!response.ok) {
    if (response.status === 401 || response.status === 403) {
      // Signed out in another tab, or the role changed: say so rather than failing silently.
      throw new ApiError(response.status, body || { detail: "You are not allowed to do this (are you still signed in?)." });
    }
    throw new ApiError(response.status, body);
  }
  return body;
}

export async function getJSON(url) {
  const response = await fetch(url, { headers: { Accept: "application/json, application/geo+json" }, credentials: "same-origin" });
  return parse(response);
}

export async function sendJSON(method, url, data) {
  const response = await fetch(url, {
    method,
    headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
    credentials: "same-origin",
    body: data === undefined ? undefined : JSON.stringify(data),
  });
  return parse(response);
}

/** Every item of a paginated list ({results, next}) or a plain array, following `next` up to `maxPages`. */
export async function getAll(url, maxPages = 20) {
  const items = [];
  let next = url;
  for (let page = 0; next && page < maxPages; page += 1) {
    const body = await getJSON(next);
    if (Array.isArray(body)) return items.concat(body);
    items.push(...(body.results || body.features || []));
    next = body.next || null;
  }
  return items;
}

/**
 * The API's field errors as a flat map "demand.period" -> ["message"], whatever their nesting
 * ({"demand": {"period": [...]}}, {"edits": [{}, {"segment": [...]}]} or {"edits": {"1": ...}}).
 */
export function flattenErrors(errors, prefix = "", out = {}) {
  if (errors === null || errors === undefined) return out;
  if (typeof errors === "string") {
    (out[prefix || "_"] ||= []).push(errors);
  } else if (Array.isArray(errors)) {
    if (errors.every((e) => typeof e === "string")) {
      if (errors.length) (out[prefix || "_"] ||= []).push(...errors);
    } else {
      errors.forEach((e, i) => flattenErrors(e, prefix ? `${prefix}.${i}` : String(i), out));
    }
  } else if (typeof errors === "object") {
    Object.entries(errors).forEach(([key, value]) => {
      const name = key === "non_field_errors" ? prefix : prefix ? `${prefix}.${key}` : key;
      flattenErrors(value, name, out);
    });
  }
  return out;
}

/** "07:30" from 27000 seconds of the day; 86400 is "24:00". */
export function clock(seconds) {
  const s = Math.max(0, Math.round(Number(seconds) || 0));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  const hm = `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}`;
  return rest ? `${hm}:${String(rest).padStart(2, "0")}` : hm;
}

/** Seconds of the day from an <input type=time> value ("07:30" or "07:30:15"); NaN when empty. */
export function secondsOf(value) {
  const match = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(value || "");
  if (!match) return Number.NaN;
  return Number(match[1]) * 3600 + Number(match[2]) * 60 + Number(match[3] || 0);
}

export function formatNumber(value, digits = 1) {
  if (value === null || value === undefined || value === "") return "–";
  const number = Number(value);
  if (!Number.isFinite(number)) return String(value);
  return number.toLocaleString("en-GB", { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

/** createElement with a class and text: values from the API are never parsed as HTML. */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

export function readConfig(id) {
  const element = document.getElementById(id);
  return element ? JSON.parse(element.textContent) : {};
}
