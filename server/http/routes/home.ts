/** `/`: a plain page linking the screens, in Chinese by default and English with ?lang=en. */
import { Hono } from 'hono'
import { html } from 'hono/html'
import type { AppDeps, AppEnv } from '../context.ts'

const TEXT = {
  zh: {
    title: '城市大脑 · 网格化管理指挥中心',
    intro: '实时汇聚网格事件、处置流程与网格员巡查，推送到大屏、领导简报与门户嵌入。',
    wall: '指挥大屏 /wall（值班员）',
    brief: '领导简报 /brief',
    docs: '接口文档 /api/docs',
    embed: '门户嵌入示例 /embed',
    note: '街道、社区、网格边界为示意（合成）边界；名称与编码为真实行政区划。',
    other: '切换到 English',
  },
  en: {
    title: 'City Brain · Grid Governance Command Centre',
    intro:
      'Live grid events, their lifecycle and patrols, pushed to the wall, the leaders’ briefing and portal embeds.',
    wall: 'Command wall /wall (duty officers)',
    brief: 'Leaders’ briefing /brief',
    docs: 'API docs /api/docs',
    embed: 'Embed demo /embed',
    note: 'Street, community and grid boundaries are synthetic; names and codes are the real divisions.',
    other: '切换到中文',
  },
}

export function homeRoutes(deps: AppDeps) {
  return new Hono<AppEnv>().get('/', (c) => {
    const lang = c.get('lang')
    const t = TEXT[lang]
    const token = c.req.query('token')
    const q = (path: string) =>
      `${path}?${new URLSearchParams({ ...(token ? { token } : {}), ...(lang === 'en' ? { lang } : {}) })}`
    const d = deps.city.district
    return c.html(
      html`<!doctype html>
        <html lang="${lang === 'en' ? 'en' : 'zh-CN'}">
          <head>
            <meta charset="utf-8" />
            <meta name="viewport" content="width=device-width, initial-scale=1" />
            <title>${t.title}</title>
            <style>
              body {
                font-family: system-ui, 'Noto Sans CJK SC', sans-serif;
                background: #0b1220;
                color: #e6edf7;
                max-width: 48rem;
                margin: 3rem auto;
                padding: 0 1rem;
                line-height: 1.6;
              }
              a {
                color: #5cc8ff;
              }
              li {
                margin: 0.4rem 0;
              }
              small {
                color: #9aa8bd;
              }
            </style>
          </head>
          <body>
            <h1>${t.title}</h1>
            <p>${d.name}（${d.code}） · ${t.intro}</p>
            <ul>
              <li><a href="${q('/wall')}">${t.wall}</a></li>
              <li><a href="${q('/brief')}">${t.brief}</a></li>
              <li><a href="${q('/api/docs')}">${t.docs}</a></li>
              <li><a href="${q('/embed')}">${t.embed}</a></li>
            </ul>
            <p><small>${t.note}</small></p>
            <p>
              <a
                href="${lang === 'en' ? q('/').replace(/[?&]lang=en/, '') : q('/') + (q('/').endsWith('?') ? '' : '&') + 'lang=en'}"
                >${t.other}</a
              >
            </p>
          </body>
        </html>`,
    )
  })
}
