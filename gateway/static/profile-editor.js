// @ts-check
// One profile field edited in place: the control its kind calls for, saved on change with the
// profile's version (If-Match), the server's message shown at the field when it refuses.

import { api } from "./api.js";
import { charCount, h } from "./dom.js";
import { fmtNumber, t } from "./i18n.js";
import { tagChip } from "./widgets.js";

/** @type {Record<string, import("./i18n.js").MessageKey>} */
const LABELS = {
  name: "field.name",
  phone: "field.phone",
  email: "field.email",
  language: "field.language",
  country: "field.country",
  location: "field.location",
  tag_ids: "field.tags",
  agent_instructions: "field.agentInstructions",
};
/** @type {Record<string, import("./i18n.js").MessageKey>} */
const HINTS = { phone: "hint.phone", agent_instructions: "hint.agentInstructions" };

/** A field's label (the API's name for a field this page has no label for). @param {string} field */
export const fieldLabel = (field) => (LABELS[field] ? t(LABELS[field]) : field);

/**
 * The id stem of a field's elements (#field-name, #field-tags-status, …).
 * @param {import("./reference.js").FieldSpec} spec
 */
export const fieldKey = (spec) => (spec.kind === "tags" ? "tags" : spec.field);

/**
 * An editor for one field: {element, focus(), sync(force)}.
 * @param {import("./reference.js").FieldSpec} spec
 * @param {import("./profile.js").ProfileContext} ctx
 */
