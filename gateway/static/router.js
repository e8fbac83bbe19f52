// @ts-check
// Routes live in the URL's hash (#/customers?sort=name&page=2, #/customers/<id>?tab=notes), so the
// gateway serves one index.html at "/" and every view can be bookmarked, shared and reloaded.
// A view changes its own state by navigating; back and forward replay those URLs.

/** @typedef {{ path: string, params: URLSearchParams }} Route */

/** The route the URL names now. @returns {Route} */
export function currentRoute() {
  const hash = location.hash || "#/customers";
  const at = hash.indexOf("?");
  const path = at < 0 ? hash.slice(1) : hash.slice(1, at);
  return { path, params: new URLSearchParams(at < 0 ? "" : hash.slice(at + 1)) };
}

/**
 * The hash link of a route; parameters that are empty are left out.
 * @param {string} path
 * @param {Record<string, string | number | null | undefined>} [params]
 */
export function hrefFor(path, params = {}) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") query.set(key, String(value));
  }
  const text = query.toString();
  return `#${path}${text ? `?${text}` : ""}`;
}

/** @type {() => void} */
let onChange = () => {};
let shown = "";

/**
 * Call `listener` whenever the URL names another route (links, back, forward, navigate()).
 * @param {() => void} listener
 */
export function onRouteChange(listener) {
  onChange = listener;
  const changed = () => {
    // Back and forward over hash URLs fire both popstate and hashchange: react once.
    if (location.hash === shown) return;
    shown = location.hash;
    listener();
  };
  window.addEventListener("popstate", changed);
  window.addEventListener("hashchange", changed);
}

/** Mark the current URL as shown (the app calls this when it renders a route). */
export function markShown() {
  shown = location.hash;
}

/**
 * Go to `href` as a new history entry (or in place of the current one), then render it.
 * @param {string} href a hash link from hrefFor
 * @param {{ replace?: boolean, state?: unknown }} [options]
 */
export function navigate(href, { replace = false, state = null } = {}) {
  if (href === location.hash && !replace) return;
  if (replace) history.replaceState(state, "", href);
  else history.pushState(state, "", href);
  shown = location.hash;
  onChange();
}
