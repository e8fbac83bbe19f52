// Small DOM and formatting helpers. Every piece of data becomes a text node or a property:
// nothing here parses HTML, so names and notes that contain markup stay plain text.

import { icon } from "./icons.js";

/**
 * Create an element: h("a", { href, class: "x", onclick }, "text", child, [more]).
 * Attributes starting with "on" become listeners; `value`, `checked`, `disabled`, `hidden`,
 * `selected` are set as properties; null/undefined/false attributes are left out.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2), value);
    } else if (name === "class") {
      el.className = value;
    } else if (["value", "checked", "disabled", "hidden", "selected"].includes(name)) {
      el[name] = value;
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

/** Append strings (as text), nodes and nested arrays of them. */
export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replace all children of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

let idCounter = 0;
/** A unique id for label/aria wiring. */
export const uid = (prefix) => `${prefix}-${++idCounter}`;

/** Unicode code points, as the server counts text length. */
export const charCount = (text) => [...text].length;

const numberFormat = new Intl.NumberFormat();
export const fmtNumber = (n) => numberFormat.format(n);

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const timeFormat = new Intl.DateTimeFormat(undefined, { timeStyle: "short" });
const dayFormat = new Intl.DateTimeFormat(undefined, {
  weekday: "long",
  day: "numeric",
  month: "long",
  year: "numeric",
});

export const fmtDate = (iso) => (iso ? dateFormat.format(new Date(iso)) : "");
export const fmtDateTime = (iso) => (iso ? dateTimeFormat.format(new Date(iso)) : "");
export const fmtTime = (iso) => (iso ? timeFormat.format(new Date(iso)) : "");

/** A <time> element showing `text` for an RFC 3339 instant. */
export const time = (iso, text) => h("time", { datetime: iso, title: fmtDateTime(iso) }, text);

/** "Today", "Yesterday" or the long date, for a YYYY-MM-DD day in the browser's zone. */
export function fmtDay(day) {
  const [y, m, d] = day.split("-").map(Number);
  const date = new Date(y, m - 1, d);
  const today = new Date();
  const startOfToday = new Date(today.getFullYear(), today.getMonth(), today.getDate());
  const diffDays = Math.round((startOfToday - date) / 86_400_000);
  if (diffDays === 0) return "Today";
  if (diffDays === 1) return "Yesterday";
  return dayFormat.format(date);
}

/** Start → end of a time span: the end date is left out when it is the same day. */
export function fmtSpan(start, end) {
  if (!end) return fmtDateTime(start);
  const sameDay = new Date(start).toDateString() === new Date(end).toDateString();
  return `${fmtDateTime(start)} → ${sameDay ? fmtTime(end) : fmtDateTime(end)}`;
}

/** Only http(s) and same-origin URLs are followed or loaded; anything else becomes null. */
export function safeUrl(value) {
  if (typeof value !== "string" || !value) return null;
  try {
    const url = new URL(value, location.origin);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

export const PLATFORMS = {
  whatsapp: "WhatsApp",
  instagram: "Instagram",
  web: "Web chat",
};
export const platformName = (p) => PLATFORMS[p] ?? p;

/** A platform's icon with its name for assistive technology (or visibly, with `label`). */
export function platformBadge(platform, { label = false } = {}) {
  return h(
    "span",
    { class: `platform platform-${PLATFORMS[platform] ? platform : "other"}` },
    icon(PLATFORMS[platform] ? platform : "chat"),
    h("span", { class: label ? "" : "sr-only" }, platformName(platform)),
  );
}

const HEX = /^#[0-9a-f]{6}$/i;

/** Black or white, whichever reads better on `hex` (WCAG relative luminance). */
export function textColourFor(hex) {
  const channel = (i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const lum = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
  // Contrast against white is 1.05/(L+0.05), against near-black (#111) (L+0.05)/0.056.
  return 1.05 / (lum + 0.05) >= (lum + 0.05) / 0.056 ? "#ffffff" : "#111111";
}

/** A tag chip in the tag's colour, with text that stays readable on it. */
export function tagChip(tag, extraClass = "") {
  const chip = h("span", { class: `tag ${extraClass}`.trim() }, tag.name);
  const colour = HEX.test(tag.color ?? "") ? tag.color : "#6b7280";
  chip.style.setProperty("--tag-bg", colour);
  chip.style.setProperty("--tag-fg", textColourFor(colour));
  return chip;
}

/** A quiet notice for a section whose service did not answer, optionally with a retry button. */
export function quietNotice(text, retry) {
  return h(
    "div",
    { class: "notice", role: "note" },
    h("p", {}, text),
    retry ? h("button", { type: "button", class: "link-button", onclick: retry }, "Try again") : null,
  );
}

/** Initials for an avatar placeholder. */
export function initials(name) {
  // First and last word that start with a letter: "Layla H. Haddad" → "LH", "Visitor 07" → "V".
  const words = (name ?? "").trim().split(/\s+/).filter((w) => /^\p{L}/u.test(w));
  const picked = words.length > 1 ? [words[0], words[words.length - 1]] : words;
  return picked.map((w) => [...w][0].toUpperCase()).join("") || "?";
}

/** An avatar: the image if it loads, else the initials. */
export function avatar(name, url, size = "md") {
  const box = h("span", { class: `avatar avatar-${size}`, "aria-hidden": "true" }, initials(name));
  const src = safeUrl(url);
  if (src) {
    const img = h("img", { src, alt: "", loading: "lazy", referrerpolicy: "no-referrer" });
    img.addEventListener("load", () => replace(box, img));
    // On error the initials simply stay.
  }
  return box;
}
