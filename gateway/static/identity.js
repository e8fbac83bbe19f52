// Merge, export and erase on the profile page (CONTRACT.md §7): "Merge with…" for everyone,
// "Export" and "Erase" for admins, each in a modal dialog; and the page shown for a customer
// that was merged away or erased.

import { api, session } from "./api.js";
import { fmtDateTime, fmtNumber, h, platformBadge, platformName, replace, tagChip, uid } from "./dom.js";
import { TEXT } from "./identity-text.js";

// Editable fields a merge fills from the duplicate where this customer has none.
const FILLED = ["phone", "email", "language", "country", "location", "agent_instructions"];
const SEARCH_DELAY_MS = 250;
const POLL_MS = 1000;

/** A modal dialog titled `title`; `body` is filled by the caller. */
function dialog(title) {
  const heading = h("h2", { id: uid("dialog") }, title);
  const body = h("div", { class: "dialog-body" });
  const element = h("dialog", { class: "identity-dialog", "aria-labelledby": heading.id }, heading, body);
  element.addEventListener("close", () => element.remove());
  document.body.append(element);
  element.showModal();
  return { element, body, close: () => element.close() };
}

/** The toolbar of a profile: returns {element, erasing} (whether this page erases its customer). */
export function identityActions(customerId, { announce, current }) {
  const admin = session.user?.role === "admin";
  let erasing = false;
  const element = h(
    "div",
    { class: "identity-actions", role: "group", "aria-label": TEXT.actions },
    h("button", { type: "button", onclick: () => openMerge(customerId, current(), announce) }, TEXT.merge),
    admin ? h("button", { type: "button", onclick: () => download(customerId, announce) }, TEXT.export) : null,
    admin
      ? h(
          "button",
          {
            type: "button",
            class: "danger-button",
            onclick: () => {
              erasing = true;
              openErase(customerId, current(), announce);
            },
          },
          TEXT.erase,
        )
      : null,
  );
  return { element, erasing: () => erasing };
}

// ---- merge ----------------------------------------------------------------------------------

function openMerge(targetId, target, announce) {
  const box = dialog(TEXT.mergeTitle(target.header.name));
  const results = h("ul", { class: "merge-candidates", "aria-label": TEXT.matches });
  const status = h("p", { class: "muted", role: "status" });
  const preview = h("div", { class: "merge-preview", "aria-live": "polite" });
  const error = h("p", { class: "field-error", role: "alert" });
  const confirm = h("button", { type: "button", class: "primary", disabled: true }, TEXT.confirmMerge);
  const input = h("input", { id: "merge-search", type: "search", autocomplete: "off", "aria-describedby": "merge-search-hint" });
  let chosen = null;
  let timer = 0;
  let asked = 0;

  async function search() {
    const q = input.value.trim();
    const mine = ++asked;
    chosen = null;
    confirm.disabled = true;
    replace(preview);
    if (!q) {
      replace(results);
      status.textContent = "";
      return;
    }
    status.textContent = TEXT.searching;
    try {
      const { data } = await api("/v1/customers", { query: { q, limit: 10 } });
      if (mine !== asked) return;
      const others = (data.items ?? []).filter((item) => item.id !== targetId);
      status.textContent = others.length ? "" : TEXT.noMatches;
      replace(
        results,
        others.map((item) =>
          h(
            "li",
            {},
            h(
              "label",
              { class: "merge-candidate" },
              h("input", { type: "radio", name: "merge-source", value: item.id, onchange: () => choose(item) }),
              h("span", {}, item.name),
              item.platforms.map((p) => platformBadge(p)),
            ),
          ),
        ),
      );
    } catch (e) {
      if (mine === asked) status.textContent = TEXT.searchFailed(e.message);
    }
  }

  async function choose(item) {
    chosen = null;
    confirm.disabled = true;
    error.textContent = "";
    try {
      const { data } = await api(`/v1/customers/${encodeURIComponent(item.id)}`);
      chosen = data;
      renderPreview(preview, data, target);
      confirm.disabled = false;
    } catch (e) {
      replace(preview, h("p", { class: "field-error" }, TEXT.previewFailed(e.message)));
    }
  }

  async function merge() {
    if (!chosen) return;
    confirm.disabled = true;
    confirm.textContent = TEXT.merging;
    error.textContent = "";
    try {
      await api(`/v1/customers/${encodeURIComponent(targetId)}/merge`, {
        method: "POST",
        body: { source_id: chosen.id },
      });
      box.close();
      announce(TEXT.merged(chosen.header.name, target.header.name));
    } catch (e) {
      confirm.disabled = false;
      confirm.textContent = TEXT.confirmMerge;
      error.textContent = TEXT.mergeFailed(e.message);
    }
  }

  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(search, SEARCH_DELAY_MS);
  });
  confirm.addEventListener("click", merge);
  replace(
    box.body,
    h("p", {}, TEXT.mergeIntro),
    h("label", { for: "merge-search" }, TEXT.search),
    h("p", { id: "merge-search-hint", class: "help" }, TEXT.searchHint),
    input,
    status,
    results,
    preview,
    error,
    h(
      "div",
      { class: "actions" },
      h("button", { type: "button", onclick: () => box.close() }, TEXT.cancel),
      confirm,
    ),
  );
  input.focus();
}

