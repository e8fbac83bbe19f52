// @ts-check
// Small DOM helpers. Every piece of data becomes a text node or a property: nothing here parses
// HTML, so names and notes that contain markup stay plain text.

/** @typedef {Node | string | number | null | undefined | false | ChildList} Child */
/** @typedef {Child[]} ChildList */
/**
 * Attributes of h(): "on…" functions become listeners; `value`, `checked`, `disabled`, `hidden`,
 * `selected`, `indeterminate` are set as properties; null/undefined/false are left out.
 * @typedef {{
 *   class?: string | null,
 *   onclick?: (event: MouseEvent) => void,
 *   onchange?: (event: Event) => void,
 *   oninput?: (event: Event) => void,
 *   onsubmit?: (event: SubmitEvent) => void,
 *   onkeydown?: (event: KeyboardEvent) => void,
 *   [name: string]: unknown,
 * }} Attrs
 */

const PROPERTIES = new Set(["value", "checked", "disabled", "hidden", "selected", "indeterminate"]);

/**
 * Create an element: h("a", { href, class: "x", onclick }, "text", child, [more]).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Attrs} [attrs]
 * @param {...Child} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2), /** @type {EventListener} */ (value));
    } else if (name === "class") {
      el.className = String(value);
    } else if (PROPERTIES.has(name)) {
      Reflect.set(el, name, value);
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
  return append(el, children);
}

/**
 * Append strings (as text), nodes and nested lists of them.
 * @template {Element} E
 * @param {E} el
 * @param {ChildList} children
 * @returns {E}
 */
export function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/**
 * Replace all children of `el`.
 * @template {Element} E
 * @param {E} el
 * @param {...Child} children
 * @returns {E}
 */
export function replace(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/**
 * The element with this id, which the page is known to hold.
 * @param {string} id
 * @returns {HTMLElement}
 */
export function byId(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from the page`);
  return el;
}

let idCounter = 0;
/**
 * A unique id for label and aria wiring.
 * @param {string} prefix
 */
export const uid = (prefix) => `${prefix}-${++idCounter}`;

/**
 * Unicode code points, as the server counts text length.
 * @param {string} text
 */
export const charCount = (text) => [...text].length;

/**
 * Only http(s) and same-origin URLs are followed or loaded; anything else becomes null.
 * @param {unknown} value
 * @returns {string | null}
 */
export function safeUrl(value) {
  if (typeof value !== "string" || !value) return null;
  try {
    const url = new URL(value, location.origin);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}
