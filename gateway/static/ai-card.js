// @ts-check
// The AI profile card: what the analyses of the customer's conversations say about them.

import { h, replace } from "./dom.js";
import { fmtDateTime, time } from "./format.js";
import { t } from "./i18n.js";
import { icon } from "./icons.js";
import { quietNotice } from "./widgets.js";

/**
 * @typedef {{
 *   communication_preferences: string[], topics_of_interest: string[], purchase_behavior: string[],
 *   key_characteristics: string[], updated_at: string | null,
 * }} AiProfile
 */

/** @type {[keyof AiProfile, import("./i18n.js").MessageKey][]} */
const SECTIONS = [
  ["communication_preferences", "ai.communication"],
  ["topics_of_interest", "ai.topics"],
  ["purchase_behavior", "ai.purchases"],
  ["key_characteristics", "ai.characteristics"],
];

/** @param {import("./profile.js").ProfileContext} ctx */
export function createAiCard({ state, reload, unavailable }) {
  const body = h("div", { class: "ai-body" });
  const element = h(
    "section",
    { class: "card ai-card", "aria-labelledby": "ai-title" },
    h("div", { class: "card-head" }, h("h2", { id: "ai-title" }, icon("sparkle"), t("ai.title"))),
    body,
  );

  function render() {
    if (unavailable("insights")) {
      replace(body, quietNotice(t("ai.unavailable"), reload));
      return;
    }
    const ai = state.view?.ai_profile;
    if (!ai) {
      replace(body, h("p", { class: "muted" }, state.view ? t("ai.none") : t("profile.loading")));
      return;
    }
    replace(
      body,
      SECTIONS.map(([key, title]) => {
        const items = ai[key];
        return h(
          "div",
          { class: "ai-section" },
          h("h3", {}, t(title)),
          Array.isArray(items) && items.length
            ? h("ul", {}, items.map((item) => h("li", { dir: "auto" }, item)))
            : h("p", { class: "muted" }, t("ai.nothing")),
        );
      }),
      ai.updated_at ? h("p", { class: "updated muted" }, t("ai.updated"), " ", time(ai.updated_at, fmtDateTime(ai.updated_at))) : null,
    );
  }

  return { element, render };
}
