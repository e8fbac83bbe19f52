// @ts-check
// The grid's filter form: search, tag, platform, order and page size.

import { h, replace } from "./dom.js";
import { t } from "./i18n.js";
import { PAGE_SIZES, SORTS } from "./grid-query.js";
import { PLATFORMS, platformName } from "./widgets.js";

const SEARCH_DELAY_MS = 300;
/** @type {Record<import("./grid-query.js").Sort, import("./i18n.js").MessageKey>} */
const SORT_LABELS = {
  "-created_at": "sort.newest",
  created_at: "sort.oldest",
  name: "sort.nameAsc",
  "-name": "sort.nameDesc",
  "-last_contact_at": "sort.contactRecent",
  last_contact_at: "sort.contactOldest",
};

/**
 * @typedef {(changes: Partial<import("./grid-query.js").GridQuery>, options?: { typing?: boolean }) => void} OnChange
 */

/**
 * The filter form. `render` shows a query (from the URL); `setTags` fills the tag list.
 * @param {OnChange} onChange
 */
export function createFilters(onChange) {
  let searchTimer = 0;
  // The search the URL last got from this box, and whether the user has typed since.
  let committed = "";
  let typing = false;
  const search = h("input", { id: "grid-q", type: "search", autocomplete: "off", placeholder: t("grid.searchHint") });
  const tag = h("select", { id: "grid-tag" });
  const platform = h(
    "select",
    { id: "grid-platform" },
    h("option", { value: "" }, t("grid.allPlatforms")),
    PLATFORMS.map((p) => h("option", { value: p }, platformName(p))),
  );
  const sort = h("select", { id: "grid-sort" }, SORTS.map((s) => h("option", { value: s }, t(SORT_LABELS[s]))));
  const size = h("select", { id: "grid-size" }, PAGE_SIZES.map((n) => h("option", { value: n }, String(n))));
  /** @type {import("./widgets.js").Tag[] | null} */
  let tags = null;
  let tagValue = "";

  /**
   * @param {string} id
   * @param {string} label
   * @param {HTMLElement} control
   */
  const field = (id, label, control) => h("div", { class: "field" }, h("label", { for: id }, label), control);

  const commitSearch = () => {
    clearTimeout(searchTimer);
    typing = false;
    committed = search.value.trim();
    onChange({ q: committed }, { typing: true });
  };
  search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    typing = true;
    searchTimer = window.setTimeout(commitSearch, SEARCH_DELAY_MS);
  });
  tag.addEventListener("change", () => onChange({ tag: tag.value }));
  platform.addEventListener("change", () => onChange({ platform: platform.value }));
  sort.addEventListener("change", () => onChange({ sort: /** @type {import("./grid-query.js").Sort} */ (sort.value) }));
  size.addEventListener("change", () => onChange({ limit: Number(size.value) }));

  function renderTags() {
    replace(
      tag,
      h("option", { value: "" }, tags ? t("grid.allTags") : t("grid.tagsUnavailable")),
      (tags ?? []).map((item) => h("option", { value: item.id }, item.name)),
    );
    tag.disabled = tags === null;
    tag.value = tagValue;
  }

  const element = h(
    "form",
    {
      class: "filters card",
      role: "search",
      "aria-label": t("grid.filtersLabel"),
      onsubmit: (event) => {
        event.preventDefault();
        commitSearch();
      },
    },
    field("grid-q", t("grid.search"), search),
    field("grid-tag", t("grid.tag"), tag),
    field("grid-platform", t("grid.platform"), platform),
    field("grid-sort", t("grid.sortBy"), sort),
    field("grid-size", t("grid.rowsPerPage"), size),
  );
  renderTags();

  return {
    element,
    /**
     * Show a query. The search box keeps what the user typed after the search the URL has; a
     * search from elsewhere (back, forward, a link) replaces it and drops a pending one.
     * @param {import("./grid-query.js").GridQuery} query
     */
    render(query) {
      if (query.q !== committed || !typing) {
        clearTimeout(searchTimer);
        typing = false;
        committed = query.q;
        search.value = query.q;
      }
      tagValue = query.tag;
      tag.value = query.tag;
      platform.value = query.platform;
      sort.value = query.sort;
      size.value = String(query.limit);
    },
    /** @param {import("./widgets.js").Tag[] | null} list the catalog, null when it could not be loaded */
    setTags(list) {
      tags = list;
      renderTags();
    },
    dispose() {
      clearTimeout(searchTimer);
    },
  };
}
