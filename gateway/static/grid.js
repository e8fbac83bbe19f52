// @ts-check
// The customer grid: filters, order and page come from the URL; the table, the bulk-tag bar and
// the pager render from the state loaded for it.

import { api, cached } from "./api.js";
import { h, replace } from "./dom.js";
import { t } from "./i18n.js";
import { createBulkBar } from "./grid-bulk.js";
import { createFilters } from "./grid-filters.js";
import {
  firstPage,
  gridHref,
  previousPage,
  readQuery,
  rememberGrid,
  rememberNext,
  toggledSort,
} from "./grid-query.js";
import { createTable } from "./grid-table.js";
import { navigate } from "./router.js";
import { quietNotice } from "./widgets.js";

/**
 * Render the grid into `main`.
 * @param {HTMLElement} main
 * @param {URLSearchParams} params
 * @param {import("./shell.js").Shell} shell
 * @returns {import("./shell.js").View}
 */
export function mountGrid(main, params, { announce, viewReady }) {
  const state = {
    query: readQuery(params),
    /** @type {import("./grid-table.js").GridItem[]} */
    items: [],
    next: /** @type {string | null} */ (null),
    /** @type {Set<string>} */
    selected: new Set(),
    /** @type {import("./widgets.js").Tag[]} */
    tags: [],
    sequence: 0,
    disposed: false,
  };

  /**
   * Go to another state of the grid: a new history entry, or (while the user types a search)
   * the same one, so that back does not replay every keystroke.
   * @param {import("./grid-query.js").GridQuery} query
   * @param {{ typing?: boolean, replace?: boolean }} [options]
   */
  function go(query, { typing = false, replace: inPlace = false } = {}) {
    const wasTyping = history.state?.typing === true;
    navigate(gridHref(query), { replace: inPlace || (typing && wasTyping), state: { typing } });
  }

  const heading = h("h1", { tabindex: "-1" }, t("grid.title"));
  const filters = createFilters((changes, { typing = false } = {}) => {
    if (changes.q !== undefined && changes.q === state.query.q) return;
    go(firstPage(state.query, changes), { typing });
  });
  const table = createTable({
    onSort: (key) => go(firstPage(state.query, { sort: toggledSort(state.query.sort, key) })),
    onSelect: (ids, on) => {
      for (const id of ids) {
        if (on) state.selected.add(id);
        else state.selected.delete(id);
      }
      renderRows();
    },
  });
  const bulk = createBulkBar({
    announce,
    onDone: () => {
      state.selected.clear();
      load();
    },
    onClear: () => {
      state.selected.clear();
      renderRows();
    },
  });
  const message = h("div", { class: "grid-message" });
  const pageLabel = h("span", { class: "page-label", "aria-live": "polite" });
  const prev = h("button", { type: "button", onclick: () => turn(-1) }, t("grid.previous"));
  const next = h("button", { type: "button", onclick: () => turn(1) }, t("grid.next"));

  replace(
    main,
    h(
      "section",
      { class: "grid-view" },
      h("div", { class: "view-head" }, heading),
      filters.element,
      bulk.element,
      table.element,
      message,
      h("nav", { class: "pager", "aria-label": t("grid.pages") }, prev, pageLabel, next),
    ),
  );
  viewReady(t("grid.title"), heading);

  /** @param {number} step */
  function turn(step) {
    if (step > 0 && state.next) {
      rememberNext(state.query, state.next);
      go({ ...state.query, cursor: state.next, page: state.query.page + 1 });
    } else if (step < 0) {
      go(previousPage(state.query) ?? firstPage(state.query, {}));
    }
  }

  function renderRows() {
    table.render(state.items, state.query.sort, state.selected);
    bulk.render([...state.selected], state.tags);
  }

  function renderPager() {
    const { page } = state.query;
    const stepBack = previousPage(state.query);
    prev.disabled = page <= 1 && !state.query.cursor;
    // A page opened from a shared link does not know the page before it: step back to the first.
    prev.textContent = state.query.cursor && !stepBack ? t("grid.first") : t("grid.previous");
    next.disabled = !state.next;
    pageLabel.textContent = t("grid.pageLabel", { page, count: state.items.length });
  }

  async function load() {
    const mine = ++state.sequence;
    const { query } = state;
    table.setBusy(true);
    let result;
    try {
      result = await api("/v1/customers", {
        query: {
          q: query.q,
          tag: query.tag,
          platform: query.platform,
          sort: query.sort,
          limit: query.limit,
          cursor: query.cursor || null,
        },
      });
    } catch (e) {
      if (mine !== state.sequence) return;
      const failure = /** @type {import("./api.js").ApiError} */ (e);
      table.setBusy(false);
      if (failure.status === 422 && query.cursor) {
        // A cursor from another order or an earlier server: start again from the first page.
        go(firstPage(query, {}), { replace: true });
        return;
      }
      state.items = [];
      state.next = null;
      renderRows();
      replace(
        message,
        failure.unavailable
          ? quietNotice(t("grid.unavailable"), load)
          : quietNotice(t("grid.failed", { reason: failure.message })),
      );
      prev.disabled = next.disabled = true;
      pageLabel.textContent = "";
      return;
    }
    if (mine !== state.sequence) return;
    table.setBusy(false);
    state.items = Array.isArray(result.data?.items) ? result.data.items : [];
    state.next = result.data?.next_cursor ?? null;
    const visible = new Set(state.items.map((item) => item.id));
    for (const id of state.selected) if (!visible.has(id)) state.selected.delete(id);
    renderRows();
    const filtered = query.q || query.tag || query.platform;
    replace(message, state.items.length ? null : h("p", { class: "empty" }, t(filtered ? "grid.noMatch" : "grid.none")));
    renderPager();
  }

  /** @param {import("./grid-query.js").GridQuery} query */
  function show(query) {
    state.query = query;
    state.selected.clear();
    rememberGrid(gridHref(query));
    filters.render(query);
    load();
  }

  cached("/v1/tags")
    .then((tags) => {
      if (state.disposed) return;
      state.tags = tags;
      filters.setTags(tags);
      renderRows();
      // A tag filter from an old link may name a tag that has since been deleted.
      if (state.query.tag && !tags.some((tag) => tag.id === state.query.tag)) {
        go(firstPage(state.query, { tag: "" }), { replace: true });
      }
    })
    .catch(() => filters.setTags(null));

  show(state.query);
  return {
    update: (changed) => show(readQuery(changed)),
    dispose() {
      filters.dispose();
      state.disposed = true;
      state.sequence++;
    },
  };
}
