/** The sync layer of the PWA: see README.md in this folder for the contract. */
export * from "./api.js";
export * from "./backoff.js";
export * from "./engine.js";
export * from "./errors.js";
export * from "./outbox.js";
export * from "./pull.js";
export * from "./scheduler.js";
export * from "./uploads.js";
export * from "./login.js";
