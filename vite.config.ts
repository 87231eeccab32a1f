import vue from '@vitejs/plugin-vue'
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

const page = (file: string) => fileURLToPath(new URL(`web/${file}`, import.meta.url))

// The web client (wall, briefing, embeds) lives in web/ and is built to dist/web, which the
// Hono server serves. In development, vite proxies the API and the live stream to the server.
export default defineConfig({
  root: 'web',
  plugins: [vue()],
  // ECharts alone is ~1 MB minified; the wall loads it once and runs for weeks.
  // Two entries: the screens (wall, briefing) and the portal embeds, which must not load the screens'
  // code (a panel on a portal page is its own small entry and chunks).
  build: {
    outDir: '../dist/web',
    emptyOutDir: true,
    chunkSizeWarningLimit: 1600,
    rollupOptions: { input: { main: page('index.html'), embed: page('embed.html') } },
  },
  server: {
    proxy: {
      '/api': 'http://localhost:8080',
      '/socket.io': { target: 'http://localhost:8080', ws: true },
    },
  },
})