export function createEditor(spec, { base, state, accept, reload, announce }) {
  const id = `field-${fieldKey(spec)}`;
  const label = fieldLabel(spec.field);
  const status = h("span", { class: "save-status", id: `${id}-status` });
  const message = h("p", { class: "field-error", id: `${id}-error` });
  const hint = HINTS[spec.field] ? h("p", { class: "help", id: `${id}-hint` }, t(HINTS[spec.field])) : null;
  const counter = spec.max_length && spec.kind === "multiline" ? h("span", { class: "counter", id: `${id}-count` }) : null;
  const described = [hint && `${id}-hint`, counter && `${id}-count`, `${id}-error`, `${id}-status`].filter(Boolean).join(" ");
  /** @type {string | null} the value the server has, as the control shows it */
  let lastSaved = null;
  /** @returns {Record<string, any>} */
  const profile = () => state.view?.profile ?? {};
  const boxes = () => /** @type {HTMLInputElement[]} */ ([...control.querySelectorAll("input")]);
  const checkedIds = () => boxes().filter((box) => box.checked).map((box) => box.value);

  const control = build();
  const inputControl = /** @type {HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement} */ (control);

  function build() {
    if (spec.kind === "language" || spec.kind === "country") {
      const list = spec.kind === "language" ? state.reference.languages : state.reference.countries;
      return h(
        "select",
        { id, "aria-describedby": described, onchange: commit },
        h("option", { value: "" }, t("profile.notSet")),
        [...list].map(([code, name]) => h("option", { value: code }, `${name} (${code})`)),
      );
    }
    if (spec.kind === "tags") {
      const tags = state.reference.tags;
      return h(
        "div",
        { class: "tag-options", role: "group", "aria-labelledby": `${id}-label`, "aria-describedby": described, id },
        tags.length
          ? tags.map((tag) => h("label", { class: "tag-option" }, h("input", { type: "checkbox", value: tag.id, onchange: commit }), tagChip(tag)))
          : h("span", { class: "muted" }, t("profile.noTags")),
      );
    }
    if (spec.kind === "multiline") {
      return h("textarea", {
        id,
        rows: 5,
        dir: "auto",
        "aria-describedby": described,
        onchange: commit,
        oninput: () => {
          updateCounter();
          status.textContent = "";
        },
        onkeydown: (event) => {
          if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
            event.preventDefault();
            commit();
          }
        },
      });
    }
    const ltr = spec.kind === "phone" || spec.kind === "email";
    return h("input", {
      id,
      type: spec.kind === "phone" ? "tel" : spec.kind === "email" ? "email" : "text",
      dir: ltr ? "ltr" : "auto",
      autocomplete: "off",
      spellcheck: spec.kind === "text" ? null : "false",
      "aria-describedby": described,
      onchange: commit,
      oninput: () => (status.textContent = ""),
      onkeydown: (event) => {
        if (event.key === "Enter") {
          event.preventDefault();
          commit();
        }
      },
    });
  }

  const serverValue = () => {
    if (spec.kind === "tags") return (profile().tags ?? []).map((/** @type {{ id: string }} */ tag) => tag.id).sort().join(",");
    return profile()[spec.field] ?? "";
  };
  const current = () => (spec.kind === "tags" ? checkedIds().sort().join(",") : inputControl.value);
  const payload = () => {
    if (spec.kind === "tags") return checkedIds();
    if (spec.required) return inputControl.value;
    const value = spec.kind === "multiline" ? inputControl.value : inputControl.value.trim();
    return value.trim() === "" ? null : value;
  };

  /** @param {string} text */
  function setError(text) {
    message.textContent = text;
    if (text) control.setAttribute("aria-invalid", "true");
    else control.removeAttribute("aria-invalid");
  }

  function updateCounter() {
    if (!counter || !spec.max_length) return;
    const n = charCount(inputControl.value);
    counter.textContent = `${fmtNumber(n)} / ${fmtNumber(spec.max_length)}`;
    counter.classList.toggle("over", n > spec.max_length);
  }

  function commit() {
    if (current() === lastSaved) return;
    const value = payload();
    lastSaved = current();
    state.saves = state.saves.then(() => save(value));
  }

  /** @param {unknown} value */
  async function save(value) {
    if (state.disposed) return;
    status.textContent = t("profile.saving");
    status.className = "save-status saving";
    setError("");
    try {
      const { data, headers } = await api(base, {
        method: "PATCH",
        body: { [spec.field]: value },
        headers: state.etag ? { "If-Match": state.etag } : {},
      });
      accept(data, headers.get("ETag"));
      editor.sync(true); // show the stored form (E.164 phone, lower-cased email domain)
      status.textContent = t("profile.saved");
      status.className = "save-status saved";
      announce(t("profile.fieldSaved", { field: label }));
    } catch (e) {
      const failure = /** @type {import("./api.js").ApiError} */ (e);
      status.textContent = "";
      status.className = "save-status";
      if (failure.status === 401) return;
      if (failure.status === 412) {
        // Someone saved first: show their version and say so rather than overwrite it.
        await reload();
        editor.sync(true);
        setError(t("profile.conflict"));
        announce(t("profile.conflictAnnounce", { field: label }), { error: true });
        return;
      }
      const text = failure.status === 422 ? (failure.fieldMessage(spec.field) ?? failure.message) : t("profile.notSaved", { reason: failure.message });
      setError(text);
      announce(t("profile.fieldError", { field: label, message: text }), { error: true });
      // The server kept its value; the control keeps the rejected input so it can be corrected.
      lastSaved = null;
    }
  }

  // Escape puts the stored value back.
  control.addEventListener("keydown", (event) => {
    if (/** @type {KeyboardEvent} */ (event).key === "Escape" && spec.kind !== "tags") {
      editor.sync(true);
      setError("");
    }
  });

  const labelAttrs = { id: `${id}-label`, class: "field-label" };
  const editor = {
    element: h(
      "div",
      { class: `field row-${fieldKey(spec)}` },
      h(
        "div",
        { class: "label-line" },
        spec.kind === "tags" ? h("span", labelAttrs, label) : h("label", { ...labelAttrs, for: id }, label),
        status,
      ),
      control,
      counter || hint ? h("div", { class: "field-foot" }, hint, counter) : null,
      message,
    ),
    focus: () => (spec.kind === "tags" ? boxes()[0]?.focus() : control.focus()),
    /** Show the server's value; unless forced, leave a field alone while the user is in it. @param {boolean} force */
    sync(force) {
      if (!force && (control.contains(document.activeElement) || message.textContent)) return;
      if (spec.kind === "tags") {
        const ids = new Set((profile().tags ?? []).map((/** @type {{ id: string }} */ tag) => tag.id));
        for (const box of boxes()) box.checked = ids.has(box.value);
      } else {
        inputControl.value = profile()[spec.field] ?? "";
      }
      lastSaved = serverValue();
      updateCounter();
    },
  };
  return editor;
}
