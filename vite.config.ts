import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'vite'

// The web client (wall, briefing, embeds) lives in web/ and is built to dist/web, which the
// Hono server serves. In development, vite proxies the API and the live stream to the server.
export default defineConfig({
  root: 'web',
  plugins: [vue()],
  // ECharts alone is ~1 MB minified; the wall loads it once and runs for weeks.
  build: { outDir: '../dist/web', emptyOutDir: true, chunkSizeWarningLimit: 1600 },
  server: {
    proxy: {
      '/api': 'http://localhost:8080',
      '/socket.io': { target: 'http://localhost:8080', ws: true },
    },
  },
})
