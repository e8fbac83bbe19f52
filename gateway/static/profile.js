// @ts-check
// The customer profile page: header, profile and AI profile cards on the side, activity tabs
// beside them (the open tab is in the URL), kept current by the gateway's event stream, which also
// says when the customer is merged into another or erased.

import { api, session } from "./api.js";
import { createActivity, readTab } from "./activity.js";
import { createAiCard } from "./ai-card.js";
import { h, replace } from "./dom.js";
import { lastGridHref } from "./grid-query.js";
import { t } from "./i18n.js";
import { icon } from "./icons.js";
import { createIdentityActions, followMerge } from "./identity.js";
import { connectLive } from "./live.js";
import { createProfileCard } from "./profile-card.js";
import { createHeader } from "./profile-header.js";
import { emptyReference, loadReference } from "./reference.js";
import { hrefFor, navigate } from "./router.js";

/**
 * GET /v1/customers/{id}: sections whose service did not answer are null and named in `unavailable`.
 * @typedef {{
 *   id: string,
 *   header: import("./profile-header.js").Header | null,
 *   profile: (Record<string, any> & { version: number, tags: import("./widgets.js").Tag[] }) | null,
 *   ai_profile: import("./ai-card.js").AiProfile | null,
 *   counts: Record<string, number> | null,
 *   unavailable?: string[],
 * }} ProfileView
 */
/**
 * @typedef {{
 *   view: ProfileView | null,
 *   etag: string | null,
 *   disposed: boolean,
 *   reference: import("./reference.js").Reference,
 *   saves: Promise<void>,
 * }} ProfileState
 */
/**
 * What the parts of the page share.
 * @typedef {{
 *   customerId: string,
 *   base: string,
 *   state: ProfileState,
 *   announce: import("./shell.js").Shell["announce"],
 *   reload: () => Promise<void>,
 *   accept: (view: ProfileView, etag: string | null) => boolean,
 *   unavailable: (section: string) => boolean,
 * }} ProfileContext
 */

/**
 * Render one customer's profile into `main`.
 * @param {HTMLElement} main
 * @param {string} customerId
 * @param {URLSearchParams} params
 * @param {import("./shell.js").Shell} shell
 * @returns {import("./shell.js").View}
 */
export function mountProfile(main, customerId, params, { announce, viewReady }) {
  const base = `/v1/customers/${encodeURIComponent(customerId)}`;
  /** @type {ProfileState} */
  const state = { view: null, etag: null, disposed: false, reference: emptyReference(), saves: Promise.resolve() };
  /** @type {ProfileContext} */
  const ctx = {
    customerId,
    base,
    state,
    announce,
    reload: loadView,
    accept,
    unavailable: (section) => (state.view?.unavailable ?? []).includes(section),
  };
  const identity = createIdentityActions(ctx);
  const header = createHeader(ctx, identity.element);
  const card = createProfileCard(ctx);
  const ai = createAiCard(ctx);
  const activity = createActivity(customerId, {
    announce,
    me: session.user,
    tab: readTab(params),
    onTab: (tab) => navigate(hrefFor(`/customers/${encodeURIComponent(customerId)}`, { tab: tab === "notes" ? null : tab })),
  });
  const liveStatus = h("span", { class: "live-status", "data-state": "connecting" }, t("live.connecting"));
  /** @type {{ dispose(): void } | null} */
  let live = null;

  replace(
    main,
    h(
      "div",
      { class: "profile-view" },
      h(
        "div",
        { class: "crumbs" },
        h("a", { href: lastGridHref(), class: "back" }, icon("back"), t("profile.back")),
        liveStatus,
      ),
      h(
        "div",
        { class: "profile-layout" },
        h("div", { class: "sidebar" }, header.element, card.element, ai.element),
        activity.element,
      ),
    ),
  );
  render();

  function render() {
    header.render();
    card.render();
    ai.render();
    activity.setCounts(state.view?.counts ?? null, state.view?.unavailable ?? []);
  }

  /**
   * Take a view unless it is older than the one shown (a slow refetch racing a save).
   * @param {ProfileView} view
   * @param {string | null} etag
   */
  function accept(view, etag) {
    const shown = state.view?.profile?.version;
    const incoming = view?.profile?.version;
    if (typeof shown === "number" && typeof incoming === "number" && incoming < shown) return false;
    state.view = view;
    state.etag = etag ?? (typeof incoming === "number" ? `"${incoming}"` : null);
    render();
    return true;
  }

  /**
   * In place of the page: the customer does not exist (or no longer does).
   * @param {import("./i18n.js").MessageKey} title
   * @param {import("./i18n.js").MessageKey} text
   */
  function showGone(title, text) {
    dispose();
    const heading = h("h1", { tabindex: "-1" }, t(title));
    replace(
      main,
      h(
        "section",
        { class: "card" },
        heading,
        h("p", {}, t(text)),
        h("p", {}, h("a", { href: lastGridHref() }, t("profile.backToAll"))),
      ),
    );
    viewReady(t(title), heading);
  }

  async function loadView() {
    try {
      const { data, headers } = await api(base);
      if (state.disposed) return;
      const first = state.view === null;
      accept(data, headers.get("ETag"));
      if (first) viewReady(data.header?.name ?? t("profile.customer"), header.heading);
    } catch (e) {
      const failure = /** @type {import("./api.js").ApiError} */ (e);
      if (state.disposed || failure.status === 401) return;
      if (failure.status === 404) {
        // A customer merged into another answers 404 naming that other one: show it instead.
        const target = failure.problem.merged_into;
        if (typeof target === "string") {
          dispose();
          followMerge(target, announce);
        } else {
          showGone("profile.notFound", "profile.notFoundText");
        }
        return;
      }
      if (state.view === null) {
        card.showLoadError(failure.message);
        viewReady(t("profile.customer"), header.heading);
      }
    }
  }

  /**
   * @param {"connecting" | "live" | "reconnecting" | "off"} name
   * @param {string} text
   */
  function setLive(name, text) {
    liveStatus.dataset.state = name;
    liveStatus.textContent = text;
  }

  function dispose() {
    if (state.disposed) return;
    state.disposed = true;
    identity.dispose();
    activity.dispose();
    live?.dispose();
  }

  loadReference().then((reference) => {
    if (state.disposed) return;
    state.reference = reference;
    render();
    loadView();
    activity.start(reference.noteText);
    live = connectLive(base, reference.liveEvents, {
      setStatus: setLive,
      refresh(parts) {
        for (const part of parts) {
          if (part === "view") loadView();
          else if (part === "history") card.refreshHistory();
          else activity.refresh(part);
        }
      },
      mergedAway(target) {
        dispose();
        followMerge(target, announce);
      },
      // This page's own erase dialog shows the erasure's progress over the page instead.
      erased() {
        if (identity.erasing()) dispose();
        else showGone("erase.gone", "erase.goneText");
      },
    });
  });

  return {
    update: (changed) => activity.select(readTab(changed)),
    dispose,
  };
}
