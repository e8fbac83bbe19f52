// @ts-check
// What the profile page learns from the API rather than copies: the editable fields and their
// limits, the note's limit, the live events, and the language, country and tag lists.

import { cached } from "./api.js";
import { locale } from "./i18n.js";

/**
 * One editable field (GET /v1/reference/profile-fields, /v1/reference/note-fields).
 * @typedef {{
 *   field: string,
 *   kind: "text" | "multiline" | "phone" | "email" | "language" | "country" | "tags",
 *   required: boolean,
 *   max_length: number | null,
 *   max_items: number | null,
 * }} FieldSpec
 */
/** A live event the profile's stream sends, and the view section it changes. @typedef {{ type: string, section: string }} LiveEvent */
/** @typedef {{ code: string, name: string }} Code */
/**
 * @typedef {{
 *   fields: FieldSpec[] | null,
 *   noteText: FieldSpec | null,
 *   liveEvents: LiveEvent[] | null,
 *   languages: Map<string, string>,
 *   countries: Map<string, string>,
 *   tags: import("./widgets.js").Tag[],
 * }} Reference
 */

/** @returns {Reference} */
export const emptyReference = () => ({
  fields: null,
  noteText: null,
  liveEvents: null,
  languages: new Map(),
  countries: new Map(),
  tags: [],
});

/**
 * Codes named in the chosen language where Intl knows them (the API's English name otherwise),
 * sorted by that name.
 * @param {Code[]} items
 * @param {"language" | "region"} type
 * @returns {Map<string, string>}
 */
function localNames(items, type) {
  const names = new Intl.DisplayNames([locale()], { type, fallback: "none" });
  const collator = new Intl.Collator(locale());
  /** @param {string} code */
  const nameOf = (code) => {
    try {
      return names.of(code);
    } catch {
      return undefined;
    }
  };
  const named = items.map((item) => /** @type {[string, string]} */ ([item.code, nameOf(item.code) ?? item.name]));
  return new Map(named.sort((a, b) => collator.compare(a[1], b[1])));
}

/**
 * Everything at once; a list that cannot be loaded stays empty (null for the field lists).
 * @returns {Promise<Reference>}
 */
export async function loadReference() {
  const [fields, notes, events, languages, countries, tags] = await Promise.allSettled([
    cached("/v1/reference/profile-fields"),
    cached("/v1/reference/note-fields"),
    cached("/v1/reference/live-events"),
    cached("/v1/reference/languages"),
    cached("/v1/reference/countries"),
    cached("/v1/tags", { refresh: true }),
  ]);
  /**
   * @template T
   * @param {PromiseSettledResult<T>} result
   * @returns {T | null}
   */
  const value = (result) => (result.status === "fulfilled" ? result.value : null);
  return {
    fields: value(fields),
    noteText: value(notes)?.find((spec) => spec.field === "text") ?? null,
    liveEvents: value(events),
    languages: localNames(value(languages) ?? [], "language"),
    countries: localNames(value(countries) ?? [], "region"),
    tags: value(tags) ?? [],
  };
}
