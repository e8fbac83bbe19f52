// @ts-check
// What surrounds every view: the top bar (account, language switch), the page title, the toast
// and the live regions that read changes out.

import { session } from "./api.js";
import { byId, h, replace } from "./dom.js";
import { LANGUAGE_NAMES, currentLanguage, t } from "./i18n.js";

/**
 * A rendered view: `update` takes new URL parameters of the same route, `dispose` ends it.
 * @typedef {{ update(params: URLSearchParams): void, dispose(): void }} View
 */
/**
 * What views get from the shell.
 * @typedef {{
 *   announce: (text: string, options?: { error?: boolean }) => void,
 *   viewReady: (title: string, heading: HTMLElement | null) => void,
 * }} Shell
 */

const statusRegion = byId("status");
const alertRegion = byId("alert");
const account = byId("account");
let toastTimer = 0;
// The first view of a page load keeps the focus where the browser put it.
let moveFocus = false;

/**
 * Tell the user something: shown briefly as a toast, read out politely; errors assertively.
 * @param {string} text
 * @param {{ error?: boolean }} [options]
 */
export function announce(text, { error = false } = {}) {
  clearTimeout(toastTimer);
  statusRegion.textContent = text;
  statusRegion.classList.toggle("error", error);
  statusRegion.classList.add("visible");
  if (error) alertRegion.textContent = text;
  toastTimer = window.setTimeout(() => {
    statusRegion.classList.remove("visible");
    alertRegion.textContent = "";
  }, 4000);
}

/**
 * Set the page title and move focus to the view's heading (so screen readers announce it).
 * @param {string} title
 * @param {HTMLElement | null} heading
 */
export function viewReady(title, heading) {
  document.title = title ? t("title.page", { title }) : t("title.app");
  if (moveFocus && heading) heading.focus({ preventScroll: false });
  moveFocus = true;
}

/** The next view keeps the focus where it is (the language switch re-renders under the user). */
export function holdFocus() {
  moveFocus = false;
}

/**
 * The top bar and the page's fixed texts in the current language.
 * @param {{ onLanguage: (language: import("./i18n.js").Language) => void }} handlers
 */
export function renderShell({ onLanguage }) {
  byId("skip-link").textContent = t("shell.skip");
  byId("brand").textContent = t("shell.brand");
  account.setAttribute("aria-label", t("shell.account"));
  const user = session.user;
  // The other language, named in itself, with its own lang so it is read out correctly.
  const other = currentLanguage() === "ar" ? "en" : "ar";
  replace(
    account,
    user
      ? [
          h("span", { class: "who" }, t("shell.signedInAs"), " ", h("strong", { dir: "auto" }, user.name), ` (${user.workspace ?? ""})`),
          h("a", { href: "#/sign-out", class: "sign-out" }, t("shell.signOut")),
        ]
      : [],
    h(
      "button",
      { type: "button", class: "language-switch", lang: other, onclick: () => onLanguage(other) },
      LANGUAGE_NAMES[other],
    ),
  );
}