/** What merging `source` into `target` moves and changes, from their two profile views. */
function renderPreview(element, source, target) {
  const filled = FILLED.filter((f) => !target.profile?.[f] && source.profile?.[f]);
  const have = new Set((target.profile?.tags ?? []).map((t) => t.id));
  const tags = (source.profile?.tags ?? []).filter((t) => !have.has(t.id));
  const counts = source.counts ?? {};
  replace(
    element,
    h("h3", {}, TEXT.previewTitle(source.header?.name ?? "", target.header.name)),
    h(
      "ul",
      { class: "merge-moves" },
      h(
        "li",
        {},
        `${TEXT.identities}: `,
        (source.header?.platforms ?? []).map((p) =>
          h("span", { class: "merge-identity" }, platformBadge(p.platform), `${platformName(p.platform)} ${p.platform_user_id}`),
        ),
      ),
      h("li", {}, TEXT.notes(fmtNumber(counts.notes ?? 0))),
      h("li", {}, TEXT.conversations(fmtNumber(counts.conversations ?? 0))),
      h("li", {}, TEXT.escalations(fmtNumber(counts.escalations ?? 0))),
    ),
    filled.length
      ? h(
          "div",
          {},
          h("h4", {}, TEXT.filledFields),
          h(
            "dl",
            { class: "merge-fields" },
            filled.map((f) => h("div", {}, h("dt", {}, TEXT.fields[f]), h("dd", {}, source.profile[f]))),
          ),
        )
      : null,
    tags.length ? h("div", {}, h("h4", {}, TEXT.addedTags), h("span", { class: "tags" }, tags.map((t) => tagChip(t)))) : null,
    !filled.length && !tags.length ? h("p", { class: "muted" }, TEXT.nothingElse) : null,
    h("p", { class: "help" }, TEXT.keptNote(target.header.name)),
  );
}

// ---- export ---------------------------------------------------------------------------------

async function download(customerId, announce) {
  announce(TEXT.exporting);
  try {
    const { data } = await api(`/v1/customers/${encodeURIComponent(customerId)}/export`);
    const blob = new Blob([JSON.stringify(data, null, 2)], { type: "application/json" });
    const link = h("a", { href: URL.createObjectURL(blob), download: `customer-${customerId}.json`, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 0);
    announce(TEXT.exported);
  } catch (e) {
    if (e.status !== 401) announce(TEXT.exportFailed(e.message), { error: true });
  }
}

// ---- erase ----------------------------------------------------------------------------------

function openErase(customerId, customer, announce) {
  const name = customer.header.name;
  const box = dialog(TEXT.eraseTitle(name));
  const input = h("input", { id: "erase-name", type: "text", autocomplete: "off", spellcheck: "false" });
  const error = h("p", { class: "field-error", role: "alert" });
  const confirm = h("button", { type: "button", class: "danger-button", disabled: true }, TEXT.confirmErase);
  const cancel = h("button", { type: "button", onclick: () => box.close() }, TEXT.cancel);
  input.addEventListener("input", () => {
    confirm.disabled = input.value !== name;
  });

  async function erase() {
    confirm.disabled = true;
    input.disabled = true;
    confirm.textContent = TEXT.erasing;
    error.textContent = "";
    try {
      const { data } = await api(`/v1/customers/${encodeURIComponent(customerId)}`, { method: "DELETE" });
      follow(box, data.erasure_id, announce);
    } catch (e) {
      input.disabled = false;
      confirm.disabled = input.value !== name;
      confirm.textContent = TEXT.confirmErase;
      error.textContent = TEXT.eraseFailed(e.message);
    }
  }

  confirm.addEventListener("click", erase);
  replace(
    box.body,
    h("p", { class: "warning" }, TEXT.eraseWarning),
    h("p", {}, TEXT.eraseMerged),
    h("label", { for: "erase-name" }, TEXT.typeName(name)),
    input,
    error,
    h("div", { class: "actions" }, cancel, confirm),
  );
  input.focus();
}

/** Show an erasure's progress in its dialog until every service has done its part. */
function follow(box, erasureId, announce) {
  const progress = h("p", { class: "erasure-progress", role: "status", "data-status": "pending" }, TEXT.pending);
  const back = h(
    "button",
    { type: "button", class: "primary", onclick: () => { box.close(); location.hash = "#/customers"; } },
    TEXT.backToCustomers,
  );
  replace(box.body, progress, h("div", { class: "actions" }, back));
  // Leaving the dialog leaves the page: the customer no longer exists.
  box.element.addEventListener("close", () => {
    location.hash = "#/customers";
  });

  async function poll() {
    if (!box.element.isConnected) return;
    try {
      const { data } = await api(`/v1/erasures/${encodeURIComponent(erasureId)}`);
      if (data.status === "done") {
        progress.dataset.status = "done";
        progress.textContent = TEXT.done(fmtDateTime(data.completed_at));
        announce(progress.textContent);
        return;
      }
    } catch (e) {
      if (e.status === 401) return;
      progress.textContent = TEXT.progressFailed(e.message);
    }
    setTimeout(poll, POLL_MS);
  }
  poll();
  back.focus();
}

// ---- a customer that is no more -------------------------------------------------------------

/** For a 404 that names the customer this one was merged into: go there and say so; whether it did. */
export function goToMergeTarget(error, announce) {
  const target = error.problem?.merged_into;
  if (typeof target !== "string") return false;
  announce(TEXT.mergedAway);
  location.replace(`#/customers/${encodeURIComponent(target)}`);
  return true;
}

/** The page of a customer that was erased while it was open. */
export function renderErased(main, { viewReady }) {
  const heading = h("h1", { tabindex: "-1" }, TEXT.goneErased);
  replace(
    main,
    h(
      "section",
      { class: "card gone" },
      heading,
      h("p", {}, TEXT.goneErasedDetail),
      h("p", {}, h("a", { href: "#/customers" }, TEXT.backToCustomers)),
    ),
  );
  viewReady(heading.textContent, heading);
}
