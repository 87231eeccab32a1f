/**
 * Embed tokens at the HTTP boundary. `embedPageGate`: `/embed/<panel>?token=` is served only for an
 * embed token that names the panel (and the page's `?region=`, if any), framed by exactly the token's
 * origins; any other request gets a small page saying why, in Chinese or with `?lang=en` in English,
 * for the person who sees it inside a portal's iframe. `requireEmbed`: the same check for a JSON
 * route that a future public read may mount.
 */
import type { Context, MiddlewareHandler } from 'hono'
import { html } from 'hono/html'
import { embedRefusal, isEmbedPanel, type EmbedPanel } from '../../shared/embed.ts'
import { parseRegionCode } from '../../shared/regions.ts'
import type { EmbedPrincipal, TokenService } from '../auth/tokens.ts'
import type { CityIndex } from '../city/city-index.ts'
import { AppError, type Bilingual } from '../errors.ts'
import type { AppEnv } from './context.ts'
import { tokenOf } from './middleware.ts'
import { allowFraming } from './security.ts'

/** Why an embed request is refused: each a status, a code and what the person is told. */
export const EMBED_REFUSALS = {
  missing: { status: 401, zh: '缺少嵌入令牌', en: 'This embed has no token' },
  invalid: { status: 401, zh: '嵌入令牌无效', en: 'The embed token is invalid' },
  not_embed: {
    status: 401,
    zh: '这是接口访问令牌，不是嵌入令牌',
    en: 'This is an API token, not an embed token',
  },
  expired: { status: 401, zh: '嵌入令牌已过期', en: 'The embed token has expired' },
  revoked: { status: 401, zh: '嵌入令牌已被吊销', en: 'The embed token has been revoked' },
  panel: { status: 403, zh: '该嵌入令牌不包含此面板', en: 'The embed token does not include this panel' },
  region: { status: 403, zh: '该区域不在嵌入令牌的范围内', en: 'This region lies outside the embed token' },
  bad_region: { status: 400, zh: '区域编码无效', en: 'The region code is invalid' },
  unknown_region: { status: 404, zh: '区域不存在', en: 'No such region' },
  unknown_panel: { status: 404, zh: '没有这个面板', en: 'No such panel' },
} as const satisfies Record<string, Bilingual & { status: 400 | 401 | 403 | 404 }>
export type EmbedRefusal = keyof typeof EMBED_REFUSALS

/** What an embed request is: its token's principal, or why not (with the principal when it is known). */
export type EmbedCheck =
  { ok: true; principal: EmbedPrincipal } | { ok: false; why: EmbedRefusal; principal?: EmbedPrincipal }

/**
 * Check `token` for `panel` and the asked region (a raw `?region=`): the one rule both the page and
 * the JSON helper apply. A bearer token is named as such, so its holder knows what went wrong.
 */
export async function checkEmbed(
  d: { tokens: TokenService; city: CityIndex },
  token: string | undefined,
  asked: { panel: string; region?: string | undefined },
): Promise<EmbedCheck> {
  if (!token) return { ok: false, why: 'missing' }
  const v = await d.tokens.verifyEmbed(token)
  if (!v.ok) {
    if (v.reason !== 'invalid') return { ok: false, why: v.reason, principal: v.principal }
    return { ok: false, why: (await d.tokens.verify(token)).ok ? 'not_embed' : 'invalid' }
  }
  const principal = v.principal
  if (!isEmbedPanel(asked.panel)) return { ok: false, why: 'unknown_panel', principal }
  let region: string | undefined
  if (asked.region !== undefined) {
    const p = parseRegionCode(asked.region)
    if (!p.ok) return { ok: false, why: 'bad_region', principal }
    region = p.code
  }
  const refused = embedRefusal(principal, { panel: asked.panel, ...(region ? { region } : {}) })
  if (refused) return { ok: false, why: refused, principal }
  if (region && !d.city.region(region)) return { ok: false, why: 'unknown_region', principal }
  return { ok: true, principal }
}

