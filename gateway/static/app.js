// The dashboard's entry point: sign-in for the session, the account bar and the hash router
// (#/customers, #/customers/<id>, #/sign-in), so the gateway serves one index.html at "/".

import { api, readClaims, session, setUnauthorizedHandler, clearCache } from "./api.js";
import { h, replace } from "./dom.js";
import { renderGrid } from "./grid.js";
import { renderProfile } from "./profile.js";

const main = document.getElementById("main");
const account = document.getElementById("account");
const statusRegion = document.getElementById("status");
const alertRegion = document.getElementById("alert");
const RETURN_KEY = "cp.return";

let cleanup = null;
let signInMessage = "";
let firstRender = true;
let toastTimer = 0;

/** Tell the user something: shown briefly as a toast, read out politely; errors assertively. */
export function announce(text, { error = false } = {}) {
  clearTimeout(toastTimer);
  statusRegion.textContent = text;
  statusRegion.classList.toggle("error", error);
  statusRegion.classList.add("visible");
  if (error) alertRegion.textContent = text;
  toastTimer = setTimeout(() => {
    statusRegion.classList.remove("visible");
    alertRegion.textContent = "";
  }, 4000);
}

/** Set the page title and move focus to the view's heading (so screen readers announce it). */
export function viewReady(title, heading) {
  document.title = title ? `${title} · Customer profiles` : "Customer profiles";
  if (!firstRender && heading) heading.focus({ preventScroll: false });
  firstRender = false;
}

function goToSignIn(message) {
  if (!location.hash.startsWith("#/sign-in")) sessionStorage.setItem(RETURN_KEY, location.hash);
  signInMessage = message;
  session.signOut();
  location.hash = "#/sign-in";
}

// Any 401 from the API ends the session and returns to sign-in, then back to where the user was.
setUnauthorizedHandler(() => goToSignIn("Your session has ended or the token is no longer valid. Sign in again."));

function renderAccount() {
  const user = session.user;
  replace(
    account,
    user
      ? [
          h("span", { class: "who" }, "Signed in as ", h("strong", {}, user.name), ` (${user.workspace ?? ""})`),
          h("a", { href: "#/sign-out", class: "sign-out" }, "Sign out"),
        ]
      : [],
  );
}

function renderSignIn() {
  const field = h("textarea", {
    id: "token",
    name: "token",
    rows: 4,
    required: true,
    spellcheck: "false",
    autocomplete: "off",
    "aria-describedby": "token-help token-error",
  });
  const error = h("p", { id: "token-error", class: "field-error" });
  const button = h("button", { type: "submit", class: "primary" }, "Sign in");
  const heading = h("h1", { tabindex: "-1" }, "Sign in");

  async function submit(event) {
    event.preventDefault();
    const token = field.value.trim();
    error.textContent = "";
    field.removeAttribute("aria-invalid");
    const claims = readClaims(token);
    if (!claims) {
      showError("This does not look like an access token (a JWT with three dot-separated parts).");
      return;
    }
    button.disabled = true;
    try {
      // Ask the gateway: only a token it accepts is kept.
      await api("/v1/tags", { token });
    } catch (e) {
      button.disabled = false;
      showError(
        e.status === 401 || e.status === 403
          ? `The gateway did not accept this token: ${e.message}`
          : `Could not check the token: ${e.message}`,
      );
      return;
    }
    session.signIn(token);
    clearCache();
    signInMessage = "";
    const back = sessionStorage.getItem(RETURN_KEY);
    sessionStorage.removeItem(RETURN_KEY);
    location.hash = back && back.startsWith("#/customers") ? back : "#/customers";
  }

  function showError(text) {
    error.textContent = text;
    field.setAttribute("aria-invalid", "true");
    field.focus();
  }

  replace(
    main,
    h(
      "section",
      { class: "card signin" },
      heading,
      signInMessage ? h("p", { class: "notice", role: "note" }, signInMessage) : null,
      h(
        "form",
        { onsubmit: submit, novalidate: true },
        h("label", { for: "token" }, "Access token"),
        h(
          "p",
          { id: "token-help", class: "help" },
          "Paste a token for your workspace. For local development, ",
          h("code", {}, "make run"),
          " writes one as ",
          h("code", {}, "DEV_TOKEN"),
          " in ",
          h("code", {}, ".run/env"),
          ".",
        ),
        field,
        error,
        h("div", { class: "actions" }, button),
      ),
    ),
  );
  viewReady("Sign in", heading);
  field.focus();
}

function renderNotFound() {
  const heading = h("h1", { tabindex: "-1" }, "Page not found");
  replace(
    main,
    h("section", { class: "card" }, heading, h("p", {}, h("a", { href: "#/customers" }, "Go to the customers"))),
  );
  viewReady("Not found", heading);
}

function route() {
  const hash = location.hash || "#/customers";
  // In-page anchors (the skip link) are not routes.
  if (!hash.startsWith("#/")) return;
  if (cleanup) {
    cleanup();
    cleanup = null;
  }
  const [path] = hash.slice(1).split("?");
  if (path === "/sign-out") {
    session.signOut();
    signInMessage = "You have signed out.";
    sessionStorage.removeItem(RETURN_KEY);
    location.replace("#/sign-in");
    return;
  }
  renderAccount();
  if (path === "/sign-in") {
    renderSignIn();
    return;
  }
  if (!session.user) {
    goToSignIn(session.token ? "Your session has expired. Sign in again." : "");
    return;
  }
  const profile = path.match(/^\/customers\/([^/]+)$/);
  if (profile) {
    cleanup = renderProfile(main, decodeURIComponent(profile[1]), { announce, viewReady });
  } else if (path === "/customers" || path === "/") {
    cleanup = renderGrid(main, { announce, viewReady });
  } else {
    renderNotFound();
  }
}

document.querySelector(".skip-link").addEventListener("click", (event) => {
  event.preventDefault();
  main.focus();
});
window.addEventListener("hashchange", route);
route();
