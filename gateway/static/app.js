// @ts-check
// The dashboard's entry point: language, the top bar, and the router that shows the grid
// (#/customers?…), a profile (#/customers/<id>?tab=…) or the sign-in form (#/sign-in).

import { session, setUnauthorizedHandler } from "./api.js";
import { byId, h, replace } from "./dom.js";
import { mountGrid } from "./grid.js";
import { applyLanguage, setLanguage, t } from "./i18n.js";
import { mountProfile } from "./profile.js";
import { currentRoute, markShown, onRouteChange } from "./router.js";
import { announce, holdFocus, renderShell, viewReady } from "./shell.js";
import { forgetReturn, rememberReturn, renderSignIn } from "./signin.js";

const main = byId("main");
/** @type {import("./i18n.js").MessageKey | null} why the sign-in form is shown */
let signInReason = null;
/** @type {{ key: string, view: import("./shell.js").View } | null} */
let active = null;
const shell = { announce, viewReady };

/** @param {import("./i18n.js").MessageKey | null} reason */
function goToSignIn(reason) {
  rememberReturn();
  signInReason = reason;
  session.signOut();
  location.hash = "#/sign-in";
}

// Any 401 from the API ends the session and returns to sign-in, then back to where the user was.
setUnauthorizedHandler(() => goToSignIn("signIn.ended"));

function dispose() {
  active?.view.dispose();
  active = null;
}

function renderNotFound() {
  const heading = h("h1", { tabindex: "-1" }, t("notFound.title"));
  replace(
    main,
    h("section", { class: "card" }, heading, h("p", {}, h("a", { href: "#/customers" }, t("notFound.link")))),
  );
  viewReady(t("notFound.title"), heading);
}

/** Show what the URL names: the same view takes new parameters in place, another replaces it. */
function route() {
  const hash = location.hash || "#/customers";
  // In-page anchors (the skip link) are not routes.
  if (!hash.startsWith("#/")) return;
  markShown();
  const { path, params } = currentRoute();
  if (path === "/sign-out") {
    dispose();
    session.signOut();
    signInReason = "signIn.signedOut";
    forgetReturn();
    location.replace("#/sign-in");
    return;
  }
  renderShell({ onLanguage: switchLanguage });
  if (path === "/sign-in") {
    dispose();
    renderSignIn(main, signInReason ? t(signInReason) : "", shell, () => (signInReason = null));
    return;
  }
  if (!session.user) {
    dispose();
    goToSignIn(session.token ? "signIn.expired" : null);
    return;
  }
  const profile = path.match(/^\/customers\/([^/]+)$/);
  const key = profile ? `profile:${profile[1]}` : path === "/customers" || path === "/" ? "grid" : "";
  if (active && active.key === key) {
    active.view.update(params);
    return;
  }
  dispose();
  if (profile) {
    active = { key, view: mountProfile(main, decodeURIComponent(profile[1]), params, shell) };
  } else if (key === "grid") {
    active = { key, view: mountGrid(main, params, shell) };
  } else {
    renderNotFound();
  }
}

/**
 * Show the page in another language: the view renders again from the URL, focus stays on the switch.
 * @param {import("./i18n.js").Language} language
 */
function switchLanguage(language) {
  setLanguage(language);
  holdFocus();
  dispose();
  route();
  /** @type {HTMLElement | null} */ (document.querySelector(".language-switch"))?.focus();
  announce(t("shell.languageChanged"));
}

byId("skip-link").addEventListener("click", (event) => {
  event.preventDefault();
  main.focus();
});
applyLanguage();
onRouteChange(route);
route();
