// The customer profile page: header, profile and AI profile cards on the left, activity tabs on
// the right, kept current by the gateway's event stream.

import { api, cached, session } from "./api.js";
import { createActivity, sentiment } from "./activity.js";
import {
  avatar,
  charCount,
  fmtDate,
  fmtDateTime,
  fmtNumber,
  h,
  platformName,
  quietNotice,
  replace,
  safeUrl,
  tagChip,
  time,
} from "./dom.js";
import { icon } from "./icons.js";
import { goToMergeTarget, identityActions, renderErased } from "./identity.js";

const INSTRUCTIONS_MAX = 2000;
const FIELDS = [
  { key: "name", label: "Name", kind: "text", autocomplete: "off" },
  { key: "phone", label: "Phone", kind: "tel", hint: "International format with country code, e.g. +971 50 123 4567" },
  { key: "email", label: "Email", kind: "email" },
  { key: "language", label: "Language", kind: "select", list: "languages" },
  { key: "country", label: "Country", kind: "select", list: "countries" },
  { key: "location", label: "Location", kind: "text" },
  { key: "tags", patch: "tag_ids", label: "Tags", kind: "tags" },
  {
    key: "agent_instructions",
    label: "Agent instructions",
    kind: "textarea",
    hint: "The AI assistant follows these when it chats with this customer.",
  },
];
const FOLLOW_STATUS = {
  following: "Follows your account",
  not_following: "Doesn't follow your account",
  unknown: "Follow status unknown",
};
// Which parts of the page each live event changes.
const LIVE_EVENTS = {
  "profile.customer.created": ["view"],
  "profile.customer.updated": ["view", "history"],
  "notes.note.added": ["view", "notes"],
  "notes.note.deleted": ["view", "notes"],
  "timeline.conversation.started": ["view", "conversations"],
  // A close can settle an escalation: a human closing counts as handling it.
  "timeline.conversation.closed": ["view", "conversations", "escalations"],
  "timeline.conversation.updated": ["view", "conversations"],
  "timeline.escalation.changed": ["view", "escalations", "conversations"],
  "insights.customer.updated": ["view"],
  "insights.conversation.analysed": ["conversations"],
  // Each service has moved a duplicate's data here (CONTRACT.md §7).
  "notes.customer.merged": ["view", "notes"],
  "timeline.customer.merged": ["view", "conversations", "escalations"],
  "insights.customer.merged": ["view"],
};
const RECONNECT_MS = 5000;

