// Small DOM helpers: element building, labelled fields, and the placement
// of engine errors next to the field or action they concern.

import { t } from "./i18n.js";
import { errorText } from "./refusals.js";

let uid = 0;
export function nextId(prefix = "f") {
  uid += 1;
  return `${prefix}-${uid}`;
}

/** h("button", {class: "x", onclick: f}, "text", child…) */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (k === "class") el.className = v;
      else if (k === "text") el.textContent = v;
      else if (k === "dataset") Object.assign(el.dataset, v);
      else if (v === true) el.setAttribute(k, "");
      else el.setAttribute(k, String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/**
 * A labelled control. `name` is the engine field the control fills (as in
 * error details, e.g. `beneficiary.name`); errors about it appear below it.
 */
export function field(label, control, name, hint) {
  const id = control.id || nextId();
  control.id = id;
  if (name) control.dataset.field = name;
  const errId = `${id}-err`;
  const hintId = hint ? `${id}-hint` : null;
  control.setAttribute("aria-describedby", [hintId, errId].filter(Boolean).join(" "));
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    hint ? h("p", { class: "hint", id: hintId }, hint) : null,
    control,
    h("p", { class: "field-error", id: errId, hidden: true }),
  );
}

export function input(attrs = {}) {
  return h("input", { type: "text", ...attrs });
}

export function select(options, attrs = {}) {
  const el = h("select", attrs);
  for (const [value, label] of options) el.append(h("option", { value }, label));
  if (attrs.value !== undefined) el.value = attrs.value;
  return el;
}

export function button(label, onclick, attrs = {}) {
  return h("button", { type: "button", onclick, ...attrs }, label);
}

/** The area where an action's outcome (success, queued or error) is shown. */
export function outcomeArea() {
  return h("div", { class: "outcome", role: "status", "aria-live": "polite" });
}

function clearErrors(scope) {
  for (const p of scope.querySelectorAll(".field-error")) {
    p.hidden = true;
    p.textContent = "";
  }
  for (const c of scope.querySelectorAll("[aria-invalid]")) c.removeAttribute("aria-invalid");
  for (const o of scope.querySelectorAll(".outcome")) {
    o.textContent = "";
    o.className = "outcome";
  }
}

/** The control of `scope` that an error is about, from its details. */
function controlFor(scope, err) {
  const d = err.details || {};
  const names = [];
  if (d.field) names.push(d.field.replace(/\[\d+\]/g, ""));
  for (const k of Object.keys(d)) if (k !== "field") names.push(k);
  for (const name of names) {
    for (const c of scope.querySelectorAll("[data-field]")) {
      const fields = c.dataset.field.split(" ");
      const hasSlot = c.id && scope.querySelector(`#${CSS.escape(c.id)}-err`);
      if (hasSlot && fields.some((f) => f === name || name.startsWith(`${f}.`) || f.endsWith(`.${name}`))) return c;
    }
  }
  return null;
}

/**
 * Shows an action's outcome inside `scope` (a form or panel): an error next
 * to its field when the details name one, else in the scope's outcome area.
 * Returns true on success (done or queued).
 */
export function showOutcome(scope, out, success) {
  clearErrors(scope);
  const area = scope.querySelector(".outcome");
  if (out.error) {
    const control = controlFor(scope, out.error);
    const text = errorText(out.error, Boolean(control));
    if (control) {
      control.setAttribute("aria-invalid", "true");
      const p = scope.querySelector(`#${CSS.escape(control.id)}-err`);
      p.textContent = text;
      p.hidden = false;
      p.dataset.code = out.error.code;
      control.focus();
    }
    if (area) {
      area.className = "outcome error";
      area.dataset.code = out.error.code;
      area.textContent = control ? "" : text;
      if (!control) area.setAttribute("role", "alert");
    }
    return false;
  }
  if (area) {
    area.removeAttribute("data-code");
    area.setAttribute("role", "status");
    if (out.queued) {
      area.className = "outcome queued";
      area.textContent = t("queued");
    } else {
      area.className = "outcome ok";
      area.textContent = success ?? t("done");
    }
  }
  return true;
}

/** Splits "a, b ,c" into ["a","b","c"]. */
export function list(text) {
  return text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Adds minutes to an instant (ms). */
export function plusDays(ms, days) {
  return ms + days * 86400000;
}

/** The local `YYYY-MM-DD` of an instant in a time zone. */
export function localDate(ms, timeZone) {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).formatToParts(new Date(ms));
  const get = (ty) => parts.find((p) => p.type === ty).value;
  return `${get("year")}-${get("month")}-${get("day")}`;
}


/**
 * Marks the empty controls of `scope` that have `data-required` (values the
 * engine cannot even read when empty, such as a date) and returns whether
 * any was empty. Everything else is the engine's to judge.
 */
export function missingRequired(scope) {
  clearErrors(scope);
  let first = null;
  for (const c of scope.querySelectorAll("[data-required]")) {
    if (c.value.trim() !== "") continue;
    c.setAttribute("aria-invalid", "true");
    const p = scope.querySelector(`#${CSS.escape(c.id)}-err`);
    if (p) {
      p.textContent = errorText({ code: "required", message: "", details: {} });
      p.hidden = false;
      p.dataset.code = "required";
    }
    first ??= c;
  }
  first?.focus();
  return first !== null;
}
