// @ts-check
// Sign-in: a token is checked against the gateway before the tab keeps it.

import { api, clearCache, readClaims, session } from "./api.js";
import { h, replace } from "./dom.js";
import { t } from "./i18n.js";

const RETURN_KEY = "cp.return";

/** Remember where the user was going, to return there after signing in. */
export function rememberReturn() {
  if (!location.hash.startsWith("#/sign-in")) sessionStorage.setItem(RETURN_KEY, location.hash);
}

export function forgetReturn() {
  sessionStorage.removeItem(RETURN_KEY);
}

/**
 * Render the sign-in form into `main`.
 * @param {HTMLElement} main
 * @param {string} message why the user is asked to sign in (empty on a first visit)
 * @param {import("./shell.js").Shell} shell
 * @param {() => void} onSignedIn
 */
export function renderSignIn(main, message, { viewReady }, onSignedIn) {
  const field = h("textarea", {
    id: "token",
    name: "token",
    rows: 4,
    required: true,
    spellcheck: "false",
    autocomplete: "off",
    dir: "ltr",
    "aria-describedby": "token-help token-error",
  });
  const error = h("p", { id: "token-error", class: "field-error" });
  const button = h("button", { type: "submit", class: "primary" }, t("signIn.submit"));
  const heading = h("h1", { tabindex: "-1" }, t("signIn.title"));

  /** @param {string} text */
  function showError(text) {
    error.textContent = text;
    field.setAttribute("aria-invalid", "true");
    field.focus();
  }

  /** @param {SubmitEvent} event */
  async function submit(event) {
    event.preventDefault();
    const token = field.value.trim();
    error.textContent = "";
    field.removeAttribute("aria-invalid");
    if (!readClaims(token)) {
      showError(t("signIn.notAToken"));
      return;
    }
    button.disabled = true;
    try {
      // Ask the gateway: only a token it accepts is kept.
      await api("/v1/tags", { token });
    } catch (e) {
      const failure = /** @type {import("./api.js").ApiError} */ (e);
      button.disabled = false;
      const refused = failure.status === 401 || failure.status === 403;
      showError(t(refused ? "signIn.refused" : "signIn.unchecked", { reason: failure.message }));
      return;
    }
    session.signIn(token);
    clearCache();
    const back = sessionStorage.getItem(RETURN_KEY);
    forgetReturn();
    location.hash = back && back.startsWith("#/customers") ? back : "#/customers";
    onSignedIn();
  }

  replace(
    main,
    h(
      "section",
      { class: "card signin" },
      heading,
      message ? h("p", { class: "notice", role: "note" }, message) : null,
      h(
        "form",
        { onsubmit: submit, novalidate: true },
        h("label", { for: "token" }, t("signIn.label")),
        h(
          "p",
          { id: "token-help", class: "help" },
          t("signIn.helpBefore"),
          h("code", {}, "make run"),
          t("signIn.helpMiddle"),
          h("code", {}, "DEV_TOKEN"),
          t("signIn.helpIn"),
          h("code", {}, ".run/env"),
          t("signIn.helpAfter"),
        ),
        field,
        error,
        h("div", { class: "actions" }, button),
      ),
    ),
  );
  viewReady(t("signIn.title"), heading);
  field.focus();
}
