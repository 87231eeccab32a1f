/**
 * The portal embeds' own entry (`/embed/<panel>`): a page a government portal frames, loading only
 * this entry and its panel's chunk, never the wall's or the briefing's code.
 */
import { createPinia } from 'pinia'
import { createApp } from 'vue'
import EmbedPage from './EmbedPage.vue'

createApp(EmbedPage).use(createPinia()).mount('#app')
