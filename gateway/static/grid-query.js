// @ts-check
// The grid's state as it lives in the URL (#/customers?q=&tag=&platform=&sort=&limit=&cursor=&page=),
// and the trail of cursors that lets "Previous page" step back through keyset pages.

import { hrefFor } from "./router.js";

/**
 * @typedef {{
 *   q: string, tag: string, platform: string, sort: Sort, limit: number, cursor: string, page: number,
 * }} GridQuery
 */
/** @typedef {"-created_at" | "created_at" | "name" | "-name" | "-last_contact_at" | "last_contact_at"} Sort */
/** @typedef {"name" | "created_at" | "last_contact_at"} SortKey */

/** The API's orders (GET /v1/customers?sort=), in the order the sort menu lists them. */
export const SORTS = /** @type {const} */ ([
  "-created_at",
  "created_at",
  "name",
  "-name",
  "-last_contact_at",
  "last_contact_at",
]);
export const DEFAULT_SORT = "-created_at";
export const PAGE_SIZES = [10, 25, 50, 100];
const DEFAULT_LIMIT = 25;
const TRAIL_KEY = "cp.grid.trail";
const LAST_KEY = "cp.grid.last";
const TRAIL_MAX = 200;

/**
 * @param {string | null} value
 * @returns {value is Sort}
 */
const isSort = (value) => SORTS.some((s) => s === value);

/**
 * The grid's state from URL parameters; anything unreadable falls back to its default.
 * @param {URLSearchParams} params
 * @returns {GridQuery}
 */
export function readQuery(params) {
  const sort = params.get("sort");
  const limit = Number(params.get("limit"));
  const page = Number(params.get("page"));
  const cursor = params.get("cursor") ?? "";
  return {
    q: (params.get("q") ?? "").trim(),
    tag: params.get("tag") ?? "",
    platform: params.get("platform") ?? "",
    sort: isSort(sort) ? sort : DEFAULT_SORT,
    limit: PAGE_SIZES.includes(limit) ? limit : DEFAULT_LIMIT,
    cursor,
    page: cursor && Number.isInteger(page) && page > 1 ? page : 1,
  };
}

/**
 * The URL of a grid state; defaults are left out so that links stay short.
 * @param {GridQuery} query
 */
export function gridHref(query) {
  return hrefFor("/customers", {
    q: query.q,
    tag: query.tag,
    platform: query.platform,
    sort: query.sort === DEFAULT_SORT ? null : query.sort,
    limit: query.limit === DEFAULT_LIMIT ? null : query.limit,
    cursor: query.cursor || null,
    page: query.cursor && query.page > 1 ? query.page : null,
  });
}

/**
 * The first page of `query` with `changes` applied (a new filter or order starts from the top).
 * @param {GridQuery} query
 * @param {Partial<GridQuery>} changes
 * @returns {GridQuery}
 */
export const firstPage = (query, changes) => ({ ...query, ...changes, cursor: "", page: 1 });

/**
 * The column a sort orders by and whether it is ascending.
 * @param {Sort} sort
 * @returns {{ key: SortKey, ascending: boolean }}
 */
export function sortParts(sort) {
  const ascending = !sort.startsWith("-");
  return { key: /** @type {SortKey} */ (ascending ? sort : sort.slice(1)), ascending };
}

/**
 * The order a column header switches to: the other direction if it is the current column, else
 * the column's natural one (names A–Z, times newest first).
 * @param {Sort} current
 * @param {SortKey} key
 * @returns {Sort}
 */
export function toggledSort(current, key) {
  const now = sortParts(current);
  const ascending = now.key === key ? !now.ascending : key === "name";
  return /** @type {Sort} */ (ascending ? key : `-${key}`);
}

/** @returns {Record<string, string>} */
function readTrail() {
  try {
    const trail = JSON.parse(sessionStorage.getItem(TRAIL_KEY) ?? "{}");
    return trail && typeof trail === "object" ? trail : {};
  } catch {
    return {};
  }
}

/** @param {GridQuery} query @param {string} cursor */
const trailKey = (query, cursor) => JSON.stringify([query.q, query.tag, query.platform, query.sort, query.limit, cursor]);

/**
 * Remember that the page after `query` starts at `next`, so that page can step back to it.
 * @param {GridQuery} query
 * @param {string} next
 */
export function rememberNext(query, next) {
  const trail = readTrail();
  trail[trailKey(query, next)] = query.cursor;
  const keys = Object.keys(trail);
  for (const old of keys.slice(0, Math.max(0, keys.length - TRAIL_MAX))) delete trail[old];
  sessionStorage.setItem(TRAIL_KEY, JSON.stringify(trail));
}

/**
 * The page before this one, if known (a link shared from page 5 knows only the first page).
 * @param {GridQuery} query
 * @returns {GridQuery | null}
 */
export function previousPage(query) {
  if (!query.cursor) return null;
  const before = readTrail()[trailKey(query, query.cursor)];
  if (before === undefined) return null;
  return { ...query, cursor: before, page: before ? Math.max(2, query.page - 1) : 1 };
}

/** @param {string} href the grid URL to come back to from a profile */
export const rememberGrid = (href) => sessionStorage.setItem(LAST_KEY, href);
/** Where "All customers" leads: the grid as the user left it. */
export const lastGridHref = () => sessionStorage.getItem(LAST_KEY) ?? "#/customers";
