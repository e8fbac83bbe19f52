// @ts-check
// The Notes tab: add a note (Ctrl/⌘+Enter), notes grouped by day in the browser's time zone, and a
// two-step delete of one's own notes.

import { api } from "./api.js";
import { charCount, h, replace, uid } from "./dom.js";
import { fmtDateTime, fmtDay, fmtTime, time } from "./format.js";
import { fmtNumber, t } from "./i18n.js";
import { icon } from "./icons.js";
import { quietNotice } from "./widgets.js";

/** @typedef {{ id: string, customer_id: string, text: string, author: { id: string, name: string } | null, created_at: string }} Note */
/** @typedef {{ date: string, notes: Note[] }} NoteDay */

const PAGE = 25;
const IS_MAC = /Mac|iPhone|iPad/.test(navigator.platform ?? "");

/**
 * @param {string} base the customer's API path
 * @param {HTMLElement} panel
 * @param {{ announce: import("./shell.js").Shell["announce"], me: import("./api.js").User | null }} options
 */
export function createNotes(base, panel, { announce, me }) {
  const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  let disposed = false;
  let adding = false;
  /** @type {number | null} */
  let maxLength = null;
  /** @type {{ days: NoteDay[], next: string | null }} */
  const loaded = { days: [], next: null };

  const text = h("textarea", { id: "note-text", rows: 3, dir: "auto", "aria-describedby": "note-hint note-count note-error" });
  const counter = h("span", { id: "note-count", class: "counter" });
  const error = h("p", { id: "note-error", class: "field-error" });
  const button = h("button", { type: "submit", class: "primary", disabled: true }, t("notes.add"));
  const list = h("div", { class: "notes-list" });
  const older = h("button", { type: "button", class: "more", hidden: true, onclick: () => load(true) }, t("notes.older"));

  function updateCounter() {
    const n = charCount(text.value);
    counter.textContent = maxLength ? `${fmtNumber(n)} / ${fmtNumber(maxLength)}` : fmtNumber(n);
    counter.classList.toggle("over", maxLength !== null && n > maxLength);
    button.disabled = text.value.trim() === "";
  }
  function clearError() {
    error.textContent = "";
    text.removeAttribute("aria-invalid");
  }
  text.addEventListener("input", () => {
    updateCounter();
    if (error.textContent) clearError();
  });
  text.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      add();
    }
  });
  updateCounter();

  /** @param {SubmitEvent} [event] */
  async function add(event) {
    event?.preventDefault();
    if (adding || text.value.trim() === "") return;
    adding = true;
    button.disabled = true;
    clearError();
    try {
      await api(`${base}/notes`, { method: "POST", body: { text: text.value } });
      text.value = "";
      updateCounter();
      announce(t("notes.added"));
      await load();
    } catch (e) {
      const failure = /** @type {import("./api.js").ApiError} */ (e);
      if (failure.status !== 401) {
        error.textContent = failure.fieldMessage("text") ?? failure.message;
        text.setAttribute("aria-invalid", "true");
        announce(t("notes.notAdded", { reason: error.textContent }), { error: true });
      }
    } finally {
      adding = false;
      updateCounter();
    }
  }

  replace(
    panel,
    h("h2", { class: "sr-only" }, t("tabs.notes")),
    h(
      "form",
      { class: "note-form", onsubmit: add },
      h("label", { for: "note-text" }, t("notes.label")),
      text,
      h("div", { class: "form-foot" }, h("span", { id: "note-hint", class: "help" }, t("notes.hint", { key: IS_MAC ? "⌘" : "Ctrl" })), counter, button),
      error,
    ),
    list,
    older,
  );

  /** @param {boolean} [more] the next page after those shown */
  async function load(more = false) {
    let page;
    try {
      page = (await api(`${base}/notes`, { query: { tz: timeZone, limit: PAGE, cursor: more ? loaded.next : null } })).data;
    } catch (e) {
      const failure = /** @type {import("./api.js").ApiError} */ (e);
      if (disposed || failure.status === 401) return;
      replace(list, quietNotice(failure.unavailable ? t("notes.unavailable") : t("notes.failed", { reason: failure.message }), () => load()));
      older.hidden = true;
      return;
    }
    if (disposed) return;
    /** @type {NoteDay[]} */
    const days = Array.isArray(page?.days) ? page.days : [];
    loaded.days = more ? mergeDays(loaded.days, days) : days;
    loaded.next = page?.next_cursor ?? null;
    older.hidden = !loaded.next;
    replace(list, loaded.days.length ? loaded.days.map(noteDay) : h("p", { class: "empty" }, t("notes.none")));
  }

  /** @param {NoteDay} day */
  function noteDay(day) {
    const headingId = uid("day");
    return h(
      "section",
      { class: "note-day", "aria-labelledby": headingId },
      h("h3", { id: headingId }, fmtDay(day.date)),
      h("ol", { class: "notes" }, day.notes.map(noteItem)),
    );
  }

  /** @param {Note} note */
  function noteItem(note) {
    const actions = h("div", { class: "note-actions" });
    if (me && note.author?.id === me.id) {
      const label = t("notes.deleteYours", { when: fmtDateTime(note.created_at) });
      const remove = h("button", { type: "button", class: "icon-button danger", "aria-label": label, title: t("notes.delete"), onclick: askToConfirm }, icon("trash"));
      actions.append(remove);
      // A two-step delete in place: no modal, and the focus stays where the user is.
      function askToConfirm() {
        const yes = h("button", { type: "button", class: "danger-button", onclick: () => destroy(yes) }, t("notes.delete"));
        const cancel = () => {
          replace(actions, remove);
          remove.focus();
        };
        replace(actions, h("span", { class: "confirm-text" }, t("notes.confirm")), yes, h("button", { type: "button", class: "link-button", onclick: cancel }, t("action.cancel")));
        yes.focus();
      }
    }
    /** @param {HTMLButtonElement} yes */
    async function destroy(yes) {
      yes.disabled = true;
      try {
        await api(`${base}/notes/${encodeURIComponent(note.id)}`, { method: "DELETE" });
        announce(t("notes.deleted"));
      } catch (e) {
        const failure = /** @type {import("./api.js").ApiError} */ (e);
        if (failure.status === 401) return;
        if (failure.status !== 404) announce(t("notes.notDeleted", { reason: failure.message }), { error: true });
      }
      await load();
      text.focus();
    }
    return h(
      "li",
      { class: "note", "data-note-id": note.id },
      h("div", { class: "note-meta" }, h("span", { class: "author", dir: "auto" }, note.author?.name ?? t("notes.unknownAuthor")), time(note.created_at, fmtTime(note.created_at)), actions),
      h("p", { class: "note-text", dir: "auto" }, note.text),
    );
  }

  return {
    /** @param {import("./reference.js").FieldSpec | null} spec the note's text field, from the API */
    start(spec) {
      maxLength = spec?.max_length ?? null;
      updateCounter();
      load();
    },
    load,
    dispose() {
      disposed = true;
    },
  };
}

/**
 * Notes of a further page added to the days already shown (a day can span two pages).
 * @param {NoteDay[]} existing
 * @param {NoteDay[]} incoming
 */
function mergeDays(existing, incoming) {
  const days = existing.map((d) => ({ ...d, notes: [...d.notes] }));
  for (const day of incoming) {
    const last = days[days.length - 1];
    if (last && last.date === day.date) last.notes.push(...day.notes);
    else days.push(day);
  }
  return days;
}
