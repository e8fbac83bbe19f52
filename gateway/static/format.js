// @ts-check
// Dates and times through Intl in the chosen locale, and <time> elements that carry the instant.

import { h } from "./dom.js";
import { perLocale, t } from "./i18n.js";

/** @type {Record<string, Intl.DateTimeFormatOptions>} */
const STYLES = {
  date: { dateStyle: "medium" },
  dateTime: { dateStyle: "medium", timeStyle: "short" },
  time: { timeStyle: "short" },
  day: { weekday: "long", day: "numeric", month: "long", year: "numeric" },
};
// One formatter per style and locale.
/** @type {Map<string, Map<string, Intl.DateTimeFormat>>} */
const byStyle = new Map();
/**
 * @param {keyof typeof STYLES} style
 * @param {Date} date
 */
function formatIn(style, date) {
  let cache = byStyle.get(style);
  if (!cache) {
    cache = new Map();
    byStyle.set(style, cache);
  }
  return perLocale(cache, (l) => new Intl.DateTimeFormat(l, STYLES[style])).format(date);
}

/** @param {string | null | undefined} iso */
export const fmtDate = (iso) => (iso ? formatIn("date", new Date(iso)) : "");
/** @param {string | null | undefined} iso */
export const fmtDateTime = (iso) => (iso ? formatIn("dateTime", new Date(iso)) : "");
/** @param {string | null | undefined} iso */
export const fmtTime = (iso) => (iso ? formatIn("time", new Date(iso)) : "");

/**
 * A <time> element showing `text` for an RFC 3339 instant.
 * @param {string} iso
 * @param {string} text
 */
export const time = (iso, text) => h("time", { datetime: iso, title: fmtDateTime(iso) }, text);

/**
 * "Today", "Yesterday" or the long date, for a YYYY-MM-DD day in the browser's zone.
 * @param {string} day
 */
export function fmtDay(day) {
  const [y, m, d] = day.split("-").map(Number);
  const date = new Date(y, m - 1, d);
  const today = new Date();
  const startOfToday = new Date(today.getFullYear(), today.getMonth(), today.getDate());
  const diffDays = Math.round((startOfToday.getTime() - date.getTime()) / 86_400_000);
  if (diffDays === 0) return t("day.today");
  if (diffDays === 1) return t("day.yesterday");
  return formatIn("day", date);
}

/**
 * Start → end of a time span: the end date is left out when it is the same day.
 * @param {string} start
 * @param {string | null} end
 */
export function fmtSpan(start, end) {
  if (!end) return fmtDateTime(start);
  const sameDay = new Date(start).toDateString() === new Date(end).toDateString();
  return t("span.range", { start: fmtDateTime(start), end: sameDay ? fmtTime(end) : fmtDateTime(end) });
}