/** The refusal page: self-contained (inline style, no script), in one language. */
function refusalPage(why: EmbedRefusal, lang: 'zh' | 'en') {
  const r = EMBED_REFUSALS[why]
  const hint =
    lang === 'en' ? 'Please tell the webmaster of the site showing this panel.' : '请联系本网站的管理员。'
  const title = lang === 'en' ? 'City Brain' : '城市大脑'
  return html`<!doctype html>
    <html lang="${lang === 'en' ? 'en' : 'zh-CN'}">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="robots" content="noindex" />
        <title>${r[lang]} · ${title}</title>
        <style>
          body {
            margin: 0;
            font-family: system-ui, 'PingFang SC', 'Microsoft YaHei', sans-serif;
            color: #14213d;
            background: #f5f7fb;
          }
          main {
            padding: 1rem 1.2rem;
            line-height: 1.6;
          }
          h1 {
            font-size: 1.05rem;
            margin: 0 0 0.3rem;
            color: #b3261e;
          }
          p {
            margin: 0;
            font-size: 0.9rem;
          }
        </style>
      </head>
      <body>
        <main data-refusal="${why}">
          <h1>${r[lang]}</h1>
          <p>${hint}</p>
          <p><small>${title} · ${r.status} ${why}</small></p>
        </main>
      </body>
    </html>`
}

/**
 * The gate in front of the embed pages' shell (`/embed/<panel>`). A refusal is a page that the
 * person inside the iframe can read: framed by the token's origins when its signature verified
 * (expired, revoked, another panel or region), else by any page, as it shows nothing but why.
 */
export function embedPageGate(d: { tokens: TokenService; city: CityIndex }): MiddlewareHandler<AppEnv> {
  return async function embedPageGate(c, next) {
    // `/embed/<panel>` or `/embed/<panel>/`; anything deeper names no panel.
    const panel = /^\/embed\/([^/]+)\/?$/.exec(c.req.path)?.[1] ?? ''
    const check = await checkEmbed(d, c.req.query('token'), {
      panel: decodeURIComponentSafe(panel),
      region: c.req.query('region'),
    })
    if (check.ok) {
      allowFraming(c, check.principal.embed.origins)
      c.set('principal', check.principal)
      return next()
    }
    allowFraming(c, check.principal ? check.principal.embed.origins : ['*'])
    c.header('cache-control', 'no-store')
    return c.html(
      refusalPage(check.why, c.req.query('lang') === 'en' ? 'en' : 'zh'),
      EMBED_REFUSALS[check.why].status,
    )
  }
}

const decodeURIComponentSafe = (s: string): string => {
  try {
    return decodeURIComponent(s)
  } catch {
    return s
  }
}

/**
 * For a JSON route a public embed may read: an embed token (`Authorization: Bearer` or `?token=` on
 * a read) that names `panel`, of the asked `?region=` if any; refusals are the API's JSON errors
 * (401 unauthorized, 403 forbidden, 400 invalid_query, 404 not_found). Sets the `public` principal.
 */
export function requireEmbed(
  d: { tokens: TokenService; city: CityIndex },
  panel: EmbedPanel | ((c: Context<AppEnv>) => string),
): MiddlewareHandler<AppEnv> {
  return async function requireEmbed(c, next) {
    const asked = { panel: typeof panel === 'function' ? panel(c) : panel, region: c.req.query('region') }
    const check = await checkEmbed(d, tokenOf(c), asked)
    if (!check.ok) {
      const r = EMBED_REFUSALS[check.why]
      const messages = { zh: r.zh, en: r.en }
      const code =
        r.status === 401
          ? 'unauthorized'
          : r.status === 403
            ? 'forbidden'
            : r.status === 400
              ? 'invalid_query'
              : 'not_found'
      throw new AppError(r.status, code, messages, { reason: check.why })
    }
    c.set('principal', check.principal)
    await next()
  }
}
