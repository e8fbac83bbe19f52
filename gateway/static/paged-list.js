// @ts-check
// A tab panel showing one cursor-paged list, refreshed from its first page, with "Show more".

import { api } from "./api.js";
import { h, replace } from "./dom.js";
import { t } from "./i18n.js";
import { quietNotice } from "./widgets.js";

const PAGE = 25;

/**
 * @template T
 * @param {HTMLElement} panel
 * @param {{
 *   title: string,
 *   path: string,
 *   item: (item: T) => HTMLElement,
 *   wrap: (items: HTMLElement[]) => HTMLElement,
 *   empty: string,
 *   unavailable: string,
 *   isDisposed: () => boolean,
 * }} options
 */
export function createPagedList(panel, { title, path, item, wrap, empty, unavailable, isDisposed }) {
  const list = h("div", { class: "list" });
  const more = h("button", { type: "button", class: "more", hidden: true, onclick: () => load(true) }, t("list.more"));
  /** @type {{ items: T[], next: string | null }} */
  const loaded = { items: [], next: null };
  replace(panel, h("h2", { class: "sr-only" }, title), list, more);

  /** @param {boolean} [append] the next page after those shown */
  async function load(append = false) {
    let page;
    try {
      page = (await api(path, { query: { limit: PAGE, cursor: append ? loaded.next : null } })).data;
    } catch (e) {
      const failure = /** @type {import("./api.js").ApiError} */ (e);
      if (isDisposed() || failure.status === 401) return;
      replace(list, quietNotice(failure.unavailable ? unavailable : t("list.failed", { reason: failure.message }), () => load()));
      more.hidden = true;
      return;
    }
    if (isDisposed()) return;
    /** @type {T[]} */
    const items = Array.isArray(page?.items) ? page.items : [];
    loaded.items = append ? [...loaded.items, ...items] : items;
    loaded.next = page?.next_cursor ?? null;
    more.hidden = !loaded.next;
    replace(list, loaded.items.length ? wrap(loaded.items.map(item)) : h("p", { class: "empty" }, empty));
  }

  return { load };
}
