/*
 * The page of one job (/jobs/<id>/): its progress, what it is doing and how it ended, live over the
 * `jobs` topic (polling /api/jobs/<id>/ if the socket gives up), a cancel button, and on success the way
 * on to the job's result (an import's report).
 */
import { csrfToken, openStream } from "./stream.js";

const FINAL = new Set(["succeeded", "failed", "cancelled"]);
const POLL_MS = 1000;
const config = JSON.parse(document.getElementById("job-config").textContent);
const bar = document.getElementById("job-progress");
const percent = document.getElementById("job-percent");
const state = document.getElementById("job-state");
const status = document.getElementById("job-status");
const error = document.getElementById("job-error");
const cancel = document.getElementById("job-cancel");
const next = document.getElementById("job-next");
let stream = null;
let finished = false;

function show(job) {
  if (finished) return;
  bar.value = job.progress;
  percent.textContent = `${Math.round(job.progress)} %`;
  state.textContent = job.state;
  state.className = `badge ${job.state}`;
  status.textContent = job.status_text ?? job.status ?? "";
  if (job.error) {
    error.textContent = job.error;
    error.hidden = false;
  }
  cancel.hidden = FINAL.has(job.state) || job.cancel_requested;
  if (FINAL.has(job.state)) {
    finished = true;
    if (stream) stream.close();
    // The item on the socket has no result: read the job once for where to go next.
    fetch(config.api_url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then((response) => response.json())
      .then((detail) => {
        const url = detail.result && detail.result.url;
        if (detail.state === "succeeded" && url) {
          next.href = url;
          next.hidden = false;
          window.setTimeout(() => window.location.assign(url), 800);
        }
      });
  }
}

function poll() {
  fetch(config.api_url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
    .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
    .then((job) => {
      show(job);
      if (!finished) window.setTimeout(poll, POLL_MS);
    })
    .catch(() => window.setTimeout(poll, POLL_MS * 3));
}

cancel.addEventListener("click", () => {
  cancel.disabled = true;
  fetch(config.cancel_url, {
    method: "POST",
    headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
    credentials: "same-origin",
  })
    .then((response) => response.json())
    .then(show)
    .finally(() => {
      cancel.disabled = false;
    });
});

if (!FINAL.has(config.state)) {
  stream = openStream({ onGiveUp: poll });
  stream.subscribe("jobs", { job: config.id }, (items) => items.forEach(show), poll);
}
