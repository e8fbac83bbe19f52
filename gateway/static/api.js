// The session (a bearer token kept for this browser tab) and calls to the gateway's /v1 API.

const TOKEN_KEY = "cp.token";

/** The claims of a JWT, without verifying it (the gateway does that); null if unreadable. */
export function readClaims(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = new TextDecoder().decode(Uint8Array.from(atob(payload), (c) => c.charCodeAt(0)));
    const claims = JSON.parse(json);
    return claims && typeof claims === "object" ? claims : null;
  } catch {
    return null;
  }
}

export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  /** The signed-in user's claims, or null when signed out or the token has expired. */
  get user() {
    const token = this.token;
    const claims = token ? readClaims(token) : null;
    if (!claims || (typeof claims.exp === "number" && claims.exp * 1000 <= Date.now())) return null;
    return { id: String(claims.sub ?? ""), name: String(claims.name ?? claims.sub ?? ""), ...claims };
  },
  signIn(token) {
    sessionStorage.setItem(TOKEN_KEY, token);
  },
  signOut() {
    sessionStorage.removeItem(TOKEN_KEY);
  },
};

/** A failed call: HTTP status and the problem+json body (detail, errors[{field, message}]). */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || (status ? `HTTP ${status}` : "The server could not be reached"));
    this.status = status;
    this.problem = problem ?? {};
  }

  /** The server's message for `field` (exact, or a nested path such as tag_ids.0), if any. */
  fieldMessage(field) {
    const errors = Array.isArray(this.problem.errors) ? this.problem.errors : [];
    const hit = errors.find((e) => e.field === field || String(e.field).startsWith(`${field}.`));
    return hit ? String(hit.message) : null;
  }

  /** Whether the section's service is down (so the page shows a quiet notice). */
  get unavailable() {
    return this.status === 0 || this.status >= 500;
  }
}

let onUnauthorized = () => {};
/** What to do when the gateway answers 401 (the app returns to sign-in). */
export function setUnauthorizedHandler(handler) {
  onUnauthorized = handler;
}

/**
 * Call the API: resolves to {data, headers, status}; rejects with ApiError.
 * `token` overrides the session's (sign-in checks a token before keeping it).
 */
export async function api(path, { method = "GET", body, headers = {}, query, token } = {}) {
  const url = new URL(path, location.origin);
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== null && value !== undefined && value !== "") url.searchParams.set(key, value);
  }
  const bearer = token ?? session.token;
  const init = { method, headers: { Accept: "application/json", ...headers } };
  if (bearer) init.headers.Authorization = `Bearer ${bearer}`;
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch {
    throw new ApiError(0, null);
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = new ApiError(response.status, data);
    if (response.status === 401 && token === undefined) onUnauthorized(error);
    throw error;
  }
  return { data, headers: response.headers, status: response.status };
}

// Reference lists and the tag catalog change rarely: fetched once per page load (tags on demand).
const cache = new Map();
export function cached(path, { refresh = false } = {}) {
  if (refresh || !cache.has(path)) {
    const pending = api(path).then((r) => r.data?.items ?? []);
    pending.catch(() => cache.delete(path));
    cache.set(path, pending);
  }
  return cache.get(path);
}
export const clearCache = () => cache.clear();
