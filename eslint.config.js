import js from "@eslint/js";
import tseslint from "typescript-eslint";

const ioModules = ["got", "keyv", "@keyv/*", "pino", "node-cron", "better-sqlite3", "prom-client", "fs", "node:fs", "fs/promises", "node:fs/promises", "http", "node:http", "https", "node:https", "net", "node:net", "child_process", "node:child_process"];

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "coverage/", "test-artifacts/", "bench/results.json", "data/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: "readonly", console: "readonly", setTimeout: "readonly", clearTimeout: "readonly", setInterval: "readonly", clearInterval: "readonly", Buffer: "readonly", URL: "readonly", URLSearchParams: "readonly", AbortController: "readonly", AbortSignal: "readonly", fetch: "readonly", TextEncoder: "readonly", TextDecoder: "readonly", structuredClone: "readonly", queueMicrotask: "readonly", document: "readonly", window: "readonly" } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_" }],
      "@typescript-eslint/no-explicit-any": "error",
    },
  },
  {
    // The core stays pure: change detection, event ids, formats, signing and retry arithmetic
    // are tested without sockets or files.
    files: ["src/core/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", { paths: ioModules.filter((m) => !m.includes("*")), patterns: ioModules.filter((m) => m.includes("*")) }],
    },
  },
);
