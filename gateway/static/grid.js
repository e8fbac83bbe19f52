// The customer grid: search, tag and platform filters, cursor pagination.

import { api, cached } from "./api.js";
import { PLATFORMS, avatar, fmtDate, h, platformBadge, quietNotice, replace, tagChip, time } from "./dom.js";

// Kept across visits, so that returning from a profile shows the same page and filters.
const state = { q: "", tag: "", platform: "", limit: 25, cursors: [null], page: 0 };
const SEARCH_DELAY_MS = 300;

/** Render the grid into `main`; returns its cleanup. */
export function renderGrid(main, { viewReady }) {
  let sequence = 0;
  let searchTimer = 0;

  const heading = h("h1", { tabindex: "-1" }, "Customers");
  const search = h("input", {
    id: "grid-q",
    type: "search",
    value: state.q,
    placeholder: "Name, phone, email or platform id",
    autocomplete: "off",
  });
  const tagSelect = h("select", { id: "grid-tag" }, h("option", { value: "" }, "All tags"));
  const platformSelect = h(
    "select",
    { id: "grid-platform" },
    h("option", { value: "" }, "All platforms"),
    Object.entries(PLATFORMS).map(([value, label]) => h("option", { value, selected: value === state.platform }, label)),
  );
  const sizeSelect = h(
    "select",
    { id: "grid-size" },
    [10, 25, 50, 100].map((n) => h("option", { value: n, selected: n === state.limit }, String(n))),
  );
  const tbody = h("tbody");
  const tableCard = h(
    "div",
    { class: "card table-card" },
    h(
      "table",
      { class: "customers" },
      h("caption", { class: "sr-only" }, "Customers"),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["Customer", "Platforms", "Tags", "Created", "Last contact"].map((t) => h("th", { scope: "col" }, t)),
        ),
      ),
      tbody,
    ),
  );
  const message = h("div", { class: "grid-message" });
  const pageLabel = h("span", { class: "page-label", "aria-live": "polite" });
  const prev = h("button", { type: "button", onclick: () => turn(-1) }, "Previous page");
  const next = h("button", { type: "button", onclick: () => turn(1) }, "Next page");

  function field(id, label, control) {
    return h("div", { class: "field" }, h("label", { for: id }, label), control);
  }

  replace(
    main,
    h(
      "section",
      { class: "grid-view" },
      h("div", { class: "view-head" }, heading),
      h(
        "form",
        { class: "filters card", role: "search", "aria-label": "Filter customers", onsubmit: onSubmit },
        field("grid-q", "Search", search),
        field("grid-tag", "Tag", tagSelect),
        field("grid-platform", "Platform", platformSelect),
        field("grid-size", "Rows per page", sizeSelect),
      ),
      tableCard,
      message,
      h("nav", { class: "pager", "aria-label": "Pages" }, prev, pageLabel, next),
    ),
  );
  viewReady("Customers", heading);

  function resetPages() {
    state.cursors = [null];
    state.page = 0;
  }

  function onSubmit(event) {
    event.preventDefault();
    clearTimeout(searchTimer);
    state.q = search.value.trim();
    resetPages();
    load();
  }

  search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      if (search.value.trim() === state.q) return;
      state.q = search.value.trim();
      resetPages();
      load();
    }, SEARCH_DELAY_MS);
  });
  for (const [select, key, parse] of [
    [tagSelect, "tag", String],
    [platformSelect, "platform", String],
    [sizeSelect, "limit", Number],
  ]) {
    select.addEventListener("change", () => {
      state[key] = parse(select.value);
      resetPages();
      load();
    });
  }

  function turn(step) {
    state.page = Math.max(0, Math.min(state.cursors.length - 1, state.page + step));
    load();
  }

  cached("/v1/tags")
    .then((tags) => {
      for (const tag of tags) tagSelect.append(h("option", { value: tag.id, selected: tag.id === state.tag }, tag.name));
      // A tag filter kept from an earlier visit may name a tag that has since been deleted.
      if (state.tag && !tags.some((t) => t.id === state.tag)) {
        state.tag = "";
        resetPages();
        load();
      }
    })
    .catch(() => {
      tagSelect.disabled = true;
      tagSelect.options[0].textContent = "Tags unavailable";
    });

  async function load() {
    const mine = ++sequence;
    tableCard.setAttribute("aria-busy", "true");
    let result;
    try {
      result = await api("/v1/customers", {
        query: {
          q: state.q,
          tag: state.tag,
          platform: state.platform,
          limit: state.limit,
          cursor: state.cursors[state.page],
        },
      });
    } catch (e) {
      if (mine !== sequence) return;
      tableCard.removeAttribute("aria-busy");
      replace(tbody);
      if (e.status === 422 && state.page > 0) {
        // A cursor from an earlier session: start again from the first page.
        resetPages();
        load();
        return;
      }
      replace(
        message,
        e.unavailable
          ? quietNotice("The customer list is unavailable right now.", load)
          : quietNotice(`Could not load customers: ${e.message}`),
      );
      prev.disabled = next.disabled = true;
      pageLabel.textContent = "";
      return;
    }
    if (mine !== sequence) return;
    tableCard.removeAttribute("aria-busy");
    const { items = [], next_cursor: nextCursor = null } = result.data ?? {};
    state.cursors = state.cursors.slice(0, state.page + 1);
    if (nextCursor) state.cursors.push(nextCursor);
    replace(tbody, items.map(row));
    replace(
      message,
      items.length
        ? null
        : h("p", { class: "empty" }, state.q || state.tag || state.platform ? "No customers match." : "No customers yet."),
    );
    prev.disabled = state.page === 0;
    next.disabled = !nextCursor;
    pageLabel.textContent = `Page ${state.page + 1} · ${items.length} customer${items.length === 1 ? "" : "s"}`;
  }

  load();
  return () => {
    clearTimeout(searchTimer);
    sequence++;
  };
}

function row(customer) {
  const name = customer.name || "(no name)";
  return h(
    "tr",
    {},
    h(
      "td",
      { "data-label": "Customer" },
      h(
        "a",
        { class: "customer-link", href: `#/customers/${encodeURIComponent(customer.id)}` },
        avatar(name, customer.avatar_url, "sm"),
        h("span", { class: "name" }, name),
      ),
    ),
    h(
      "td",
      { "data-label": "Platforms" },
      h("span", { class: "platforms" }, (customer.platforms ?? []).map((p) => platformBadge(p))),
    ),
    h("td", { "data-label": "Tags" }, h("span", { class: "tags" }, (customer.tags ?? []).map((t) => tagChip(t)))),
    h("td", { "data-label": "Created" }, customer.created_at ? time(customer.created_at, fmtDate(customer.created_at)) : "—"),
    h(
      "td",
      { "data-label": "Last contact" },
      customer.last_contact_at ? time(customer.last_contact_at, fmtDate(customer.last_contact_at)) : "—",
    ),
  );
}
