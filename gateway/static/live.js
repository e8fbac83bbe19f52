// @ts-check
// Live updates of an open profile: the gateway's Server-Sent Events, whose event names come from
// GET /v1/reference/live-events. Each event refetches the parts of the page its section shows,
// except the two that can end this customer (CONTRACT.md §7), handled by name.

import { api, session } from "./api.js";
import { t } from "./i18n.js";

/** @typedef {"view" | "history" | "notes" | "conversations" | "escalations"} Part */

/** Which parts of the page show each section (service) of the profile view. @type {Record<string, Part[]>} */
const PARTS_OF_SECTION = {
  profile: ["view", "history"],
  notes: ["view", "notes"],
  timeline: ["view", "conversations", "escalations"],
  insights: ["view", "conversations"],
};
/** @type {Part[]} */
const EVERYTHING = ["view", "history", "notes", "conversations", "escalations"];
/** A duplicate was merged into this customer, or (`final`) this customer into another. */
const MERGED = "profile.customer.merged";
/** This customer is being erased (always `final`: the stream ends). */
const ERASED = "profile.erasure.requested";
const RECONNECT_MS = 5000;
const COALESCE_MS = 100;

/**
 * Follow a customer's events until `dispose`.
 * @param {string} base the customer's API path
 * @param {import("./reference.js").LiveEvent[] | null} events null when the list could not be loaded
 * @param {{
 *   setStatus: (state: "connecting" | "live" | "reconnecting" | "off", text: string) => void,
 *   refresh: (parts: Part[]) => void,
 *   mergedAway: (target: string) => void,
 *   erased: () => void,
 * }} handlers
 */
export function connectLive(base, events, { setStatus, refresh, mergedAway, erased }) {
  /** @type {EventSource | null} */
  let source = null;
  let reconnectTimer = 0;
  let refreshTimer = 0;
  let missedEvents = false;
  let disposed = false;
  /** @type {Set<Part>} */
  const pending = new Set();

  /** @param {Part[]} parts */
  function schedule(parts) {
    for (const part of parts) pending.add(part);
    clearTimeout(refreshTimer);
    // Coalesce a burst of events (one edit can announce several) into one refetch per part.
    refreshTimer = window.setTimeout(() => {
      const due = [...pending];
      pending.clear();
      refresh(due);
    }, COALESCE_MS);
  }

  function connect() {
    if (disposed || !session.token || !events) return;
    const stream = new EventSource(`${base}/events?access_token=${encodeURIComponent(session.token)}`);
    source = stream;
    stream.addEventListener("open", () => {
      setStatus("live", t("live.live"));
      // Whatever changed while disconnected was missed: fetch everything again.
      if (missedEvents) schedule(EVERYTHING);
      missedEvents = false;
    });
    stream.addEventListener("error", () => {
      missedEvents = true;
      setStatus("reconnecting", t("live.reconnecting"));
      if (stream.readyState === EventSource.CLOSED) {
        // The browser gave up (an error status): check the session (a 401 signs out), then retry.
        api("/v1/tags").catch(() => {});
        reconnectTimer = window.setTimeout(connect, RECONNECT_MS);
      }
    });
    for (const { type, section } of events) {
      stream.addEventListener(type, (event) => {
        if (type === ERASED) {
          erased();
        } else if (type === MERGED) {
          /** @type {{ final?: boolean, data: { customer_id: string } }} */
          const update = JSON.parse(event.data);
          // The target is the event's own customer; a final one went to the customer merged away.
          if (update.final) mergedAway(update.data.customer_id);
          else schedule(EVERYTHING);
        } else {
          schedule(PARTS_OF_SECTION[section] ?? ["view"]);
        }
      });
    }
  }

  if (events) connect();
  else setStatus("off", t("live.off"));

  return {
    dispose() {
      disposed = true;
      clearTimeout(reconnectTimer);
      clearTimeout(refreshTimer);
      source?.close();
    },
  };
}
