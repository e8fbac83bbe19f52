// @ts-check
// "Erase" (admins): the admin types the customer's name to confirm, then the dialog follows the
// erasure until every service has deleted its part (CONTRACT.md §7).

import { api } from "./api.js";
import { h, replace } from "./dom.js";
import { fmtDateTime } from "./format.js";
import { lastGridHref } from "./grid-query.js";
import { t } from "./i18n.js";
import { navigate } from "./router.js";
import { modal } from "./widgets.js";

const POLL_MS = 1000;

/**
 * Open the dialog that erases the customer shown.
 * @param {import("./profile.js").ProfileContext} ctx
 * @param {(asked: boolean) => void} onAsked told when the erasure is asked for, and again if that failed
 * @returns {import("./widgets.js").Modal}
 */
export function openErase({ base, state }, onAsked) {
  const name = state.view?.header?.name ?? "";
  const box = modal(t("erase.title", { name }));
  const input = h("input", { id: "erase-name", type: "text", autocomplete: "off", spellcheck: "false", dir: "auto" });
  const error = h("p", { class: "field-error", role: "alert" });
  const confirm = h("button", { type: "button", class: "danger-button", disabled: true }, t("erase.confirm"));
  input.addEventListener("input", () => {
    confirm.disabled = input.value !== name;
  });

  async function erase() {
    // Before the request: the live stream may announce the erasure before the request answers.
    onAsked(true);
    confirm.disabled = true;
    input.disabled = true;
    confirm.textContent = t("erase.erasing");
    error.textContent = "";
    try {
      const { data } = await api(base, { method: "DELETE" });
      follow(box, String(data.erasure_id));
    } catch (e) {
      const failure = /** @type {import("./api.js").ApiError} */ (e);
      onAsked(false);
      input.disabled = false;
      confirm.disabled = input.value !== name;
      confirm.textContent = t("erase.confirm");
      if (failure.status !== 401) error.textContent = t("erase.failed", { reason: failure.message });
    }
  }

  confirm.addEventListener("click", erase);
  replace(
    box.body,
    h("p", { class: "warning" }, t("erase.warning")),
    h("p", {}, t("erase.merged")),
    h("label", { for: "erase-name" }, t("erase.typeName", { name })),
    input,
    error,
    h("div", { class: "actions" }, h("button", { type: "button", onclick: () => box.close() }, t("action.cancel")), confirm),
  );
  input.focus();
  return box;
}

/**
 * Show an erasure's progress in its dialog until every service has done its part.
 * @param {import("./widgets.js").Modal} box
 * @param {string} erasureId
 */
function follow(box, erasureId) {
  const progress = h("p", { class: "erasure-progress", role: "status", "data-status": "pending" }, t("erase.pending"));
  const back = h("button", { type: "button", class: "primary", onclick: () => box.close() }, t("profile.backToAll"));
  replace(box.body, progress, h("div", { class: "actions" }, back));
  // However the dialog closes (the button, Escape), the customer no longer exists: leave its page,
  // in place of its history entry, which would only answer "not found" now.
  box.element.addEventListener("close", () => navigate(lastGridHref(), { replace: true }));

  async function poll() {
    if (!box.element.isConnected) return;
    try {
      const { data } = await api(`/v1/erasures/${encodeURIComponent(erasureId)}`);
      if (data.status === "done") {
        progress.dataset.status = "done";
        progress.textContent = t("erase.done", { when: fmtDateTime(data.completed_at) });
        return;
      }
      progress.textContent = t("erase.pending");
    } catch (e) {
      const failure = /** @type {import("./api.js").ApiError} */ (e);
      if (failure.status === 401) return;
      progress.textContent = t("erase.progressFailed", { reason: failure.message });
    }
    window.setTimeout(poll, POLL_MS);
  }
  poll();
  back.focus();
}
