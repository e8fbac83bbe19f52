// @ts-check
// The Escalations tab: when the AI handed a conversation to a human, why, and who took it.

import { h } from "./dom.js";
import { fmtDateTime, time } from "./format.js";
import { t } from "./i18n.js";
import { createPagedList } from "./paged-list.js";
import { platformBadge } from "./widgets.js";

/**
 * `resolution` is the conversation's (null while it is open): with no handler and an AI close, no
 * human took the escalation.
 * @typedef {{
 *   id: string, conversation_id: string, platform: string, escalated_at: string, reason: string,
 *   handled_by: string | null, handled_at: string | null,
 *   resolution: import("./conversations.js").Conversation["resolution"],
 * }} Escalation
 */

/** @type {import("./i18n.js").MessageKey[]} */
const COLUMNS = ["escalations.when", "escalations.platform", "escalations.reason", "escalations.handledBy"];

/** @param {Escalation} e */
function handling(e) {
  if (e.handled_by) {
    return [h("strong", { dir: "auto" }, e.handled_by), e.handled_at ? [" · ", time(e.handled_at, fmtDateTime(e.handled_at))] : null];
  }
  const closed = e.resolution;
  if (closed?.resolved_by?.type === "ai") {
    return [h("span", { class: "badge" }, t("escalations.noHuman")), ` · ${t("escalations.closedByAi")} `, time(closed.resolved_at, fmtDateTime(closed.resolved_at))];
  }
  return h("span", { class: "badge waiting" }, t("escalations.waiting"));
}

/** @param {Escalation} e */
function escalationRow(e) {
  // data-label names the column where the narrow layout stacks the cells.
  const cell = (/** @type {number} */ i, /** @type {import("./dom.js").Child} */ content) =>
    h("td", { "data-label": t(COLUMNS[i]) }, content);
  return h(
    "tr",
    { "data-escalation-id": e.id },
    cell(0, time(e.escalated_at, fmtDateTime(e.escalated_at))),
    cell(1, platformBadge(e.platform, { label: true })),
    cell(2, h("span", { dir: "auto" }, e.reason)),
    cell(3, handling(e)),
  );
}

/**
 * @param {string} base the customer's API path
 * @param {HTMLElement} panel
 * @param {() => boolean} isDisposed
 */
export const createEscalations = (base, panel, isDisposed) =>
  createPagedList(panel, {
    title: t("tabs.escalations"),
    path: `${base}/escalations`,
    item: escalationRow,
    wrap: (rows) =>
      h(
        "table",
        { class: "escalations" },
        h("caption", { class: "sr-only" }, t("escalations.caption")),
        h("thead", {}, h("tr", {}, COLUMNS.map((key) => h("th", { scope: "col" }, t(key))))),
        h("tbody", {}, rows),
      ),
    empty: t("escalations.none"),
    unavailable: t("escalations.unavailable"),
    isDisposed,
  });
