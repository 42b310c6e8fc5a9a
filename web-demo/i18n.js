// Spanish, Portuguese and English: the language in use, its labels
// (./labels.js), dates, times and durations in the user's locale. The
// phrases of refusals are in ./refusals.js.

import { STRINGS } from "./labels.js";

export const LANGUAGES = { es: "Español", pt: "Português", en: "English" };

/** The locale used for dates when the browser's own does not match the language. */
const DEFAULT_LOCALE = { es: "es-MX", pt: "pt-BR", en: "en-GB" };

let lang = "es";

export function setLanguage(l) {
  lang = LANGUAGES[l] ? l : "es";
  document.documentElement.lang = lang;
}

export function language() {
  return lang;
}

/** `template` with its {placeholders} taken from `vars` (unknown ones stay). */
export function fill(template, vars) {
  return template.replace(/\{(\w+)\}/g, (_, k) => (vars && vars[k] !== undefined ? String(vars[k]) : `{${k}}`));
}

/** A label in the current language. */
export function t(key, vars) {
  const s = STRINGS[lang][key] ?? STRINGS.en[key] ?? key;
  return fill(s, vars);
}

/**
 * The name of a service code in the current language when the page knows
 * it (the demo network's services); otherwise the name the network gave it.
 */
export function serviceLabel(code, fallback) {
  return STRINGS[lang][`svc_${code}`] ?? fallback ?? code;
}

/** Whether a label exists in each language (tests check one per engine name). */
export function knownLabel(key) {
  return Object.hasOwn(STRINGS.en, key) && Object.hasOwn(STRINGS.es, key) && Object.hasOwn(STRINGS.pt, key);
}

let localeCache = null;
function locale() {
  if (localeCache?.lang === lang) return localeCache.value;
  localeCache = { lang, value: findLocale() };
  return localeCache.value;
}

function findLocale() {
  const nav = (navigator.languages || [navigator.language || ""]).find((l) => l.toLowerCase().startsWith(lang));
  return nav || DEFAULT_LOCALE[lang];
}

const formatters = new Map();
function formatter(timeZone, opts) {
  const k = `${locale()}|${timeZone}|${JSON.stringify(opts)}`;
  let f = formatters.get(k);
  if (!f) {
    f = new Intl.DateTimeFormat(locale(), { timeZone, ...opts });
    formatters.set(k, f);
  }
  return f;
}

/** An instant in a facility's time zone (with the zone's short name). */
export function formatInstant(iso, timeZone = "UTC") {
  if (!iso) return "";
  return formatter(timeZone, { year: "numeric", month: "short", day: "numeric", weekday: "short", hour: "2-digit", minute: "2-digit", timeZoneName: "short" }).format(new Date(iso));
}

export function formatTime(iso, timeZone = "UTC") {
  return formatter(timeZone, { hour: "2-digit", minute: "2-digit" }).format(new Date(iso));
}

export function formatDay(iso, timeZone = "UTC") {
  return formatter(timeZone, { weekday: "short", day: "numeric", month: "short" }).format(new Date(iso));
}

/** A `YYYY-MM-DD` local date as a readable date (no zone shift). */
export function formatDate(date) {
  return formatter("UTC", { dateStyle: "medium" }).format(new Date(`${date}T12:00:00Z`));
}

const numberFormats = new Map();
function numberFormat(unit) {
  const k = `${locale()}|${unit}`;
  let f = numberFormats.get(k);
  if (!f) {
    f = new Intl.NumberFormat(locale(), { style: "unit", unit, unitDisplay: "short" });
    numberFormats.set(k, f);
  }
  return f;
}

/** Minutes as "2 d 3 h" / "45 min", in the user's language via Intl. */
export function formatDuration(minutes) {
  const m = Math.abs(Math.round(minutes));
  const unit = (n, u) => numberFormat(u).format(n);
  if (m < 60) return unit(m, "minute");
  if (m < 48 * 60) return `${unit(Math.floor(m / 60), "hour")} ${unit(m % 60, "minute")}`;
  return `${unit(Math.floor(m / 1440), "day")} ${unit(Math.floor((m % 1440) / 60), "hour")}`;
}
