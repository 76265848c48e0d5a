/*
 * A run's progress, live: one job per seed, each followed on the `jobs` topic of the websocket (as the job
 * page does), and the run itself read again every few seconds, which is the authority on the run's state
 * (and the fallback when the socket gives up). onUpdate(run) gets the run with its seeds' latest progress.
 */
import { getJSON } from "./api.js";
import { openStream } from "../stream.js";

export const FINAL = new Set(["succeeded", "failed", "cancelled"]);
const POLL_MS = 2500;

export function followRun(url, { onUpdate, onFinal, onError = () => {} }) {
  let run = null;
  let stream = null;
  let done = false;
  const followed = new Set();
  const jobs = new Map(); // job id -> latest item from the socket

  function merged() {
    const seeds = (run.seeds || []).map((seed) => {
      const item = seed.job ? jobs.get(seed.job) : null;
      // Whichever is further along: the socket's item or the run's own read.
      if (item && (FINAL.has(item.state) || item.progress >= (seed.progress || 0))) {
        return { ...seed, state: item.state, progress: item.progress, status_text: item.status || seed.status_text };
      }
      return seed;
    });
    const progress = seeds.length ? seeds.reduce((sum, s) => sum + Number(s.progress || 0), 0) / seeds.length : run.progress;
    return { ...run, seeds, progress: FINAL.has(run.state) ? run.progress : Math.max(Number(run.progress || 0), progress) };
  }

  function subscribe() {
    if (!stream) stream = openStream({ onGiveUp: () => {} });
    (run.seeds || []).forEach((seed) => {
      if (!seed.job || followed.has(seed.job)) return;
      followed.add(seed.job);
      stream.subscribe("jobs", { job: seed.job }, (items) => {
        items.forEach((item) => jobs.set(item.id, item));
        if (!done) onUpdate(merged());
      });
    });
  }

  async function poll() {
    try {
      run = await getJSON(url);
    } catch (error) {
      onError(error);
      if (!done) window.setTimeout(poll, POLL_MS * 2);
      return;
    }
    if (FINAL.has(run.state)) {
      done = true;
      if (stream) stream.close();
      onUpdate(run);
      onFinal(run);
      return;
    }
    subscribe();
    onUpdate(merged());
    window.setTimeout(poll, POLL_MS);
  }

  poll();
  return {
    /** A fresh read now (after a cancel), without waiting for the next poll. */
    refresh: () => getJSON(url).then((fresh) => {
      run = fresh;
      if (!done) onUpdate(merged());
    }),
  };
}
