// @ts-check
// The chosen language: its messages, the text direction, and the locale that Intl formats in.
// Remembered in localStorage; the first visit follows the browser's language.

import ar from "./i18n/ar.js";
import en from "./i18n/en.js";

/**
 * A message: text with {placeholders}, or one text per plural category (Intl.PluralRules).
 * @typedef {string | ({ other: string } & Partial<Record<Intl.LDMLPluralRule, string>>)} Message
 */
/** @typedef {keyof typeof en} MessageKey */
/** @typedef {{ [K in MessageKey]: Message }} Catalogue */
/** @typedef {"en" | "ar"} Language */

/** @type {Record<Language, Catalogue>} */
const CATALOGUES = { en, ar };
/** Each language named in itself, for the switch. @type {Record<Language, string>} */
export const LANGUAGE_NAMES = { en: "English", ar: "العربية" };
const RIGHT_TO_LEFT = new Set(["ar"]);
const STORAGE_KEY = "cp.lang";

/**
 * @param {unknown} value
 * @returns {value is Language}
 */
const isLanguage = (value) => typeof value === "string" && Object.hasOwn(CATALOGUES, value);
/** @param {string} tag */
const primary = (tag) => tag.split("-")[0].toLowerCase();

/** @returns {Language} */
function initialLanguage() {
  const stored = localStorage.getItem(STORAGE_KEY);
  if (isLanguage(stored)) return stored;
  const browser = primary(navigator.language || "en");
  return isLanguage(browser) ? browser : "en";
}

let language = initialLanguage();

/** The language the page is shown in. */
export const currentLanguage = () => language;

/** The BCP 47 locale for Intl: the browser's own when it is a variant of the language (en-GB). */
export function locale() {
  const browser = navigator.language || "";
  return primary(browser) === language ? browser : language;
}

/** "rtl" or "ltr". */
export const direction = () => (RIGHT_TO_LEFT.has(language) ? "rtl" : "ltr");

/** Put `lang` and `dir` on <html> for the current language. */
export function applyLanguage() {
  document.documentElement.lang = language;
  document.documentElement.dir = direction();
}

/**
 * Switch language and remember it.
 * @param {Language} next
 */
export function setLanguage(next) {
  language = next;
  localStorage.setItem(STORAGE_KEY, next);
  applyLanguage();
}

/** @type {Map<string, Intl.PluralRules>} */
const pluralRules = new Map();
/** @type {Map<string, Intl.NumberFormat>} */
const numberFormats = new Map();

/**
 * @template T
 * @param {Map<string, T>} cache
 * @param {(locale: string) => T} make
 * @returns {T}
 */
export function perLocale(cache, make) {
  const key = locale();
  let value = cache.get(key);
  if (value === undefined) {
    value = make(key);
    cache.set(key, value);
  }
  return value;
}

/**
 * A number in the chosen locale.
 * @param {number} n
 * @param {Intl.NumberFormatOptions} [options]
 */
export function fmtNumber(n, options = {}) {
  const key = `${locale()} ${JSON.stringify(options)}`;
  let format = numberFormats.get(key);
  if (!format) {
    format = new Intl.NumberFormat(locale(), options);
    numberFormats.set(key, format);
  }
  return format.format(n);
}

/**
 * The message `key` in the chosen language, with {placeholders} filled in; numbers are formatted
 * in the locale, and `count` picks the plural form.
 * @param {MessageKey} key
 * @param {Record<string, string | number>} [vars]
 * @returns {string}
 */
export function t(key, vars = {}) {
  const message = CATALOGUES[language][key] ?? en[key];
  let text;
  if (typeof message === "string") {
    text = message;
  } else {
    const count = typeof vars.count === "number" ? vars.count : 0;
    const category = perLocale(pluralRules, (l) => new Intl.PluralRules(l)).select(count);
    text = message[category] ?? message.other;
  }
  return text.replace(/\{(\w+)\}/g, (whole, name) => {
    const value = vars[name];
    if (value === undefined) return whole;
    return typeof value === "number" ? fmtNumber(value) : value;
  });
}
