// The web chat is a static page: `vite build` writes it to dist/, which the
// sample chat serves with `pnpm chat --web`. The packages resolve to their
// browser builds (the "browser" export condition), never to Node code.
import { defineConfig } from "vite";

export default defineConfig({
  root: "src",
  base: "./",
  build: { outDir: "../dist", emptyOutDir: true, target: "es2022", reportCompressedSize: false },
  server: { host: "127.0.0.1" },
});
