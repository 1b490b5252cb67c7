// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", "dist/", "coverage/"] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true }],
    },
  },
  {
    // The engine runs in the app, in a worker and in Node: no DOM, no Node built-ins.
    files: ["src/engine/**/*.ts"],
    rules: {
      "no-restricted-globals": [
        "error",
        ...["window", "document", "navigator", "localStorage", "sessionStorage", "indexedDB", "fetch", "process"].map(
          (name) => ({ name, message: "src/engine/ is UI-free and I/O-free: take it as an argument." }),
        ),
      ],
      "no-restricted-imports": [
        "error",
        { patterns: [{ group: ["node:*", "fs", "path"], message: "src/engine/ runs in the browser too." }] },
      ],
    },
  },
  {
    // Storage and sync: no DOM (they run in the app and in Node tests); fetch and navigator.storage are injected.
    files: ["src/db/**/*.ts", "src/sync/**/*.ts"],
    rules: {
      "no-restricted-globals": [
        "error",
        ...["window", "document", "navigator", "localStorage", "sessionStorage", "fetch"].map((name) => ({
          name,
          message: "src/db/ and src/sync/ have no DOM: take it as an argument.",
        })),
      ],
    },
  },
  {
    files: ["eslint.config.js"],
    ...tseslint.configs.disableTypeChecked,
  },
);
