// @ts-check
// The profile card: the editable fields (the list and its limits come from the API), read-only
// or edited in place, and the change history below them.

import { h, replace } from "./dom.js";
import { t } from "./i18n.js";
import { icon } from "./icons.js";
import { createEditor, fieldKey, fieldLabel } from "./profile-editor.js";
import { createHistory } from "./profile-history.js";
import { quietNotice, tagChip } from "./widgets.js";

/** @param {import("./profile.js").ProfileContext} ctx */
export function createProfileCard(ctx) {
  const { state, reload, unavailable } = ctx;
  let editing = false;
  /** @type {Map<string, ReturnType<typeof createEditor>>} */
  const editors = new Map();
  const editButton = h("button", { type: "button", class: "icon-button", "aria-pressed": "false" });
  const body = h("div", { class: "profile-body" });
  const history = createHistory(ctx);
  const element = h(
    "section",
    { class: "card profile-card", "aria-labelledby": "profile-title" },
    h("div", { class: "card-head" }, h("h2", { id: "profile-title" }, t("profile.title")), editButton),
    body,
    history.element,
  );

  function renderButton() {
    const label = editing ? t("profile.doneEditing") : t("profile.edit");
    editButton.setAttribute("aria-pressed", String(editing));
    editButton.setAttribute("aria-label", label);
    editButton.title = label;
    replace(editButton, icon(editing ? "check" : "edit"));
  }
  editButton.addEventListener("click", () => {
    editing = !editing;
    renderButton();
    render();
    if (editing) editors.values().next().value?.focus();
  });
  renderButton();

  /**
   * A field's value as the card shows it when not editing.
   * @param {import("./reference.js").FieldSpec} spec
   * @param {Record<string, any>} profile
   */
  function display(spec, profile) {
    if (spec.kind === "tags") {
      const tags = /** @type {import("./widgets.js").Tag[]} */ (profile.tags ?? []);
      return tags.length ? h("span", { class: "tags" }, tags.map((tag) => tagChip(tag))) : h("span", { class: "muted" }, t("profile.none"));
    }
    const value = profile[spec.field];
    if (value === null || value === undefined || value === "") return h("span", { class: "muted" }, t("profile.notSet"));
    if (spec.kind === "language" || spec.kind === "country") {
      const list = spec.kind === "language" ? state.reference.languages : state.reference.countries;
      const name = list.get(value);
      return name ? `${name} (${value})` : value;
    }
    const ltr = spec.kind === "phone" || spec.kind === "email";
    return h("span", { class: spec.kind === "multiline" ? "multiline" : "", dir: ltr ? "ltr" : "auto" }, value);
  }

  function render() {
    const profile = state.view?.profile;
    const fields = state.reference.fields;
    if (!profile || !fields) {
      editors.clear();
      editButton.disabled = true;
      let notice = h("p", { class: "muted" }, t("profile.loading"));
      if (state.view && unavailable("profile")) notice = quietNotice(t("profile.unavailable"), reload);
      else if (profile && !fields) notice = quietNotice(t("profile.fieldsUnavailable"));
      replace(body, notice);
      return;
    }
    editButton.disabled = false;
    if (!editing) {
      editors.clear();
      replace(
        body,
        h(
          "dl",
          { class: "fields" },
          fields.map((spec) => h("div", { class: `row row-${fieldKey(spec)}` }, h("dt", {}, fieldLabel(spec.field)), h("dd", {}, display(spec, profile)))),
        ),
      );
      return;
    }
    if (editors.size === 0) {
      for (const spec of fields) editors.set(spec.field, createEditor(spec, ctx));
      replace(body, h("div", { class: "fields editing" }, [...editors.values()].map((editor) => editor.element)));
    }
    for (const editor of editors.values()) editor.sync(false);
  }

  return {
    element,
    render,
    /** The view could not be loaded at all: say so where the fields would be. @param {string} reason */
    showLoadError(reason) {
      replace(body, quietNotice(t("profile.loadFailed", { reason }), reload));
    },
    refreshHistory: history.refresh,
  };
}
