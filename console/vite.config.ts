import { cpSync, mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig, type Plugin } from "vite";

const here = dirname(fileURLToPath(import.meta.url));

// Swagger UI for /api/docs is served from the app's own copy (no CDN): the build puts the
// files it needs, and the script that starts it (no inline script), into dist/swagger/.
function swaggerAssets(): Plugin {
  return {
    name: "ferry-swagger-assets",
    apply: "build",
    closeBundle() {
      const from = resolve(here, "node_modules/swagger-ui-dist");
      const to = resolve(here, "dist/swagger");
      mkdirSync(to, { recursive: true });
      for (const f of ["swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"]) {
        cpSync(resolve(from, f), resolve(to, f));
      }
      cpSync(resolve(here, "swagger/swagger-init.js"), resolve(to, "swagger-init.js"));
    },
  };
}

export default defineConfig({
  base: "/console/",
  plugins: [react(), swaggerAssets()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 600,
  },
});
