// @ts-check
// The session (a bearer token kept for this browser tab) and calls to the gateway's /v1 API.

import { t } from "./i18n.js";

const TOKEN_KEY = "cp.token";

/** @typedef {{ id: string, name: string, workspace?: string, role?: string, exp?: number }} User */
/** @typedef {{ field?: string, message?: string }} FieldError */
/** @typedef {{ detail?: string, title?: string, errors?: FieldError[], [key: string]: unknown }} Problem */

/**
 * The claims of a JWT, without verifying it (the gateway does that); null if unreadable.
 * @param {string} token
 * @returns {Record<string, unknown> | null}
 */
export function readClaims(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = new TextDecoder().decode(Uint8Array.from(atob(payload), (c) => c.charCodeAt(0)));
    const claims = JSON.parse(json);
    return claims && typeof claims === "object" && !Array.isArray(claims) ? claims : null;
  } catch {
    return null;
  }
}

export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  /** The signed-in user's claims, or null when signed out or the token has expired. @returns {User | null} */
  get user() {
    const token = this.token;
    const claims = token ? readClaims(token) : null;
    if (!claims || (typeof claims.exp === "number" && claims.exp * 1000 <= Date.now())) return null;
    const text = (/** @type {unknown} */ value) => (typeof value === "string" ? value : undefined);
    return {
      id: String(claims.sub ?? ""),
      name: String(claims.name ?? claims.sub ?? ""),
      workspace: text(claims.workspace),
      role: text(claims.role),
    };
  },
  /** @param {string} token */
  signIn(token) {
    sessionStorage.setItem(TOKEN_KEY, token);
  },
  signOut() {
    sessionStorage.removeItem(TOKEN_KEY);
  },
};

/** A failed call: HTTP status and the problem+json body (detail, errors[{field, message}]). */
export class ApiError extends Error {
  /**
   * @param {number} status 0 when the server could not be reached
   * @param {Problem | null} problem
   */
  constructor(status, problem) {
    super(problem?.detail || problem?.title || (status ? t("error.http", { status }) : t("error.unreachable")));
    this.status = status;
    /** @type {Problem} */
    this.problem = problem ?? {};
  }

  /**
   * The server's message for `field` (exact, or a nested path such as tag_ids.0), if any.
   * @param {string} field
   * @returns {string | null}
   */
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

/** @type {(error: ApiError) => void} */
let onUnauthorized = () => {};
/**
 * What to do when the gateway answers 401 (the app returns to sign-in).
 * @param {(error: ApiError) => void} handler
 */
export function setUnauthorizedHandler(handler) {
  onUnauthorized = handler;
}

/**
 * @typedef {{
 *   method?: string,
 *   body?: unknown,
 *   headers?: Record<string, string>,
 *   query?: Record<string, string | number | null | undefined>,
 *   token?: string,
 * }} CallOptions
 */

/**
 * Call the API: resolves to {data, headers, status}; rejects with ApiError.
 * `token` overrides the session's (sign-in checks a token before keeping it).
 * @param {string} path
 * @param {CallOptions} [options]
 * @returns {Promise<{ data: any, headers: Headers, status: number }>}
 */
export async function api(path, { method = "GET", body, headers = {}, query, token } = {}) {
  const url = new URL(path, location.origin);
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== null && value !== undefined && value !== "") url.searchParams.set(key, String(value));
  }
  const bearer = token ?? session.token;
  /** @type {Record<string, string>} */
  const sent = { Accept: "application/json", ...headers };
  if (bearer) sent.Authorization = `Bearer ${bearer}`;
  /** @type {RequestInit} */
  const init = { method, headers: sent };
  if (body !== undefined) {
    sent["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch {
    throw new ApiError(0, null);
  }
  const text = await response.text();
  let data;
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
/** @type {Map<string, Promise<any[]>>} */
const cache = new Map();

/**
 * The `items` of a list the page keeps for the session.
 * @param {string} path
 * @param {{ refresh?: boolean }} [options]
 * @returns {Promise<any[]>}
 */
export function cached(path, { refresh = false } = {}) {
  let pending = cache.get(path);
  if (refresh || !pending) {
    pending = api(path).then((r) => (Array.isArray(r.data?.items) ? r.data.items : []));
    pending.catch(() => cache.delete(path));
    cache.set(path, pending);
  }
  return pending;
}
export const clearCache = () => cache.clear();
