import { defineConfig } from "vite";
import { VitePWA } from "vite-plugin-pwa";

// The app is served by the backend at `/` (API under `/api`). `npm run dev` proxies the API to a local
// `make run` so the app can be worked on with hot reload.
export default defineConfig({
  base: "/",
  // Which build this is (Réglages shows it): TERRAIN_APP_BUILD, or the time of the build.
  define: { __APP_BUILD__: JSON.stringify(process.env["TERRAIN_APP_BUILD"] ?? new Date().toISOString().slice(0, 16)) },
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: { outDir: "dist", target: "es2022", sourcemap: false, reportCompressedSize: true },
  server: { proxy: { "/api": "http://127.0.0.1:8000" } },
  plugins: [
    VitePWA({
      // Our own service worker (src/sw.ts): Workbox precaching of the app shell, and an update that waits
      // for the user (the open form is saved first), never a silent skipWaiting.
      strategies: "injectManifest",
      srcDir: "src",
      filename: "sw.ts",
      registerType: "prompt",
      injectRegister: false,
      manifest: {
        name: "Terrain — enquêtes de terrain",
        short_name: "Terrain",
        description: "Questionnaires, entretiens et journaux d'observation, même sans réseau.",
        lang: "fr",
        start_url: "/",
        scope: "/",
        display: "standalone",
        background_color: "#ffffff",
        theme_color: "#1d4f91",
        icons: [
          { src: "/icon.svg", sizes: "any", type: "image/svg+xml", purpose: "any" },
          { src: "/icon-192.png", sizes: "192x192", type: "image/png" },
          { src: "/icon-512.png", sizes: "512x512", type: "image/png" },
        ],
      },
      injectManifest: {
        globPatterns: ["**/*.{js,css,html,svg,png,webmanifest}"],
      },
    }),
  ],
});
