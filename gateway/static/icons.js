// @ts-check
// Inline SVG icons, drawn as DOM nodes (no network, no innerHTML). They are decorative:
// the link or button around each one carries the accessible name. Icons that point along the
// reading direction are mirrored in right-to-left layouts (the stylesheet flips .mirror).

const NS = "http://www.w3.org/2000/svg";

// Each icon: a list of [element, attributes]; "stroke" icons use currentColor lines.
/** @type {Record<string, [string, Record<string, string | number>][]>} */
const ICONS = {
  whatsapp: [
    ["path", { d: "M12 2.5a9.5 9.5 0 0 0-8.2 14.3L2.5 21.5l4.8-1.3A9.5 9.5 0 1 0 12 2.5z", class: "fill" }],
    [
      "path",
      {
        d: "M8.6 7.4c.2-.4.5-.5.8-.5h.6c.2 0 .4 0 .6.5l.8 2c.1.2.1.4 0 .6l-.4.6c-.1.2-.2.4 0 .6.5.9 1.2 1.6 2.1 2.2.2.1.4.2.6 0l.6-.7c.2-.2.4-.2.6-.1l1.9.9c.3.1.4.3.4.5 0 .6-.3 1.3-.8 1.6-.6.4-1.4.5-2.3.2-1.6-.5-3.1-1.5-4.3-2.9-1-1.2-1.6-2.4-1.7-3.6 0-.8.2-1.4.5-1.9z",
        class: "knockout",
      },
    ],
  ],
  instagram: [
    ["rect", { x: 3, y: 3, width: 18, height: 18, rx: 5, class: "stroke" }],
    ["circle", { cx: 12, cy: 12, r: 4, class: "stroke" }],
    ["circle", { cx: 17.3, cy: 6.7, r: 1.2, class: "fill" }],
  ],
  web: [
    ["circle", { cx: 12, cy: 12, r: 9, class: "stroke" }],
    ["ellipse", { cx: 12, cy: 12, rx: 4, ry: 9, class: "stroke" }],
    ["path", { d: "M3 12h18M4.5 7.5h15M4.5 16.5h15", class: "stroke" }],
  ],
  chat: [["path", { d: "M4 5h16v11H9l-5 4z", class: "stroke" }]],
  edit: [
    ["path", { d: "M4 20h4L19 9l-4-4L4 16z", class: "stroke" }],
    ["path", { d: "M13.5 6.5l4 4", class: "stroke" }],
  ],
  check: [["path", { d: "M5 12.5l4.5 4.5L19 7.5", class: "stroke" }]],
  trash: [["path", { d: "M4 7h16M9 7V4h6v3M6 7l1 13h10l1-13M10 11v6M14 11v6", class: "stroke" }]],
  open: [["path", { d: "M14 4h6v6M20 4l-9 9M18 14v6H4V6h6", class: "stroke" }]],
  back: [["path", { d: "M15 5l-7 7 7 7", class: "stroke" }]],
  sparkle: [["path", { d: "M12 3l2 6 6 2-6 2-2 6-2-6-6-2 6-2z", class: "stroke" }]],
  up: [["path", { d: "M7 14l5-5 5 5", class: "stroke" }]],
  down: [["path", { d: "M7 10l5 5 5-5", class: "stroke" }]],
  sort: [["path", { d: "M8 10l4-4 4 4M8 14l4 4 4-4", class: "stroke" }]],
};
const MIRRORED = new Set(["back", "open"]);

/**
 * An <svg> icon by name, hidden from assistive technology.
 * @param {string} name
 * @param {string} [className]
 * @returns {SVGSVGElement}
 */
export function icon(name, className = "") {
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  const mirror = MIRRORED.has(name) ? "mirror" : "";
  svg.setAttribute("class", `icon icon-${name} ${mirror} ${className}`.replace(/\s+/g, " ").trim());
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  for (const [tag, attrs] of ICONS[name] ?? ICONS.chat) {
    const el = document.createElementNS(NS, tag);
    for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
    svg.append(el);
  }
  return svg;
}
