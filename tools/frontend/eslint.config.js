// eslint for the page (frontend/, browser ES modules) and its unit tests (tests/frontend/, node).
// Run from the repository root with `-c tools/frontend/eslint.config.js` (make check-frontend does),
// so the patterns below are relative to the root.
import js from "@eslint/js";
import globals from "globals";

/** Beyond eslint:recommended: rules that catch bugs this code could have, not matters of taste. */
const considered = {
  eqeqeq: ["error", "always"], // no type-juggling comparisons
  "no-implicit-globals": "error",
  "no-shadow": ["error", { builtinGlobals: false }],
  "no-var": "error",
  "prefer-const": "error",
  "no-throw-literal": "error", // errors carry a message and a stack
  "no-promise-executor-return": "error",
  "no-self-compare": "error",
  "no-unmodified-loop-condition": "error",
  "no-unused-vars": ["error", { args: "after-used", caughtErrors: "none" }],
  "no-restricted-syntax": ["error",
    { selector: "AssignmentExpression[left.property.name='innerHTML']", message: "Text from the API goes in through textContent or el() (dom.js), never innerHTML." },
    { selector: "CallExpression[callee.property.name='insertAdjacentHTML']", message: "No HTML from strings: use el() (dom.js)." }],
  "no-eval": "error",
  "no-new-func": "error",
};

export default [
  { ignores: ["**/node_modules/**", "frontend/samples/**"] },
  js.configs.recommended,
  {
    files: ["frontend/**/*.js"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: { ...globals.browser } },
    rules: considered,
  },
  {
    files: ["tests/frontend/**/*.js", "tools/frontend/*.js"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: { ...globals.node } },
    rules: considered,
  },
];
