/*
 * The run page's KPI cards: one card per headline figure (mean over seeds, with its 95 % interval when the
 * run had several seeds), shared by the trip cards and the energy cards. The energy cards stay hidden for a
 * run without energy (its document's `energy` false, or no energy figures reported).
 */
import { el, formatNumber } from "./api.js";

// Energy and emission figures shown as cards, in this order (the others go to "All figures").
export const ENERGY_KPI_LABELS = {
  co2_kg: ["CO₂", "kg"],
  nox_g: ["NOx", "g"],
  pmx_g: ["PMx", "g"],
  fuel_l: ["Fuel", "l"],
  electricity_kwh: ["EV electricity", "kWh"],
  charging_kwh: ["Charging", "kWh"],
  peak_substation_loading_pct: ["Peak substation loading", "%"],
};

export function card(container, label, value, unit, extra) {
  const box = el("div", "sc-kpi");
  box.dataset.kpi = label;
  box.append(el("span", "sc-kpi-value", `${value}${unit ? ` ${unit}` : ""}`), el("span", "sc-kpi-label", label));
  if (extra) box.append(el("span", "sc-kpi-extra", extra));
  container.append(box);
}

export function kpiValue(raw) {
  if (raw && typeof raw === "object" && "mean" in raw) {
    const spread = raw.ci95 ?? null;
    return [formatNumber(raw.mean, 1), spread !== null ? `± ${formatNumber(spread, 1)}` : null];
  }
  return typeof raw === "number" ? [formatNumber(raw, 1), null] : [null, null];
}

/** The energy cards into `box`; returns whether any was drawn. */
export function renderEnergyKpis(box, run) {
  box.replaceChildren();
  const doc = run.document || {};
  const kpis = run.kpis || {};
  if (doc.energy === false) return false;
  Object.entries(ENERGY_KPI_LABELS).forEach(([key, [label, unit]]) => {
    const [value, extra] = kpiValue(kpis[key]);
    if (value !== null) card(box, label, value, unit, extra);
  });
  return box.childElementCount > 0;
}
