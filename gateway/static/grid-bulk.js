// @ts-check
// Bulk tags: with rows selected, add a tag to all of them or take it off (POST /v1/customers/bulk-tags).

import { api } from "./api.js";
import { h, replace } from "./dom.js";
import { t } from "./i18n.js";

/**
 * The bar above the table; empty while nothing is selected.
 * @param {{
 *   announce: import("./shell.js").Shell["announce"],
 *   onDone: () => void,
 *   onClear: () => void,
 * }} handlers
 */
export function createBulkBar({ announce, onDone, onClear }) {
  const element = h("div", { class: "bulk-bar card", hidden: true });
  /** @type {string[]} */
  let ids = [];
  /** @type {import("./widgets.js").Tag[]} */
  let tags = [];
  let busy = false;

  /**
   * @param {"add" | "remove"} action
   * @param {HTMLSelectElement} select
   */
  async function apply(action, select) {
    const tag = tags.find((item) => item.id === select.value);
    if (busy || !tag) {
      if (!tag) select.focus();
      return;
    }
    busy = true;
    render(ids, tags);
    try {
      const { data } = await api("/v1/customers/bulk-tags", {
        method: "POST",
        body: { customer_ids: ids, add: action === "add" ? [tag.id] : [], remove: action === "remove" ? [tag.id] : [] },
      });
      const changed = Array.isArray(data?.changed) ? data.changed.length : 0;
      announce(t(action === "add" ? "bulk.added" : "bulk.removed", { tag: tag.name, count: changed }));
      busy = false;
      onDone();
    } catch (e) {
      busy = false;
      render(ids, tags);
      const failure = /** @type {import("./api.js").ApiError} */ (e);
      if (failure.status !== 401) announce(t("bulk.failed", { reason: failure.message }), { error: true });
    }
  }

  /**
   * @param {string[]} selected
   * @param {import("./widgets.js").Tag[]} catalog
   */
  function render(selected, catalog) {
    ids = selected;
    tags = catalog;
    element.hidden = selected.length === 0;
    if (element.hidden) {
      // Nothing of the bar stays in the page while it is hidden, not even its name.
      element.removeAttribute("role");
      element.removeAttribute("aria-label");
      replace(element);
      return;
    }
    element.setAttribute("role", "region");
    element.setAttribute("aria-label", t("bulk.region"));
    const previous = /** @type {HTMLSelectElement | null} */ (element.querySelector("#bulk-tag"));
    const select = h(
      "select",
      { id: "bulk-tag", disabled: busy },
      h("option", { value: "" }, t("bulk.chooseTag")),
      catalog.map((tag) => h("option", { value: tag.id }, tag.name)),
    );
    select.value = previous?.value ?? "";
    const focused = document.activeElement?.closest(".bulk-bar") === element ? document.activeElement?.id : null;
    replace(
      element,
      h("p", { class: "bulk-count", "aria-live": "polite" }, t("bulk.count", { count: selected.length })),
      h("label", { for: "bulk-tag" }, t("bulk.tagLabel")),
      select,
      h("button", { type: "button", id: "bulk-add", disabled: busy, onclick: () => apply("add", select) }, t("bulk.add")),
      h(
        "button",
        { type: "button", id: "bulk-remove", disabled: busy, onclick: () => apply("remove", select) },
        t("bulk.remove"),
      ),
      h("button", { type: "button", id: "bulk-clear", class: "link-button", onclick: onClear }, t("bulk.clear")),
    );
    if (focused) document.getElementById(focused)?.focus();
  }

  return { element, render };
}
