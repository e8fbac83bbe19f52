// @ts-check
// The grid's table: sortable column headers, one row per customer, a checkbox per row for bulk tags.

import { h, replace } from "./dom.js";
import { fmtDate, time } from "./format.js";
import { t } from "./i18n.js";
import { icon } from "./icons.js";
import { sortParts } from "./grid-query.js";
import { avatar, platformBadge, tagChip } from "./widgets.js";

/**
 * One row of GET /v1/customers.
 * @typedef {{
 *   id: string, name: string, avatar_url: string | null, platforms: string[],
 *   tags: import("./widgets.js").Tag[], created_at: string, last_contact_at: string,
 * }} GridItem
 */
/** @typedef {import("./grid-query.js").SortKey} SortKey */

/** @type {{ key: string, label: import("./i18n.js").MessageKey, sort?: SortKey }[]} */
const COLUMNS = [
  { key: "name", label: "grid.col.customer", sort: "name" },
  { key: "platforms", label: "grid.col.platforms" },
  { key: "tags", label: "grid.col.tags" },
  { key: "created", label: "grid.col.created", sort: "created_at" },
  { key: "contact", label: "grid.col.lastContact", sort: "last_contact_at" },
];

/**
 * @param {{
 *   onSort: (key: SortKey) => void,
 *   onSelect: (ids: string[], selected: boolean) => void,
 * }} handlers
 */
export function createTable({ onSort, onSelect }) {
  /** @type {GridItem[]} */
  let items = [];
  const selectAll = h("input", {
    type: "checkbox",
    "aria-label": t("bulk.selectPage"),
    onchange: () => onSelect(items.map((i) => i.id), selectAll.checked),
  });
  /** @type {Map<SortKey, HTMLTableCellElement>} */
  const sortable = new Map();
  const headers = COLUMNS.map((column) => {
    if (!column.sort) return h("th", { scope: "col" }, t(column.label));
    const key = column.sort;
    const cell = h(
      "th",
      { scope: "col", class: "sortable" },
      h("button", { type: "button", class: "sort-button", onclick: () => onSort(key) }, t(column.label), icon("sort")),
    );
    sortable.set(key, cell);
    return cell;
  });
  const tbody = h("tbody");
  const element = h(
    "div",
    { class: "card table-card" },
    h(
      "table",
      { class: "customers" },
      h("caption", { class: "sr-only" }, t("grid.title")),
      h("thead", {}, h("tr", {}, h("th", { scope: "col", class: "select" }, selectAll), headers)),
      tbody,
    ),
  );

  /**
   * @param {GridItem} customer
   * @param {boolean} checked
   */
  function row(customer, checked) {
    const name = customer.name || t("grid.noName");
    /** @param {string | null} iso */
    const when = (iso) => (iso ? time(iso, fmtDate(iso)) : "—");
    return h(
      "tr",
      { "data-customer-id": customer.id, class: checked ? "selected" : null },
      h(
        "td",
        { class: "select" },
        h("input", {
          type: "checkbox",
          checked,
          "aria-label": t("bulk.selectOne", { name }),
          onchange: (event) => onSelect([customer.id], /** @type {HTMLInputElement} */ (event.target).checked),
        }),
      ),
      h(
        "td",
        { "data-label": t("grid.col.customer") },
        h(
          "a",
          { class: "customer-link", href: `#/customers/${encodeURIComponent(customer.id)}` },
          avatar(name, customer.avatar_url, "sm"),
          h("span", { class: "name", dir: "auto" }, name),
        ),
      ),
      h(
        "td",
        { "data-label": t("grid.col.platforms") },
        h("span", { class: "platforms" }, (customer.platforms ?? []).map((p) => platformBadge(p))),
      ),
      h("td", { "data-label": t("grid.col.tags") }, h("span", { class: "tags" }, (customer.tags ?? []).map((tag) => tagChip(tag)))),
      h("td", { "data-label": t("grid.col.created") }, when(customer.created_at)),
      h("td", { "data-label": t("grid.col.lastContact") }, when(customer.last_contact_at)),
    );
  }

  return {
    element,
    /**
     * @param {GridItem[]} list
     * @param {import("./grid-query.js").Sort} sort
     * @param {Set<string>} selected
     */
    render(list, sort, selected) {
      items = list;
      const order = sortParts(sort);
      for (const [key, cell] of sortable) {
        const on = key === order.key;
        if (on) cell.setAttribute("aria-sort", order.ascending ? "ascending" : "descending");
        else cell.removeAttribute("aria-sort");
        const button = /** @type {HTMLButtonElement} */ (cell.firstElementChild);
        button.lastElementChild?.replaceWith(icon(on ? (order.ascending ? "up" : "down") : "sort"));
      }
      replace(tbody, list.map((item) => row(item, selected.has(item.id))));
      const picked = list.filter((item) => selected.has(item.id)).length;
      selectAll.checked = list.length > 0 && picked === list.length;
      selectAll.indeterminate = picked > 0 && picked < list.length;
      selectAll.disabled = list.length === 0;
    },
    /** @param {boolean} busy */
    setBusy(busy) {
      if (busy) element.setAttribute("aria-busy", "true");
      else element.removeAttribute("aria-busy");
    },
  };
}
