// @ts-check
// Merge, export and erase on the profile page (CONTRACT.md §7): "Merge with…" for everyone,
// "Export" and "Erase" for admins; and following a customer that was merged into another.

import { api, session } from "./api.js";
import { h } from "./dom.js";
import { openErase } from "./erase-dialog.js";
import { t } from "./i18n.js";
import { openMerge } from "./merge-dialog.js";
import { currentRoute, hrefFor, navigate } from "./router.js";

/**
 * The header's customer actions.
 * @param {import("./profile.js").ProfileContext} ctx
 */
export function createIdentityActions(ctx) {
  // The gateway refuses export and erasure to anyone else: offer them to admins only.
  const admin = session.user?.role === "admin";
  /** @type {import("./widgets.js").Modal | null} */
  let dialog = null;
  let erasing = false;

  const element = h(
    "div",
    { class: "identity-actions", role: "group", "aria-label": t("identity.actions") },
    h("button", { type: "button", onclick: () => (dialog = openMerge(ctx)) }, t("identity.merge")),
    admin ? h("button", { type: "button", onclick: () => download(ctx) }, t("identity.export")) : null,
    admin
      ? h(
          "button",
          { type: "button", class: "danger-button", onclick: () => (dialog = openErase(ctx, (asked) => (erasing = asked))) },
          t("identity.erase"),
        )
      : null,
  );

  return {
    element,
    /** Whether this page's erase dialog asked for its customer's erasure (and so shows its progress). */
    erasing: () => erasing,
    /** The page goes: a dialog about its customer goes with it, except an erasure's progress. */
    dispose() {
      if (!erasing) dialog?.close();
    },
  };
}

/**
 * Download everything the system holds about the customer as one JSON file.
 * @param {import("./profile.js").ProfileContext} ctx
 */
async function download({ customerId, base, announce }) {
  announce(t("export.preparing"));
  try {
    const { data } = await api(`${base}/export`);
    const blob = new Blob([JSON.stringify(data, null, 2)], { type: "application/json" });
    const link = h("a", { href: URL.createObjectURL(blob), download: `customer-${customerId}.json`, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    // The download has started from the URL once the click is handled; the next task may free it.
    window.setTimeout(() => URL.revokeObjectURL(link.href), 0);
    announce(t("export.done"));
  } catch (e) {
    const failure = /** @type {import("./api.js").ApiError} */ (e);
    if (failure.status !== 401) announce(t("export.failed", { reason: failure.message }), { error: true });
  }
}

/**
 * Show the customer `target` instead of one that was merged into it, and say so. The URL is
 * replaced, so that Back does not return to an id that no longer exists; the open tab stays.
 * @param {string} target
 * @param {import("./shell.js").Shell["announce"]} announce
 */
export function followMerge(target, announce) {
  announce(t("merge.mergedAway"));
  const tab = currentRoute().params.get("tab");
  navigate(hrefFor(`/customers/${encodeURIComponent(target)}`, { tab }), { replace: true });
}
