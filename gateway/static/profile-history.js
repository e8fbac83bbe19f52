// @ts-check
// The change history under the profile card: who changed which field, from what to what.

import { api } from "./api.js";
import { h, replace } from "./dom.js";
import { fmtDateTime, time } from "./format.js";
import { t } from "./i18n.js";
import { fieldLabel } from "./profile-editor.js";
import { quietNotice } from "./widgets.js";

/**
 * @typedef {{
 *   version: number, changed_at: string, actor: { id: string, name: string } | null,
 *   changes: Record<string, { old?: unknown, new?: unknown }>,
 * }} Change
 */

/** @param {import("./profile.js").ProfileContext} ctx */
export function createHistory({ base, state }) {
  const list = h("div", { class: "history-list" });
  const element = h("details", { class: "history" }, h("summary", {}, t("history.title")), list);
  element.addEventListener("toggle", () => {
    if (element.open) load();
  });

  /**
   * @param {string} field
   * @param {unknown} value
   */
  function show(field, value) {
    if (value === null || value === undefined || value === "") return "—";
    if (Array.isArray(value)) {
      /** @param {unknown} id */
      const name = (id) => (field === "tag_ids" ? (state.reference.tags.find((tag) => tag.id === id)?.name ?? String(id)) : String(id));
      return value.map(name).join(", ") || "—";
    }
    return typeof value === "object" ? JSON.stringify(value) : String(value);
  }

  /** @param {Change} item */
  function entry(item) {
    return h(
      "li",
      {},
      h("div", { class: "history-meta" }, h("strong", { dir: "auto" }, item.actor?.name ?? t("history.connector")), " · ", time(item.changed_at, fmtDateTime(item.changed_at))),
      h(
        "ul",
        {},
        Object.entries(item.changes ?? {}).map(([field, change]) =>
          h(
            "li",
            {},
            `${fieldLabel(field)}: `,
            h("span", { class: "old", dir: "auto" }, show(field, change?.old)),
            ` ${t("history.arrow")} `,
            h("span", { class: "new", dir: "auto" }, show(field, change?.new)),
          ),
        ),
      ),
    );
  }

  async function load() {
    let page;
    try {
      page = (await api(`${base}/history`, { query: { limit: 25 } })).data;
    } catch (e) {
      if (!state.disposed && /** @type {import("./api.js").ApiError} */ (e).status !== 401) replace(list, quietNotice(t("history.unavailable"), load));
      return;
    }
    if (state.disposed) return;
    /** @type {Change[]} */
    const items = Array.isArray(page?.items) ? page.items : [];
    replace(list, items.length ? h("ol", {}, items.map(entry)) : h("p", { class: "muted" }, t("history.none")));
  }

  return {
    element,
    /** Load again, if the history is open. */
    refresh() {
      if (element.open) load();
    },
  };
}
