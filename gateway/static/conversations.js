// @ts-check
// The Conversations tab: every conversation across platforms, with its AI summary, sentiment,
// topics and who resolved it.

import { h, safeUrl } from "./dom.js";
import { fmtDateTime, fmtSpan, time } from "./format.js";
import { t } from "./i18n.js";
import { icon } from "./icons.js";
import { createPagedList } from "./paged-list.js";
import { platformBadge, platformName, sentiment } from "./widgets.js";

/**
 * @typedef {{
 *   id: string, platform: string, started_at: string, ended_at: string | null,
 *   status: "active" | "closed", summary: string | null, sentiment: string | null, topics: string[],
 *   resolution: { resolved_by: { type: "ai" | "human", name: string | null } | null, resolved_at: string } | null,
 *   chat_url: string,
 * }} Conversation
 */

/** @param {NonNullable<Conversation["resolution"]>} r */
function resolution(r) {
  const by = r.resolved_by;
  const who = by?.type === "ai" ? (by.name ? t("conversations.aiNamed", { name: by.name }) : t("conversations.ai")) : (by?.name ?? t("conversations.someone"));
  return h(
    "span",
    { class: "resolution" },
    t("conversations.resolvedBy"),
    " ",
    h("strong", { dir: "auto" }, who),
    " · ",
    time(r.resolved_at, fmtDateTime(r.resolved_at)),
  );
}

/** @param {Conversation} c */
function conversationItem(c) {
  const chat = safeUrl(c.chat_url);
  const active = c.status === "active" || !c.ended_at;
  return h(
    "li",
    { class: "conversation", "data-conversation-id": c.id },
    h(
      "div",
      { class: "conversation-head" },
      platformBadge(c.platform, { label: true }),
      h(
        "span",
        { class: "span" },
        time(c.started_at, fmtSpan(c.started_at, active ? null : c.ended_at)),
        active ? [` ${t("span.arrow")} `, h("span", { class: "badge active" }, t("conversations.active"))] : null,
      ),
      chat
        ? h(
            "a",
            { class: "button open", href: chat },
            t("conversations.open"),
            h("span", { class: "sr-only" }, ` ${t("conversations.openWhich", { platform: platformName(c.platform), when: fmtDateTime(c.started_at) })}`),
            icon("open"),
          )
        : null,
    ),
    c.summary
      ? h("p", { class: "summary", dir: "auto" }, c.summary)
      : h("p", { class: "summary muted" }, active ? t("conversations.summaryLater") : t("conversations.noSummary")),
    h(
      "div",
      { class: "conversation-meta" },
      sentiment(c.sentiment),
      c.topics?.length
        ? h("ul", { class: "topics", "aria-label": t("conversations.topics") }, c.topics.map((topic) => h("li", { class: "tag topic", dir: "auto" }, topic)))
        : null,
      c.resolution ? resolution(c.resolution) : null,
    ),
  );
}

/**
 * @param {string} base the customer's API path
 * @param {HTMLElement} panel
 * @param {() => boolean} isDisposed
 */
export const createConversations = (base, panel, isDisposed) =>
  createPagedList(panel, {
    title: t("tabs.conversations"),
    path: `${base}/conversations`,
    item: conversationItem,
    wrap: (items) => h("ol", { class: "conversations" }, items),
    empty: t("conversations.none"),
    unavailable: t("conversations.unavailable"),
    isDisposed,
  });
