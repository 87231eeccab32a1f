import { createPinia } from 'pinia'
import { createApp, type Component } from 'vue'
import App from './App.vue'

/**
 * One rem follows the screen: 16 px at 1920×1080 (1080×1920 in portrait), 32 px at 3840×2160,
 * so layouts and chart text scale with the display instead of a CSS-scaled small canvas.
 */
function fitRootFont(): void {
  const w = window.innerWidth
  const h = window.innerHeight
  const k = w >= h ? Math.min(w / 1920, h / 1080) : Math.min(w / 1080, h / 1920)
  document.documentElement.style.fontSize = `${(16 * Math.max(0.5, k)).toFixed(2)}px`
}
const path = location.pathname.replace(/\/+$/, '')
// The wall scales with its screen; the briefing is read at arm's length on a tablet, at 16 px.
if (path === '/wall') {
  fitRootFont()
  window.addEventListener('resize', fitRootFont)
}

// Each page is its own chunk: the wall, running for weeks, never loads or keeps the briefing's code.
const pages: Record<string, () => Promise<{ default: Component }>> = {
  '/wall': () => import('./pages/WallPage.vue'),
  '/brief': () => import('./pages/BriefPage.vue'),
}
void (pages[path]?.() ?? Promise.resolve({ default: App })).then(({ default: page }) =>
  createApp(page).use(createPinia()).mount('#app'),
)
