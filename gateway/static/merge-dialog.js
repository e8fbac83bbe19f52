// @ts-check
// "Merge with…": find the other record of the same person, preview what moves from it, then merge
// it into the customer shown (CONTRACT.md §7).

import { api } from "./api.js";
import { h, replace } from "./dom.js";
import { t } from "./i18n.js";
import { fieldLabel } from "./profile-editor.js";
import { modal, platformBadge, tagChip } from "./widgets.js";

/** Typing pauses this long before the search goes out. */
const SEARCH_DELAY_MS = 250;
const MATCHES = 10;

/** @typedef {import("./profile.js").ProfileView} ProfileView */

/**
 * Open the dialog that merges a duplicate into the customer shown.
 * @param {import("./profile.js").ProfileContext} ctx
 * @returns {import("./widgets.js").Modal}
 */
export function openMerge(ctx) {
  const { customerId, base, state, announce, accept } = ctx;
  const name = state.view?.header?.name ?? "";
  const box = modal(t("merge.title", { name }));
  const input = h("input", { id: "merge-search", type: "search", autocomplete: "off", dir: "auto", "aria-describedby": "merge-search-hint" });
  const status = h("p", { class: "muted", role: "status" });
  const results = h("ul", { class: "merge-candidates", "aria-label": t("merge.matches") });
  const preview = h("div", { class: "merge-preview", "aria-live": "polite" });
  const error = h("p", { class: "field-error", role: "alert" });
  const confirm = h("button", { type: "button", class: "primary", disabled: true }, t("merge.confirm"));
  /** @type {ProfileView | null} */
  let chosen = null;
  let timer = 0;
  // Each search and each preview counts; an answer to an earlier one, arriving late, is dropped.
  let searches = 0;
  let previews = 0;

  function unchoose() {
    chosen = null;
    previews++;
    confirm.disabled = true;
    error.textContent = "";
    replace(preview);
  }

  async function search() {
    const q = input.value.trim();
    const mine = ++searches;
    unchoose();
    if (!q) {
      replace(results);
      status.textContent = "";
      return;
    }
    status.textContent = t("merge.searching");
    try {
      const { data } = await api("/v1/customers", { query: { q, limit: MATCHES } });
      if (mine !== searches) return;
      /** @type {import("./grid-table.js").GridItem[]} */
      const items = data.items ?? [];
      const others = items.filter((item) => item.id !== customerId);
      status.textContent = others.length ? "" : t("merge.noMatches");
      replace(results, others.map(candidate));
    } catch (e) {
      const failure = /** @type {import("./api.js").ApiError} */ (e);
      if (mine === searches && failure.status !== 401) status.textContent = t("merge.searchFailed", { reason: failure.message });
    }
  }

  /** @param {import("./grid-table.js").GridItem} item */
  function candidate(item) {
    return h(
      "li",
      {},
      h(
        "label",
        { class: "merge-candidate" },
        h("input", { type: "radio", name: "merge-source", value: item.id, onchange: () => choose(item.id) }),
        h("span", { dir: "auto" }, item.name),
        item.platforms.map((p) => platformBadge(p)),
      ),
    );
  }

  /** @param {string} sourceId */
  async function choose(sourceId) {
    unchoose();
    const mine = previews;
    try {
      const { data } = await api(`/v1/customers/${encodeURIComponent(sourceId)}`);
      if (mine !== previews) return;
      chosen = /** @type {ProfileView} */ (data);
      replace(preview, whatMoves(chosen));
      confirm.disabled = false;
    } catch (e) {
      const failure = /** @type {import("./api.js").ApiError} */ (e);
      if (mine === previews && failure.status !== 401) {
        replace(preview, h("p", { class: "field-error" }, t("merge.previewFailed", { reason: failure.message })));
      }
    }
  }

  /**
   * What merging `source` into the customer shown moves and fills in.
   * @param {ProfileView} source
   */
  function whatMoves(source) {
    const counts = source.counts ?? {};
    const mine = state.view?.profile;
    const theirs = source.profile;
    // A field the customer shown has empty takes the duplicate's value; so does no other.
    const specs = (state.reference.fields ?? []).filter((spec) => spec.kind !== "tags");
    const filled = theirs ? specs.filter((spec) => !mine?.[spec.field] && theirs[spec.field]) : [];
    const have = new Set((mine?.tags ?? []).map((tag) => tag.id));
    const tags = (theirs?.tags ?? []).filter((tag) => !have.has(tag.id));
    return [
      h("h3", { dir: "auto" }, t("merge.previewTitle", { source: source.header?.name ?? "", target: name })),
      h(
        "ul",
        { class: "merge-moves" },
        h(
          "li",
          {},
          t("merge.chats"),
          " ",
          (source.header?.platforms ?? []).map((p) =>
            h("span", { class: "merge-identity" }, platformBadge(p.platform, { label: true }), " ", h("span", { dir: "ltr" }, p.platform_user_id)),
          ),
        ),
        h("li", {}, t("merge.notes", { count: counts.notes ?? 0 })),
        h("li", {}, t("merge.conversations", { count: counts.conversations ?? 0 })),
        h("li", {}, t("merge.escalations", { count: counts.escalations ?? 0 })),
      ),
      filled.length && theirs
        ? h(
            "div",
            {},
            h("h4", {}, t("merge.filledFields")),
            h("dl", { class: "merge-fields" }, filled.map((spec) => h("div", {}, h("dt", {}, fieldLabel(spec.field)), shown(spec, String(theirs[spec.field]))))),
          )
        : null,
      tags.length ? h("div", {}, h("h4", {}, t("merge.addedTags")), h("span", { class: "tags" }, tags.map((tag) => tagChip(tag)))) : null,
      // Without the list of fields (it could not be loaded) nothing can be said about them.
      state.reference.fields && !filled.length && !tags.length ? h("p", { class: "muted" }, t("merge.nothingElse")) : null,
      h("p", { class: "help" }, t("merge.kept", { target: name })),
    ];
  }

  /**
   * A value as the profile card shows it: languages and countries by name, contacts left to right.
   * @param {import("./reference.js").FieldSpec} spec
   * @param {string} value
   */
  function shown(spec, value) {
    const names = spec.kind === "language" ? state.reference.languages : spec.kind === "country" ? state.reference.countries : null;
    const known = names?.get(value);
    const ltr = spec.kind === "phone" || spec.kind === "email";
    return h("dd", { dir: ltr ? "ltr" : "auto", class: spec.kind === "multiline" ? "multiline" : null }, known ? `${known} (${value})` : value);
  }

  async function merge() {
    const source = chosen;
    if (!source) return;
    confirm.disabled = true;
    confirm.textContent = t("merge.merging");
    error.textContent = "";
    try {
      // The answer is this customer's view after the merge: shown at once; the live events that
      // follow refresh what the other services moved.
      const { data, headers } = await api(`${base}/merge`, { method: "POST", body: { source_id: source.id } });
      box.close();
      accept(data, headers.get("ETag"));
      announce(t("merge.merged", { source: source.header?.name ?? "", target: data.header?.name ?? name }));
    } catch (e) {
      const failure = /** @type {import("./api.js").ApiError} */ (e);
      confirm.disabled = false;
      confirm.textContent = t("merge.confirm");
      if (failure.status !== 401) error.textContent = t("merge.failed", { reason: failure.message });
    }
  }

  input.addEventListener("input", () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(search, SEARCH_DELAY_MS);
  });
  confirm.addEventListener("click", merge);
  replace(
    box.body,
    h("p", {}, t("merge.intro")),
    h("label", { for: "merge-search" }, t("merge.search")),
    h("p", { id: "merge-search-hint", class: "help" }, t("merge.searchHint")),
    input,
    status,
    results,
    preview,
    error,
    h("div", { class: "actions" }, h("button", { type: "button", onclick: () => box.close() }, t("action.cancel")), confirm),
  );
  input.focus();
  return box;
}
