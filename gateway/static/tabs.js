// @ts-check
// Tabs after the WAI-ARIA tabs pattern: one tab stop, arrow keys (mirrored right to left), Home
// and End move between tabs and select them; Tab goes on into the open panel.

import { h } from "./dom.js";

/**
 * @template {string} K
 * @param {{ key: K, label: string }[]} list
 * @param {{ label: string, selected: K, onSelect: (key: K) => void }} options
 */
export function createTabs(list, { label, selected, onSelect }) {
  let current = selected;
  /** @type {Map<K, HTMLButtonElement>} */
  const tabs = new Map();
  /** @type {Map<K, HTMLDivElement>} */
  const panels = new Map();
  /** @type {Map<K, HTMLSpanElement>} */
  const counts = new Map();
  const tablist = h("div", { class: "tablist", role: "tablist", "aria-label": label });

  for (const { key, label: text } of list) {
    const count = h("span", { class: "count", hidden: true });
    const tab = h(
      "button",
      { type: "button", role: "tab", id: `tab-${key}`, "aria-controls": `panel-${key}`, onclick: () => choose(key, false) },
      h("span", {}, text),
      count,
    );
    tabs.set(key, tab);
    counts.set(key, count);
    panels.set(key, h("div", { class: "tabpanel", role: "tabpanel", id: `panel-${key}`, "aria-labelledby": `tab-${key}`, tabindex: "0" }));
    tablist.append(tab);
  }

  tablist.addEventListener("keydown", (event) => {
    const keys = list.map((item) => item.key);
    const at = keys.indexOf(current);
    const forward = getComputedStyle(tablist).direction === "rtl" ? "ArrowLeft" : "ArrowRight";
    const backward = forward === "ArrowRight" ? "ArrowLeft" : "ArrowRight";
    /** @type {Record<string, number>} */
    const moves = { [forward]: at + 1, [backward]: at - 1, Home: 0, End: keys.length - 1 };
    const to = moves[event.key];
    if (to === undefined) return;
    event.preventDefault();
    choose(keys[(to + keys.length) % keys.length], true);
  });

  /**
   * The user picked a tab: show it at once, and tell the page (which puts it in the URL).
   * @param {K} key
   * @param {boolean} focus
   */
  function choose(key, focus) {
    select(key);
    if (focus) tabs.get(key)?.focus();
    onSelect(key);
  }

  /** @param {K} key */
  function select(key) {
    current = key;
    for (const [name, tab] of tabs) {
      const on = name === key;
      tab.setAttribute("aria-selected", String(on));
      tab.tabIndex = on ? 0 : -1;
      const panel = panels.get(name);
      if (panel) panel.hidden = !on;
    }
  }
  select(current);

  return {
    tablist,
    panels,
    select,
    /**
     * A tab's count; empty hides it.
     * @param {K} key
     * @param {string} text
     */
    setCount(key, text) {
      const count = counts.get(key);
      if (!count) return;
      count.textContent = text;
      count.hidden = text === "";
    },
  };
}
