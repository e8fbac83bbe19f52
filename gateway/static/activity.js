// The right-hand side of the profile: Notes, Conversations and Escalations tabs.

import { api } from "./api.js";
import {
  charCount,
  fmtDateTime,
  fmtDay,
  fmtNumber,
  fmtSpan,
  fmtTime,
  h,
  platformBadge,
  platformName,
  quietNotice,
  replace,
  safeUrl,
  time,
  uid,
} from "./dom.js";
import { icon } from "./icons.js";

const NOTE_MAX = 2000;
const PAGE = 25;
const IS_MAC = /Mac|iPhone|iPad/.test(navigator.userAgentData?.platform ?? navigator.platform ?? "");
const TABS = [
  { key: "notes", label: "Notes", section: "notes" },
  { key: "conversations", label: "Conversations", section: "timeline" },
  { key: "escalations", label: "Escalations", section: "timeline" },
];
const UNAVAILABLE = {
  notes: "Notes are unavailable right now.",
  conversations: "Conversations are unavailable right now.",
  escalations: "Escalations are unavailable right now.",
};

/**
 * The tabs for one customer. Returns {element, refresh(key), setCounts(counts, unavailable), dispose}.
 * `me` is the signed-in user (its id decides which notes show a delete button).
 */
export function createActivity(customerId, { announce, me }) {
  const base = `/v1/customers/${encodeURIComponent(customerId)}`;
  const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  let disposed = false;
  let selected = "notes";
  const loaders = {};

  // Tabs follow the WAI-ARIA tabs pattern: arrow keys move between tabs, Tab goes into the panel.
  const tabs = {};
  const panels = {};
  const counts = {};
  const tablist = h("div", { class: "tablist", role: "tablist", "aria-label": "Customer activity" });
  for (const tab of TABS) {
    counts[tab.key] = h("span", { class: "count" });
    tabs[tab.key] = h(
      "button",
      {
        type: "button",
        role: "tab",
        id: `tab-${tab.key}`,
        "aria-controls": `panel-${tab.key}`,
        onclick: () => select(tab.key, true),
      },
      h("span", {}, tab.label),
      counts[tab.key],
    );
    panels[tab.key] = h("div", {
      class: "tabpanel",
      role: "tabpanel",
      id: `panel-${tab.key}`,
      "aria-labelledby": `tab-${tab.key}`,
      tabindex: "0",
    });
    tablist.append(tabs[tab.key]);
  }
  tablist.addEventListener("keydown", (event) => {
    const keys = TABS.map((t) => t.key);
    const at = keys.indexOf(selected);
    const to = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: keys.length - 1 }[event.key];
    if (to === undefined) return;
    event.preventDefault();
    select(keys[(to + keys.length) % keys.length], true);
  });

  function select(key, focus = false) {
    selected = key;
    for (const tab of TABS) {
      const on = tab.key === key;
      tabs[tab.key].setAttribute("aria-selected", String(on));
      tabs[tab.key].tabIndex = on ? 0 : -1;
      panels[tab.key].hidden = !on;
    }
    if (focus) tabs[key].focus();
  }
  select("notes");

  const element = h(
    "section",
    { class: "card activity", "aria-label": "Notes, conversations and escalations" },
    tablist,
    TABS.map((t) => panels[t.key]),
  );

  // ---- Notes ------------------------------------------------------------------------------
  const noteText = h("textarea", {
    id: "note-text",
    rows: 3,
    "aria-describedby": "note-hint note-count note-error",
  });
  const noteCount = h("span", { id: "note-count", class: "counter" });
  const noteError = h("p", { id: "note-error", class: "field-error" });
  const noteButton = h("button", { type: "submit", class: "primary", disabled: true }, "Add note");
  const notesList = h("div", { class: "notes-list" });
  const olderNotes = h("button", { type: "button", class: "more", hidden: true }, "Show older notes");
  const notesState = { days: [], next: null };

  function updateNoteCounter() {
    const n = charCount(noteText.value);
    noteCount.textContent = `${fmtNumber(n)} / ${fmtNumber(NOTE_MAX)}`;
    noteCount.classList.toggle("over", n > NOTE_MAX);
    noteButton.disabled = noteText.value.trim() === "";
  }
  noteText.addEventListener("input", () => {
    updateNoteCounter();
    if (noteError.textContent) clearNoteError();
  });
  noteText.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      addNote();
    }
  });
  updateNoteCounter();

  function clearNoteError() {
    noteError.textContent = "";
    noteText.removeAttribute("aria-invalid");
  }

  let adding = false;
  async function addNote(event) {
    event?.preventDefault();
    if (adding || noteText.value.trim() === "") return;
    adding = true;
    noteButton.disabled = true;
    clearNoteError();
    try {
      await api(`${base}/notes`, { method: "POST", body: { text: noteText.value } });
      noteText.value = "";
      updateNoteCounter();
      announce("Note added.");
      await loaders.notes();
    } catch (e) {
      if (e.status !== 401) {
        noteError.textContent = e.fieldMessage("text") ?? e.message;
        noteText.setAttribute("aria-invalid", "true");
        announce(`Note not added: ${noteError.textContent}`, { error: true });
      }
    } finally {
      adding = false;
      updateNoteCounter();
    }
  }

  replace(
    panels.notes,
    h("h2", { class: "sr-only" }, "Notes"),
    h(
      "form",
      { class: "note-form", onsubmit: addNote },
      h("label", { for: "note-text" }, "Add a note"),
      noteText,
      h(
        "div",
        { class: "form-foot" },
        h("span", { id: "note-hint", class: "help" }, `${IS_MAC ? "⌘" : "Ctrl"}+Enter to add`),
        noteCount,
        noteButton,
      ),
      noteError,
    ),
    notesList,
    olderNotes,
  );

  loaders.notes = async (more = false) => {
    let page;
    try {
      page = (
        await api(`${base}/notes`, {
          query: { tz: timeZone, limit: PAGE, cursor: more ? notesState.next : null },
        })
      ).data;
    } catch (e) {
      if (disposed || e.status === 401) return;
      replace(notesList, quietNotice(e.unavailable ? UNAVAILABLE.notes : `Could not load notes: ${e.message}`, () => loaders.notes()));
      olderNotes.hidden = true;
      return;
    }
    if (disposed) return;
    const days = more ? mergeDays(notesState.days, page.days ?? []) : (page.days ?? []);
    notesState.days = days;
    notesState.next = page.next_cursor ?? null;
    olderNotes.hidden = !notesState.next;
    replace(
      notesList,
      days.length ? days.map(noteDay) : h("p", { class: "empty" }, "No notes yet. Notes are visible to your team only."),
    );
  };
  olderNotes.addEventListener("click", () => loaders.notes(true));

  function noteDay(day) {
    const headingId = uid("day");
    return h(
      "section",
      { class: "note-day", "aria-labelledby": headingId },
      h("h3", { id: headingId }, fmtDay(day.date)),
      h("ol", { class: "notes" }, day.notes.map(noteItem)),
    );
  }

  function noteItem(note) {
    const mine = me && note.author?.id === me.id;
    const actions = h("div", { class: "note-actions" });
    const item = h(
      "li",
      { class: "note", "data-note-id": note.id },
      h(
        "div",
        { class: "note-meta" },
        h("span", { class: "author" }, note.author?.name ?? "Unknown"),
        time(note.created_at, fmtTime(note.created_at)),
        actions,
      ),
      h("p", { class: "note-text" }, note.text),
    );
    if (mine) {
      const label = `Delete your note from ${fmtDateTime(note.created_at)}`;
      const remove = h(
        "button",
        { type: "button", class: "icon-button danger", "aria-label": label, title: "Delete note", onclick: askToConfirm },
        icon("trash"),
      );
      actions.append(remove);

      // A two-step delete in place: no modal, and the focus stays where the user is.
      function askToConfirm() {
        const yes = h("button", { type: "button", class: "danger-button", onclick: () => destroy(yes) }, "Delete note");
        const no = h(
          "button",
          {
            type: "button",
            class: "link-button",
            onclick: () => {
              replace(actions, remove);
              remove.focus();
            },
          },
          "Cancel",
        );
        replace(actions, h("span", { class: "confirm-text" }, "Delete this note?"), yes, no);
        yes.focus();
      }
    }

    async function destroy(button) {
      button.disabled = true;
      try {
        await api(`${base}/notes/${encodeURIComponent(note.id)}`, { method: "DELETE" });
        announce("Note deleted.");
      } catch (e) {
        if (e.status === 401) return;
        if (e.status !== 404) announce(`Note not deleted: ${e.message}`, { error: true });
      }
      await loaders.notes();
      noteText.focus();
    }
    return item;
  }

  // ---- Conversations -----------------------------------------------------------------------
  const conversations = pagedList("conversations", `${base}/conversations`, conversationItem, {
    empty: "No conversations yet.",
    wrap: (items) => h("ol", { class: "conversations" }, items),
  });

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
          active ? [" → ", h("span", { class: "badge active" }, "Active")] : null,
        ),
        chat
          ? h(
              "a",
              { class: "button open", href: chat },
              "Open",
              h("span", { class: "sr-only" }, ` ${platformName(c.platform)} chat from ${fmtDateTime(c.started_at)}`),
              icon("open"),
            )
          : null,
      ),
      c.summary
        ? h("p", { class: "summary" }, c.summary)
        : h("p", { class: "summary muted" }, active ? "The summary appears when the conversation closes." : "No summary yet."),
      h(
        "div",
        { class: "conversation-meta" },
        sentiment(c.sentiment),
        c.topics?.length
          ? h(
              "ul",
              { class: "topics", "aria-label": "Topics" },
              c.topics.map((t) => h("li", { class: "tag topic" }, t)),
            )
          : null,
        c.resolution ? resolution(c.resolution) : null,
      ),
    );
  }

  function resolution(r) {
    const who = r.resolved_by?.type === "ai" ? `AI${r.resolved_by.name ? ` (${r.resolved_by.name})` : ""}` : (r.resolved_by?.name ?? "a team member");
    return h("span", { class: "resolution" }, "Resolved by ", h("strong", {}, who), " · ", time(r.resolved_at, fmtDateTime(r.resolved_at)));
  }

  // ---- Escalations -------------------------------------------------------------------------
  const escalations = pagedList("escalations", `${base}/escalations`, escalationRow, {
    empty: "No escalations.",
    wrap: (rows) =>
      h(
        "table",
        { class: "escalations" },
        h("caption", { class: "sr-only" }, "Escalations to humans"),
        h("thead", {}, h("tr", {}, ["When", "Platform", "Reason", "Handled by"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, rows),
      ),
  });

  function escalationRow(e) {
    return h(
      "tr",
      { "data-escalation-id": e.id },
      h("td", { "data-label": "When" }, time(e.escalated_at, fmtDateTime(e.escalated_at))),
      h("td", { "data-label": "Platform" }, platformBadge(e.platform, { label: true })),
      h("td", { "data-label": "Reason" }, e.reason),
      h(
        "td",
        { "data-label": "Handled by" },
        e.handled_by
          ? [h("strong", {}, e.handled_by), e.handled_at ? [" · ", time(e.handled_at, fmtDateTime(e.handled_at))] : null]
          : e.resolution?.resolved_by?.type === "ai"
            ? [h("span", { class: "badge" }, "No human took it"), " · closed by the AI ", time(e.resolution.resolved_at, fmtDateTime(e.resolution.resolved_at))]
            : h("span", { class: "badge waiting" }, "Waiting for a human"),
      ),
    );
  }

  /** A panel showing one cursor-paged list, refreshed from its first page, with "Show more". */
  function pagedList(key, path, item, { empty, wrap }) {
    const list = h("div", { class: "list" });
    const more = h("button", { type: "button", class: "more", hidden: true }, "Show more");
    const listState = { items: [], next: null };
    replace(panels[key], h("h2", { class: "sr-only" }, TABS.find((t) => t.key === key).label), list, more);
    async function load(append = false) {
      let page;
      try {
        page = (await api(path, { query: { limit: PAGE, cursor: append ? listState.next : null } })).data;
      } catch (e) {
        if (disposed || e.status === 401) return;
        replace(list, quietNotice(e.unavailable ? UNAVAILABLE[key] : `Could not load ${key}: ${e.message}`, () => load()));
        more.hidden = true;
        return;
      }
      if (disposed) return;
      listState.items = append ? [...listState.items, ...(page.items ?? [])] : (page.items ?? []);
      listState.next = page.next_cursor ?? null;
      more.hidden = !listState.next;
      replace(list, listState.items.length ? wrap(listState.items.map(item)) : h("p", { class: "empty" }, empty));
    }
    more.addEventListener("click", () => load(true));
    loaders[key] = load;
    return { load };
  }

  return {
    element,
    /** Load (again) the first page of one tab's list. */
    refresh(key) {
      return loaders[key]?.();
    },
    /** The tab counts from the profile view; a section whose service is down shows no count. */
    setCounts(viewCounts, unavailable = []) {
      for (const tab of TABS) {
        const down = unavailable.includes(tab.section);
        const n = viewCounts?.[tab.key];
        counts[tab.key].textContent = down || typeof n !== "number" ? "" : fmtNumber(n);
        counts[tab.key].hidden = counts[tab.key].textContent === "";
      }
    },
    dispose() {
      disposed = true;
    },
    conversations,
    escalations,
  };
}

/** Sentiment as a coloured dot and a word. */
export function sentiment(label, extra = "") {
  if (!label) return null;
  const words = { positive: "Positive", neutral: "Neutral", negative: "Negative" };
  return h(
    "span",
    { class: `sentiment sentiment-${words[label] ? label : "neutral"}` },
    h("span", { class: "dot", "aria-hidden": "true" }),
    h("span", { class: "sr-only" }, "Sentiment: "),
    `${words[label] ?? label}${extra}`,
  );
}

function mergeDays(existing, incoming) {
  const days = existing.map((d) => ({ ...d, notes: [...d.notes] }));
  for (const day of incoming) {
    const last = days[days.length - 1];
    if (last && last.date === day.date) last.notes.push(...day.notes);
    else days.push(day);
  }
  return days;
}
