// @ts-check
// The right-hand side of the profile: Notes, Conversations and Escalations tabs.

import { fmtNumber, t } from "./i18n.js";
import { h } from "./dom.js";
import { createConversations } from "./conversations.js";
import { createEscalations } from "./escalations.js";
import { createNotes } from "./notes.js";
import { createTabs } from "./tabs.js";

/** @typedef {"notes" | "conversations" | "escalations"} TabKey */

/** Each tab with the view section (service) whose data it shows. @type {{ key: TabKey, label: import("./i18n.js").MessageKey, section: string }[]} */
const TABS = [
  { key: "notes", label: "tabs.notes", section: "notes" },
  { key: "conversations", label: "tabs.conversations", section: "timeline" },
  { key: "escalations", label: "tabs.escalations", section: "timeline" },
];

/**
 * The tab a URL names (?tab=…), the first one otherwise.
 * @param {URLSearchParams} params
 * @returns {TabKey}
 */
export function readTab(params) {
  const tab = params.get("tab");
  return TABS.find((item) => item.key === tab)?.key ?? "notes";
}

/**
 * The tabs for one customer.
 * @param {string} customerId
 * @param {{
 *   announce: import("./shell.js").Shell["announce"],
 *   me: import("./api.js").User | null,
 *   tab: TabKey,
 *   onTab: (tab: TabKey) => void,
 * }} options
 */
export function createActivity(customerId, { announce, me, tab, onTab }) {
  const base = `/v1/customers/${encodeURIComponent(customerId)}`;
  let disposed = false;
  const isDisposed = () => disposed;
  const tabs = createTabs(
    TABS.map(({ key, label }) => ({ key, label: t(label) })),
    { label: t("tabs.label"), selected: tab, onSelect: onTab },
  );
  /** @param {TabKey} key */
  const panel = (key) => /** @type {HTMLElement} */ (tabs.panels.get(key));
  const notes = createNotes(base, panel("notes"), { announce, me });
  /** @type {Record<TabKey, (more?: boolean) => Promise<void>>} */
  const loaders = {
    notes: notes.load,
    conversations: createConversations(base, panel("conversations"), isDisposed).load,
    escalations: createEscalations(base, panel("escalations"), isDisposed).load,
  };

  return {
    element: h("section", { class: "card activity", "aria-label": t("tabs.region") }, tabs.tablist, TABS.map(({ key }) => panel(key))),
    /** @param {import("./reference.js").FieldSpec | null} noteText the note's field, from the API */
    start(noteText) {
      notes.start(noteText);
      loaders.conversations();
      loaders.escalations();
    },
    /** Load (again) the first page of one tab's list. @param {string} key */
    refresh(key) {
      if (Object.hasOwn(loaders, key)) loaders[/** @type {TabKey} */ (key)]();
    },
    select: tabs.select,
    /**
     * The tab counts from the profile view; a section whose service is down shows no count.
     * @param {Record<string, number> | null} counts
     * @param {string[]} unavailable
     */
    setCounts(counts, unavailable) {
      for (const { key, section } of TABS) {
        const n = counts?.[key];
        tabs.setCount(key, unavailable.includes(section) || typeof n !== "number" ? "" : fmtNumber(n));
      }
    },
    dispose() {
      disposed = true;
      notes.dispose();
    },
  };
}
