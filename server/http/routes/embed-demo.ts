/**
 * The embed demo (`/embed?token=<admin>`): each built panel inside an iframe as a portal would put
 * it, with the two-line snippet beside it, so an integrator sees what they paste and what it gives.
 * The page mints a short-lived signed embed token (1 h) for the admin's region, framed only by this
 * server's own origin. `/embed-host.js` is the snippet's second line: it sizes each of this
 * server's iframes from the height the panel posts, and nothing else.
 */
import { Hono } from 'hono'
import { html, raw } from 'hono/html'
import { embedPath, type EmbedPanel } from '../../../shared/embed.ts'
import type { AppDeps, AppEnv } from '../context.ts'
import { requireRole } from '../middleware.ts'

/** The panels built so far (issue 13 adds map and satisfaction). */
export const DEMO_PANELS: EmbedPanel[] = ['kpis', 'trend', 'ranking']

/** The product's icon, inline (as the client's pages have it): no /favicon.ico request. */
const ICON =
  'data:image/svg+xml,%3Csvg xmlns=%22http://www.w3.org/2000/svg%22 viewBox=%220 0 16 16%22%3E%3Ccircle cx=%228%22 cy=%228%22 r=%227%22 fill=%22%2356b4e9%22/%3E%3C/svg%3E'

const HOST_JS = `(function () {
  var origin = new URL(document.currentScript.src).origin;
  addEventListener('message', function (e) {
    if (e.origin !== origin || !e.data || e.data.type !== 'city-brain:height') return;
    var frames = document.getElementsByTagName('iframe');
    for (var i = 0; i < frames.length; i++)
      if (frames[i].contentWindow === e.source) frames[i].style.height = e.data.height + 'px';
  });
})();
`

const TEXT = {
  zh: {
    title: '门户嵌入示例',
    intro:
      '每个面板都放在 iframe 中，如同政府门户所做；右侧是门户页面需要粘贴的两行代码。示例令牌一小时后失效，且只允许本站嵌入。',
    snippet: '门户页面粘贴：',
  },
  en: {
    title: 'Embed demo',
    intro:
      'Each panel inside an iframe, as a government portal frames it, with the two lines a portal page pastes beside it. The demo token expires in an hour and only this site may frame it.',
    snippet: 'A portal page pastes:',
  },
} as const

export function embedDemoRoutes(deps: AppDeps) {
  return new Hono<AppEnv>()
    .get('/embed-host.js', (c) => {
      c.header('Content-Type', 'text/javascript; charset=utf-8')
      c.header('Cache-Control', 'public, max-age=86400')
      return c.body(HOST_JS)
    })
    .get('/embed', requireRole(deps.tokens, ['admin']), async (c) => {
      const lang = c.get('lang')
      const t = TEXT[lang]
      const origin = new URL(c.req.url).origin
      const region = c.get('principal').region ?? deps.city.district.code
      const minted = await deps.tokens.mint({
        role: 'public',
        kind: 'embed',
        ttlSeconds: 3600,
        region,
        embed: { kind: 'signed', panels: DEMO_PANELS, origins: [origin] },
      })
      const panels = DEMO_PANELS.map((p) => {
        const src = `${origin}${embedPath(p, minted.token)}${lang === 'en' ? '&lang=en' : ''}`
        const snippet = `<iframe src="${src}" style="width:100%;border:0" title="城市大脑"></iframe>\n<script src="${origin}/embed-host.js" async></script>`
        return html`<section>
          <h2>${p}</h2>
          <div class="row">
            <iframe src="${src}" style="width:100%;border:0;height:240px" title="${p}"></iframe>
            <div>
              <p>${t.snippet}</p>
              <pre><code>${snippet}</code></pre>
            </div>
          </div>
        </section>`
      })
      c.header('Cache-Control', 'no-store')
      return c.html(
        html`<!doctype html>
          <html lang="${lang === 'en' ? 'en' : 'zh-CN'}">
            <head>
              <meta charset="utf-8" />
              <meta name="viewport" content="width=device-width, initial-scale=1" />
              <title>${t.title}</title>
              <link rel="icon" href="${ICON}" />
              <link rel="stylesheet" href="/embed-demo.css" />
              <script src="/embed-host.js" async></script>
            </head>
            <body>
              <h1>${t.title}</h1>
              <p>${t.intro}</p>
              ${raw(panels.join(''))}
            </body>
          </html>`,
      )
    })
    .get('/embed-demo.css', (c) => {
      c.header('Content-Type', 'text/css; charset=utf-8')
      c.header('Cache-Control', 'public, max-age=86400')
      return c.body(`body{font-family:system-ui,'Noto Sans CJK SC',sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;background:#eef2f8;color:#14213d;line-height:1.5}
section{background:#fff;border:1px solid #d5dce8;border-radius:8px;padding:1rem;margin:1rem 0}
h2{margin:0 0 .6rem;font-size:1.1rem}.row{display:grid;grid-template-columns:minmax(280px,1fr) minmax(280px,1fr);gap:1rem}
pre{white-space:pre-wrap;word-break:break-all;background:#f5f7fb;border:1px solid #d5dce8;border-radius:6px;padding:.6rem;font-size:.8rem}
@media (max-width:700px){.row{grid-template-columns:1fr}}`)
    })
}
