// @ts-check
// Small pieces several views show: platform badges, tag chips, avatars, sentiment, notices,
// modal dialogs.

import { h, replace, safeUrl, uid } from "./dom.js";
import { t } from "./i18n.js";
import { icon } from "./icons.js";

/** @typedef {{ id: string, name: string, color: string }} Tag */

/** Platforms with an icon and a name of their own, in the order filters list them. */
export const PLATFORMS = /** @type {const} */ (["whatsapp", "instagram", "web"]);
/** @type {Record<string, import("./i18n.js").MessageKey>} */
const PLATFORM_NAMES = { whatsapp: "platform.whatsapp", instagram: "platform.instagram", web: "platform.web" };

/** @param {string} platform */
export const platformName = (platform) => (PLATFORM_NAMES[platform] ? t(PLATFORM_NAMES[platform]) : platform);

/**
 * A platform's icon with its name for assistive technology (or visibly, with `label`).
 * @param {string} platform
 * @param {{ label?: boolean }} [options]
 */
export function platformBadge(platform, { label = false } = {}) {
  const known = Boolean(PLATFORM_NAMES[platform]);
  return h(
    "span",
    { class: `platform platform-${known ? platform : "other"}` },
    icon(known ? platform : "chat"),
    h("span", { class: label ? "" : "sr-only" }, platformName(platform)),
  );
}

const HEX = /^#[0-9a-f]{6}$/i;

/**
 * Black or white, whichever reads better on `hex` (WCAG relative luminance).
 * @param {string} hex
 */
export function textColourFor(hex) {
  /** @param {number} i */
  const channel = (i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const lum = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
  // Contrast against white is 1.05/(L+0.05), against near-black (#111) (L+0.05)/0.056.
  return 1.05 / (lum + 0.05) >= (lum + 0.05) / 0.056 ? "#ffffff" : "#111111";
}

/**
 * A tag chip in the tag's colour, with text that stays readable on it.
 * @param {Tag} tag
 * @param {string} [extraClass]
 */
export function tagChip(tag, extraClass = "") {
  const chip = h("span", { class: `tag ${extraClass}`.trim(), dir: "auto" }, tag.name);
  const colour = HEX.test(tag.color ?? "") ? tag.color : "#6b7280";
  chip.style.setProperty("--tag-bg", colour);
  chip.style.setProperty("--tag-fg", textColourFor(colour));
  return chip;
}

/**
 * A quiet notice for a section whose service did not answer, optionally with a retry button.
 * @param {string} text
 * @param {() => unknown} [retry]
 */
export function quietNotice(text, retry) {
  return h(
    "div",
    { class: "notice", role: "note" },
    h("p", {}, text),
    retry ? h("button", { type: "button", class: "link-button", onclick: () => retry() }, t("action.retry")) : null,
  );
}

/**
 * Initials for an avatar placeholder: first and last word that start with a letter
 * ("Layla H. Haddad" → "LH", "Visitor 07" → "V").
 * @param {string | null | undefined} name
 */
export function initials(name) {
  const words = (name ?? "")
    .trim()
    .split(/\s+/)
    .filter((w) => /^\p{L}/u.test(w));
  const picked = words.length > 1 ? [words[0], words[words.length - 1]] : words;
  return picked.map((w) => [...w][0].toUpperCase()).join("") || "?";
}

/**
 * An avatar: the image if it loads, else the initials.
 * @param {string | null | undefined} name
 * @param {string | null | undefined} url
 * @param {"sm" | "md" | "lg"} [size]
 */
export function avatar(name, url, size = "md") {
  const box = h("span", { class: `avatar avatar-${size}`, "aria-hidden": "true" }, initials(name));
  const src = safeUrl(url);
  if (src) {
    const img = h("img", { src, alt: "", loading: "lazy", referrerpolicy: "no-referrer" });
    // On error the initials simply stay.
    img.addEventListener("load", () => replace(box, img));
  }
  return box;
}

/** @type {Record<string, import("./i18n.js").MessageKey>} */
const SENTIMENTS = { positive: "sentiment.positive", neutral: "sentiment.neutral", negative: "sentiment.negative" };

/**
 * Sentiment as a coloured dot and a word.
 * @param {string | null | undefined} label
 * @param {string} [extra]
 */
export function sentiment(label, extra = "") {
  if (!label) return null;
  const known = SENTIMENTS[label];
  return h(
    "span",
    { class: `sentiment sentiment-${known ? label : "neutral"}` },
    h("span", { class: "dot", "aria-hidden": "true" }),
    h("span", { class: "sr-only" }, t("sentiment.prefix")),
    `${known ? t(known) : label}${extra}`,
  );
}

/**
 * A modal dialog named by its heading, taken out of the page once closed; the caller fills `body`.
 * @param {string} title
 */
export function modal(title) {
  const heading = h("h2", { id: uid("dialog") }, title);
  const body = h("div", { class: "dialog-body" });
  const element = h("dialog", { class: "modal", "aria-labelledby": heading.id }, heading, body);
  element.addEventListener("close", () => element.remove());
  document.body.append(element);
  element.showModal();
  return { element, body, close: () => element.close() };
}
/** @typedef {ReturnType<typeof modal>} Modal */
