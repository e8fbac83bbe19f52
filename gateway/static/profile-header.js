// @ts-check
// The profile's header card: avatar, name, platform chat links, Instagram details, customer since,
// average sentiment, and the customer actions (merge, export, erase).

import { h, replace, safeUrl } from "./dom.js";
import { fmtDate, time } from "./format.js";
import { fmtNumber, t } from "./i18n.js";
import { icon } from "./icons.js";
import { avatar, platformName, quietNotice, sentiment } from "./widgets.js";

/**
 * @typedef {{
 *   name: string,
 *   avatar_url: string | null,
 *   platforms: { platform: string, platform_user_id: string, chat_url: string }[],
 *   instagram: { username: string, followers: number | null, follow_status: string } | null,
 *   created_at: string,
 *   sentiment: { average: number | null, label: string | null, conversations: number } | null,
 * }} Header
 */

/** @type {Record<string, import("./i18n.js").MessageKey>} */
const FOLLOW_STATUS = {
  following: "instagram.following",
  not_following: "instagram.notFollowing",
  unknown: "instagram.unknown",
};

/**
 * @param {import("./profile.js").ProfileContext} ctx
 * @param {HTMLElement} actions shown once the customer is known; rendered once, so that a refresh
 *   of the header does not take the focus from its buttons
 */
export function createHeader({ state, reload, unavailable }, actions) {
  const heading = h("h1", { id: "customer-name", tabindex: "-1", dir: "auto" }, t("profile.loading"));
  const content = h("div", { class: "header-content" });
  const element = h("section", { class: "card header-card", "aria-labelledby": "customer-name" }, content, actions);

  /** @param {Header["sentiment"]} avg */
  function averageSentiment(avg) {
    if (unavailable("insights")) return h("span", { class: "muted" }, t("profile.sentimentUnavailable"));
    if (!avg || avg.average === null || avg.average === undefined) {
      return h("span", { class: "muted" }, t("profile.noSentiment"));
    }
    const score = fmtNumber(avg.average, { minimumFractionDigits: 2, maximumFractionDigits: 2, signDisplay: "exceptZero" });
    const over = avg.conversations ? t("profile.sentimentOver", { count: avg.conversations }) : "";
    return [sentiment(avg.label ?? "neutral", ` (${score})`), h("span", { class: "muted" }, over)];
  }

  /** @param {Header["platforms"][number]} p */
  function platformLink(p) {
    const href = safeUrl(p.chat_url);
    const label = t("profile.openChat", { platform: platformName(p.platform), id: p.platform_user_id });
    const className = `platform-link platform-${p.platform}`;
    return h(
      "li",
      {},
      href
        ? h("a", { href, class: className, "aria-label": label, title: label }, icon(p.platform))
        : h("span", { class: className, title: p.platform_user_id }, icon(p.platform)),
      h("span", { class: "platform-id", dir: "ltr" }, p.platform_user_id),
    );
  }

  /** @param {NonNullable<Header["instagram"]>} instagram */
  function instagramLine(instagram) {
    return h(
      "p",
      { class: "instagram" },
      h("span", { class: "handle", dir: "ltr" }, `@${instagram.username}`),
      typeof instagram.followers === "number"
        ? ` · ${t("instagram.followers", { count: instagram.followers })}`
        : null,
      ` · ${t(FOLLOW_STATUS[instagram.follow_status] ?? FOLLOW_STATUS.unknown)}`,
    );
  }

  function render() {
    const header = state.view?.header;
    actions.hidden = !header;
    if (!header) {
      replace(
        content,
        h("div", { class: "identity" }, avatar("", null, "lg"), heading),
        state.view && unavailable("profile") ? quietNotice(t("profile.headerUnavailable"), reload) : null,
      );
      return;
    }
    heading.textContent = header.name;
    if (!state.disposed) document.title = t("title.page", { title: header.name });
    replace(
      content,
      h("div", { class: "identity" }, avatar(header.name, header.avatar_url, "lg"), heading),
      h("ul", { class: "platform-links", "aria-label": t("profile.chats") }, (header.platforms ?? []).map(platformLink)),
      header.instagram ? instagramLine(header.instagram) : null,
      h(
        "dl",
        { class: "facts" },
        h("div", {}, h("dt", {}, t("profile.since")), h("dd", {}, time(header.created_at, fmtDate(header.created_at)))),
        h("div", {}, h("dt", {}, t("profile.sentiment")), h("dd", { class: "avg-sentiment" }, averageSentiment(header.sentiment))),
      ),
    );
  }

  return { element, heading, render };
}