/** Render one customer's profile into `main`; returns its cleanup (closes the event stream). */
export function renderProfile(main, customerId, { announce, viewReady }) {
  const base = `/v1/customers/${encodeURIComponent(customerId)}`;
  const me = session.user;
  const state = { view: null, etag: null, editing: false, saves: Promise.resolve(), disposed: false };
  const reference = { languages: new Map(), countries: new Map(), tags: [] };
  const editors = new Map();
  let source = null;
  let reconnectTimer = 0;
  let refreshTimer = 0;
  let missedEvents = false;
  const pending = new Set();

  const nameHeading = h("h1", { id: "customer-name", tabindex: "-1" }, "Loading customer…");
  const headerCard = h("section", { class: "card header-card", "aria-labelledby": "customer-name" });
  const editButton = h(
    "button",
    { type: "button", class: "icon-button", "aria-pressed": "false", "aria-label": "Edit profile", title: "Edit profile" },
    icon("edit"),
  );
  const profileBody = h("div", { class: "profile-body" });
  const historyList = h("div", { class: "history-list" });
  const history = h(
    "details",
    { class: "history" },
    h("summary", {}, "Change history"),
    historyList,
  );
  const profileCard = h(
    "section",
    { class: "card profile-card", "aria-labelledby": "profile-title" },
    h("div", { class: "card-head" }, h("h2", { id: "profile-title" }, "Profile"), editButton),
    profileBody,
    history,
  );
  const aiBody = h("div", { class: "ai-body" });
  const aiCard = h(
    "section",
    { class: "card ai-card", "aria-labelledby": "ai-title" },
    h("div", { class: "card-head" }, h("h2", { id: "ai-title" }, icon("sparkle"), "AI profile")),
    aiBody,
  );
  const liveStatus = h("span", { class: "live-status", "data-state": "connecting" }, "Connecting…");
  const activity = createActivity(customerId, { announce, me });
  const actions = identityActions(customerId, { announce, current: () => state.view });

  replace(
    main,
    h(
      "div",
      { class: "profile-view" },
      h(
        "div",
        { class: "crumbs" },
        h("a", { href: "#/customers", class: "back" }, icon("back"), "All customers"),
        liveStatus,
      ),
      h(
        "div",
        { class: "profile-layout" },
        h("div", { class: "sidebar" }, headerCard, profileCard, aiCard),
        activity.element,
      ),
    ),
  );
  renderHeader();
  renderProfileCard();

  editButton.addEventListener("click", () => {
    state.editing = !state.editing;
    editButton.setAttribute("aria-pressed", String(state.editing));
    editButton.setAttribute("aria-label", state.editing ? "Done editing" : "Edit profile");
    editButton.title = state.editing ? "Done editing" : "Edit profile";
    replace(editButton, icon(state.editing ? "check" : "edit"));
    renderProfileCard();
    if (state.editing) editors.get("name")?.focus();
  });
  history.addEventListener("toggle", () => {
    if (history.open) loadHistory();
  });

  // ---- the profile view --------------------------------------------------------------------
  /** Take a view unless it is older than the one shown (a slow refetch racing a save). */
  function accept(view, etag) {
    const shown = state.view?.profile?.version;
    const incoming = view?.profile?.version;
    if (typeof shown === "number" && typeof incoming === "number" && incoming < shown) return false;
    state.view = view;
    state.etag = etag ?? (typeof incoming === "number" ? `"${incoming}"` : null);
    renderHeader();
    renderProfileCard();
    renderAi();
    activity.setCounts(view.counts, view.unavailable ?? []);
    return true;
  }

  async function loadView() {
    try {
      const { data, headers } = await api(base);
      if (state.disposed) return;
      const first = state.view === null;
      accept(data, headers.get("ETag"));
      if (first) viewReady(data.header?.name ?? "Customer", nameHeading);
    } catch (e) {
      if (state.disposed || e.status === 401) return;
      if (e.status === 404 && goToMergeTarget(e, announce)) {
        dispose();
        return;
      }
      if (e.status === 404) {
        const heading = h("h1", { tabindex: "-1" }, "Customer not found");
        replace(
          main,
          h(
            "section",
            { class: "card" },
            heading,
            h("p", {}, "There is no such customer in your workspace."),
            h("p", {}, h("a", { href: "#/customers" }, "Back to all customers")),
          ),
        );
        dispose();
        viewReady("Customer not found", heading);
        return;
      }
      if (state.view === null) {
        nameHeading.textContent = "Customer";
        replace(profileBody, quietNotice(`The profile could not be loaded: ${e.message}`, loadView));
        viewReady("Customer", nameHeading);
      }
    }
  }

  const unavailable = (section) => (state.view?.unavailable ?? []).includes(section);

  function renderHeader() {
    const header = state.view?.header;
    if (!header) {
      replace(
        headerCard,
        h("div", { class: "identity" }, avatar("", null, "lg"), nameHeading),
        state.view && unavailable("profile")
          ? quietNotice("Customer details are unavailable right now. They will show again when the service answers.", loadView)
          : null,
      );
      return;
    }
    nameHeading.textContent = header.name;
    if (state.view && !state.disposed) document.title = `${header.name} · Customer profiles`;
    const instagram = header.instagram;
    replace(
      headerCard,
      h("div", { class: "identity" }, avatar(header.name, header.avatar_url, "lg"), nameHeading),
      h(
        "ul",
        { class: "platform-links", "aria-label": "Chats" },
        (header.platforms ?? []).map((p) => {
          const href = safeUrl(p.chat_url);
          const label = `Open ${platformName(p.platform)} chat (${p.platform_user_id})`;
          return h(
            "li",
            {},
            href
              ? h(
                  "a",
                  { href, class: `platform-link platform-${p.platform}`, "aria-label": label, title: label },
                  icon(p.platform),
                )
              : h("span", { class: `platform-link platform-${p.platform}`, title: p.platform_user_id }, icon(p.platform)),
            h("span", { class: "platform-id" }, p.platform_user_id),
          );
        }),
      ),
      instagram
        ? h(
            "p",
            { class: "instagram" },
            h("span", { class: "handle" }, `@${instagram.username}`),
            typeof instagram.followers === "number" ? ` · ${fmtNumber(instagram.followers)} followers` : null,
            ` · ${FOLLOW_STATUS[instagram.follow_status] ?? FOLLOW_STATUS.unknown}`,
          )
        : null,
      h(
        "dl",
        { class: "facts" },
        h("div", {}, h("dt", {}, "Customer since"), h("dd", {}, time(header.created_at, fmtDate(header.created_at)))),
        h("div", {}, h("dt", {}, "Average sentiment"), h("dd", { class: "avg-sentiment" }, averageSentiment(header.sentiment))),
      ),
      actions.element,
    );
  }

  function averageSentiment(avg) {
    if (unavailable("insights")) return h("span", { class: "muted" }, "Unavailable right now");
    if (!avg || avg.average === null || avg.average === undefined) {
      return h("span", { class: "muted" }, "No analysed conversations yet");
    }
    const score = `${avg.average > 0 ? "+" : ""}${avg.average.toFixed(2)}`;
    const over = avg.conversations ? ` · ${fmtNumber(avg.conversations)} conversation${avg.conversations === 1 ? "" : "s"}` : "";
    return [sentiment(avg.label ?? "neutral", ` (${score})`), h("span", { class: "muted" }, over)];
  }

  function renderAi() {
    if (unavailable("insights")) {
      replace(aiBody, quietNotice("The AI profile is unavailable right now.", loadView));
      return;
    }
    const ai = state.view?.ai_profile;
    if (!ai) {
      replace(aiBody, h("p", { class: "muted" }, "No AI profile yet. It appears once a conversation has been analysed."));
      return;
    }
    const sections = [
      ["Communication preferences", ai.communication_preferences],
      ["Topics of interest", ai.topics_of_interest],
      ["Purchase behaviour", ai.purchase_behavior],
      ["Key characteristics", ai.key_characteristics],
    ];
    replace(
      aiBody,
      sections.map(([title, items]) =>
        h(
          "div",
          { class: "ai-section" },
          h("h3", {}, title),
          items?.length ? h("ul", {}, items.map((i) => h("li", {}, i))) : h("p", { class: "muted" }, "Nothing yet"),
        ),
      ),
      ai.updated_at ? h("p", { class: "updated muted" }, "Updated ", time(ai.updated_at, fmtDateTime(ai.updated_at))) : null,
    );
  }

  // ---- the profile card: read-only, or each field edited in place and saved at once ---------
  function display(field, profile) {
    const value = profile[field.key];
    if (field.kind === "tags") {
      return value?.length ? h("span", { class: "tags" }, value.map((t) => tagChip(t))) : h("span", { class: "muted" }, "None");
    }
    if (value === null || value === undefined || value === "") return h("span", { class: "muted" }, "Not set");
    if (field.kind === "select") {
      const name = reference[field.list].get(value);
      return name ? `${name} (${value})` : value;
    }
    return h("span", { class: field.kind === "textarea" ? "multiline" : "" }, value);
  }

  function renderProfileCard() {
    const profile = state.view?.profile;
    if (!profile) {
      editors.clear();
      editButton.disabled = true;
      replace(
        profileBody,
        state.view && unavailable("profile")
          ? quietNotice("The profile is unavailable right now. Editing resumes when the service answers.", loadView)
          : h("p", { class: "muted" }, "Loading…"),
      );
      return;
    }
    editButton.disabled = false;
    if (!state.editing) {
      editors.clear();
      replace(
        profileBody,
        h(
          "dl",
          { class: "fields" },
          FIELDS.map((f) => h("div", { class: `row row-${f.key}` }, h("dt", {}, f.label), h("dd", {}, display(f, profile)))),
        ),
      );
      return;
    }
    if (editors.size === 0) {
      replace(profileBody, h("div", { class: "fields editing" }, FIELDS.map((f) => editor(f))));
    }
    for (const ed of editors.values()) ed.sync(false);
  }

  /** An in-place editor for one field; registers {focus, sync(force)} in `editors`. */
  function editor(field) {
    const id = `field-${field.key}`;
    const status = h("span", { class: "save-status", id: `${id}-status` });
    const message = h("p", { class: "field-error", id: `${id}-error` });
    const hint = field.hint ? h("p", { class: "help", id: `${id}-hint` }, field.hint) : null;
    const counter =
      field.kind === "textarea" ? h("span", { class: "counter", id: `${id}-count`, "aria-live": "off" }) : null;
    const described = [hint && `${id}-hint`, counter && `${id}-count`, `${id}-error`, `${id}-status`].filter(Boolean).join(" ");
    let control;
    let lastSaved = null; // the value the server has, as the control shows it

    const serverValue = () => {
      const v = state.view.profile[field.key];
      if (field.kind === "tags") return (v ?? []).map((t) => t.id).sort().join(",");
      return v ?? "";
    };
    const current = () =>
      field.kind === "tags"
        ? [...control.querySelectorAll("input:checked")].map((i) => i.value).sort().join(",")
        : control.value;
    const payload = () => {
      if (field.kind === "tags") return [...control.querySelectorAll("input:checked")].map((i) => i.value);
      if (field.key === "name") return control.value;
      const v = field.kind === "textarea" ? control.value : control.value.trim();
      return v.trim() === "" ? null : v;
    };

    function setError(text) {
      message.textContent = text;
      if (text) control.setAttribute("aria-invalid", "true");
      else control.removeAttribute("aria-invalid");
    }

    function updateCounter() {
      if (!counter) return;
      const n = charCount(control.value);
      counter.textContent = `${fmtNumber(n)} / ${fmtNumber(INSTRUCTIONS_MAX)}`;
      counter.classList.toggle("over", n > INSTRUCTIONS_MAX);
    }

    function commit() {
      if (current() === lastSaved) return;
      const value = payload();
      lastSaved = current();
      state.saves = state.saves.then(() => save(value));
    }

    async function save(value) {
      if (state.disposed) return;
      status.textContent = "Saving…";
      status.className = "save-status saving";
      setError("");
      try {
        const { data, headers } = await api(base, {
          method: "PATCH",
          body: { [field.patch ?? field.key]: value },
          headers: state.etag ? { "If-Match": state.etag } : {},
        });
        accept(data, headers.get("ETag"));
        ed.sync(true); // show the stored form (E.164 phone, lower-cased email domain)
        status.textContent = "Saved";
        status.className = "save-status saved";
        announce(`${field.label} saved.`);
      } catch (e) {
        status.textContent = "";
        status.className = "save-status";
        if (e.status === 401) return;
        if (e.status === 412) {
          // Someone saved first: show their version and say so rather than overwrite it.
          await loadView();
          ed.sync(true);
          setError("Someone else changed this profile meanwhile, so your change was not saved. The latest version is shown.");
          announce(`${field.label} not saved: the profile was changed by someone else. The latest version is shown.`, {
            error: true,
          });
          return;
        }
        const text = e.status === 422 ? (e.fieldMessage(field.patch ?? field.key) ?? e.message) : `Not saved: ${e.message}`;
        setError(text);
        announce(`${field.label}: ${text}`, { error: true });
        // The server kept its value; the control keeps the rejected input so it can be corrected.
        lastSaved = null;
      }
    }

    if (field.kind === "select") {
      control = h(
        "select",
        { id, "aria-describedby": described },
        h("option", { value: "" }, "Not set"),
        [...reference[field.list]].map(([code, name]) => h("option", { value: code }, `${name} (${code})`)),
      );
      control.addEventListener("change", commit);
    } else if (field.kind === "tags") {
      control = h(
        "div",
        { class: "tag-options", role: "group", "aria-labelledby": `${id}-label`, "aria-describedby": described, id },
        reference.tags.length
          ? reference.tags.map((tag) =>
              h(
                "label",
                { class: "tag-option" },
                h("input", { type: "checkbox", value: tag.id, onchange: commit }),
                tagChip(tag),
              ),
            )
          : h("span", { class: "muted" }, "No tags in the catalog yet."),
      );
    } else if (field.kind === "textarea") {
      control = h("textarea", { id, rows: 5, "aria-describedby": described });
      control.addEventListener("input", () => {
        updateCounter();
        status.textContent = "";
      });
      control.addEventListener("change", commit);
      control.addEventListener("keydown", (event) => {
        if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
          event.preventDefault();
          commit();
        }
      });
    } else {
      control = h("input", {
        id,
        type: field.kind,
        autocomplete: "off",
        spellcheck: field.kind === "text" ? null : "false",
        "aria-describedby": described,
      });
      control.addEventListener("change", commit);
      control.addEventListener("input", () => {
        status.textContent = "";
      });
      control.addEventListener("keydown", (event) => {
        if (event.key === "Enter") {
          event.preventDefault();
          commit();
        }
      });
    }
    // Escape puts the stored value back.
    control.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && field.kind !== "tags") {
        ed.sync(true);
        setError("");
      }
    });

    const ed = {
      focus: () => (field.kind === "tags" ? control.querySelector("input")?.focus() : control.focus()),
      /** Show the server's value; unless forced, leave a field alone while the user is in it. */
      sync(force) {
        if (!force && (control.contains(document.activeElement) || message.textContent)) return;
        if (field.kind === "tags") {
          const ids = new Set((state.view.profile.tags ?? []).map((t) => t.id));
          for (const box of control.querySelectorAll("input")) box.checked = ids.has(box.value);
        } else {
          control.value = state.view.profile[field.key] ?? "";
        }
        lastSaved = serverValue();
        updateCounter();
      },
    };
    editors.set(field.key, ed);

    const labelAttrs = { id: `${id}-label`, class: "field-label" };
    return h(
      "div",
      { class: `field row-${field.key}` },
      h(
        "div",
        { class: "label-line" },
        field.kind === "tags" ? h("span", labelAttrs, field.label) : h("label", { ...labelAttrs, for: id }, field.label),
        status,
      ),
      control,
      counter || hint ? h("div", { class: "field-foot" }, hint, counter) : null,
      message,
    );
  }

  async function loadHistory() {
    let page;
    try {
      page = (await api(`${base}/history`, { query: { limit: 25 } })).data;
    } catch (e) {
      if (!state.disposed && e.status !== 401) replace(historyList, quietNotice("The change history is unavailable right now.", loadHistory));
      return;
    }
    if (state.disposed) return;
    const items = page?.items ?? [];
    replace(
      historyList,
      items.length
        ? h("ol", {}, items.map(historyItem))
        : h("p", { class: "muted" }, "No changes yet."),
    );
  }

  function historyItem(item) {
    const tagName = (id) => reference.tags.find((t) => t.id === id)?.name ?? id;
    const show = (field, value) => {
      if (value === null || value === undefined || value === "") return "—";
      if (Array.isArray(value)) return value.map((v) => (field === "tag_ids" ? tagName(v) : String(v))).join(", ") || "—";
      return typeof value === "object" ? JSON.stringify(value) : String(value);
    };
    const label = (field) => FIELDS.find((f) => f.key === field || f.patch === field)?.label ?? field;
    return h(
      "li",
      {},
      h(
        "div",
        { class: "history-meta" },
        h("strong", {}, item.actor?.name ?? "Connector"),
        " · ",
        time(item.changed_at, fmtDateTime(item.changed_at)),
      ),
      h(
        "ul",
        {},
        Object.entries(item.changes ?? {}).map(([field, change]) =>
          h("li", {}, `${label(field)}: `, h("span", { class: "old" }, show(field, change?.old)), " → ", h("span", { class: "new" }, show(field, change?.new))),
        ),
      ),
    );
  }

  // ---- live updates ------------------------------------------------------------------------
  function schedule(parts) {
    for (const part of parts) pending.add(part);
    clearTimeout(refreshTimer);
    // Coalesce a burst of events (one edit can announce several) into one refetch per section.
    refreshTimer = setTimeout(() => {
      const parts = [...pending];
      pending.clear();
      for (const part of parts) {
        if (part === "view") loadView();
        else if (part === "history") {
          if (history.open) loadHistory();
        } else activity.refresh(part);
      }
    }, 100);
  }

  function setLive(stateName, text) {
    liveStatus.dataset.state = stateName;
    liveStatus.textContent = text;
  }

  function connect() {
    if (state.disposed || !session.token) return;
    const url = `${base}/events?access_token=${encodeURIComponent(session.token)}`;
    source = new EventSource(url);
    source.addEventListener("open", () => {
      setLive("live", "Live");
      // Whatever changed while disconnected was missed: fetch everything again.
      if (missedEvents) schedule(["view", "history", "notes", "conversations", "escalations"]);
      missedEvents = false;
    });
    source.addEventListener("error", () => {
      missedEvents = true;
      setLive("reconnecting", "Reconnecting…");
      if (source.readyState === EventSource.CLOSED) {
        // The browser gave up (an error status): check the session (a 401 signs out), then retry.
        api("/v1/tags").catch(() => {});
        reconnectTimer = setTimeout(connect, RECONNECT_MS);
      }
    });
    for (const [type, parts] of Object.entries(LIVE_EVENTS)) source.addEventListener(type, () => schedule(parts));
    // A duplicate merged in (refresh everything), or this customer merged away: go to its target.
    source.addEventListener("profile.customer.merged", (event) => {
      const update = JSON.parse(event.data);
      if (!update.final) {
        schedule(["view", "history", "notes", "conversations", "escalations"]);
        return;
      }
      dispose();
      goToMergeTarget({ problem: { merged_into: update.data.customer_id } }, announce);
    });
    // Erased: say so, unless this page's own erase dialog is showing the progress.
    source.addEventListener("profile.erasure.requested", () => {
      dispose();
      if (!actions.erasing()) renderErased(main, { viewReady });
    });
  }

  function dispose() {
    state.disposed = true;
    activity.dispose();
    clearTimeout(reconnectTimer);
    clearTimeout(refreshTimer);
    source?.close();
  }

  // ---- start -------------------------------------------------------------------------------
  Promise.allSettled([
    cached("/v1/reference/languages"),
    cached("/v1/reference/countries"),
    cached("/v1/tags", { refresh: true }),
  ]).then(([languages, countries, tags]) => {
    if (languages.status === "fulfilled") reference.languages = new Map(languages.value.map((l) => [l.code, l.name]));
    if (countries.status === "fulfilled") reference.countries = new Map(countries.value.map((c) => [c.code, c.name]));
    if (tags.status === "fulfilled") reference.tags = tags.value;
    if (state.disposed) return;
    loadView();
    for (const key of ["notes", "conversations", "escalations"]) activity.refresh(key);
    connect();
  });

  return dispose;
}
