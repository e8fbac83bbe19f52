// ESLint for the dashboard's ES modules (gateway/static). The packages come from the folder
// `make node-tools` installs into, so that nothing of Node's lives in the repository's root.
const path = require("node:path");

const tools = path.join(__dirname, ".tools", "node", "node_modules");
const load = (name) => require(require.resolve(name, { paths: [tools] }));
const js = load("@eslint/js");
const globals = load("globals");

module.exports = [
  {
    files: ["gateway/static/**/*.js"],
    ...js.configs.recommended,
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: "module",
      globals: globals.browser,
    },
    linterOptions: { reportUnusedDisableDirectives: "error" },
    rules: {
      ...js.configs.recommended.rules,
      // Small modules: each renders one part of the page.
      "max-lines": ["error", { max: 250 }],
      // Data becomes text nodes and properties, never markup.
      "no-restricted-properties": [
        "error",
        { property: "innerHTML", message: "Build nodes with h() and textContent." },
        { property: "outerHTML", message: "Build nodes with h() and textContent." },
        { property: "insertAdjacentHTML", message: "Build nodes with h() and textContent." },
        { object: "document", property: "write", message: "Build nodes with h() and textContent." },
      ],
      "no-eval": "error",
      "no-implied-eval": "error",
      "no-new-func": "error",
      eqeqeq: ["error", "always"],
      "no-var": "error",
      "prefer-const": "error",
      "no-implicit-globals": "error",
      "no-shadow": "error",
      "no-param-reassign": ["error", { props: false }],
      "object-shorthand": "error",
    },
  },
];
