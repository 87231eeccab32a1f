/**
 * Embed tokens (DESIGN.md §3, issue 13), admin only and within the admin's own region: mint one for
 * some panels of a region and the portals that may frame them, list them (never a token itself),
 * revoke one by its id. A revocation is the registry's (the same as a bearer token's): refused at
 * once on every route and page, and the live sockets holding it, on every process, are dropped.
 */
import { Hono } from 'hono'
import {
  EMBED_TTL_CAP_SECONDS,
  embedPath,
  type EmbedKind,
  type EmbedTokenEntry,
  type EmbedTokenMinted,
} from '../../../shared/embed.ts'
import { embedTokenRequestSchema } from '../../../shared/schemas.ts'
import { formatIsoWithOffset } from '../../../shared/working-time.ts'
import { AppError, notFound } from '../../errors.ts'
import type { AppDeps, AppEnv } from '../context.ts'
import { jsonBody, parse, requireRole } from '../middleware.ts'
import { outsideScope, withinScope } from './admin.ts'

/** A cap as people say it: "24 hours", "365 days". */
const capWords = (kind: EmbedKind): { zh: string; en: string } => {
  const s = EMBED_TTL_CAP_SECONDS[kind]
  return s % 86_400 === 0 && s > 86_400
    ? { zh: `${s / 86_400} 天`, en: `${s / 86_400} days` }
    : { zh: `${s / 3_600} 小时`, en: `${s / 3_600} hours` }
}

const KIND_NAMES: Readonly<Record<EmbedKind, { zh: string; en: string }>> = {
  key: { zh: '嵌入密钥（key）', en: 'an embed key' },
  signed: { zh: '签名链接（signed）', en: 'a signed embed URL' },
}

const ttlTooLong = (kind: EmbedKind) => {
  const cap = capWords(kind)
  return new AppError(
    400,
    'invalid_body',
    {
      zh: `${KIND_NAMES[kind].zh}的有效期最长 ${cap.zh}（${EMBED_TTL_CAP_SECONDS[kind]} 秒）`,
      en: `${KIND_NAMES[kind].en} may live at most ${cap.en} (${EMBED_TTL_CAP_SECONDS[kind]} s)`,
    },
    [{ path: 'ttl', message: `at most ${cap.en} for kind ${kind}` }],
  )
}

export function embedTokenRoutes(deps: AppDeps) {
  const admins = requireRole(deps.tokens, ['admin'])
  const iso = (ms: number) => formatIsoWithOffset(ms, deps.calendar.timeZone)

  return new Hono<AppEnv>()
    .post('/embed-tokens', admins, async (c) => {
      const body = parse(embedTokenRequestSchema, await jsonBody(c), 'invalid_body')
      if (body.ttl > EMBED_TTL_CAP_SECONDS[body.kind]) throw ttlTooLong(body.kind)
      const scope = c.get('principal').region
      if (!withinScope(scope, body.region)) throw outsideScope(scope!)
      if (!deps.city.region(body.region))
        throw notFound({ zh: `区域 ${body.region}`, en: `region ${body.region}` })
      const embed = { kind: body.kind, panels: body.panels, origins: body.origins }
      const minted = await deps.tokens.mint({
        role: 'public',
        kind: 'embed',
        ttlSeconds: body.ttl,
        region: body.region,
        embed,
      })
      const urls = Object.fromEntries(body.panels.map((p) => [p, embedPath(p, minted.token)]))
      return c.json(
        {
          token: minted.token,
          url: embedPath(body.panels[0]!, minted.token),
          urls,
          id: minted.jti,
          ...embed,
          region: body.region,
          issuedAt: iso(minted.issuedAt),
          expiresAt: iso(minted.expiresAt),
        } satisfies EmbedTokenMinted,
        201,
      )
    })
    .get('/embed-tokens', admins, async (c) => {
      const scope = c.get('principal').region
      const all = await deps.store.issuedTokens(deps.tokens.now())
      const tokens = all.flatMap((t): EmbedTokenEntry[] =>
        t.aud === 'embed' && t.embed && t.region && withinScope(scope, t.region)
          ? [
              {
                id: t.jti,
                kind: t.embed.kind,
                panels: t.embed.panels,
                region: t.region,
                origins: t.embed.origins,
                issuedAt: iso(t.issuedAt),
                expiresAt: iso(t.expiresAt),
                revoked: t.revoked,
              },
            ]
          : [],
      )
      return c.json({ tokens })
    })
    .delete('/embed-tokens/:id', admins, async (c) => {
      const id = c.req.param('id')
      const t = id.length <= 200 ? await deps.store.issuedToken(id) : null
      // A bearer token's id is not an embed token's: it is revoked through /tokens/revoke.
      if (!t || t.aud !== 'embed')
        throw notFound({ zh: `嵌入令牌 ${id.slice(0, 80)}`, en: `embed token ${id.slice(0, 80)}` })
      const scope = c.get('principal').region
      if (!withinScope(scope, t.region)) throw outsideScope(scope!)
      // Revoking twice changes nothing and answers the same.
      if (!t.revoked) await deps.tokens.revoke(t.jti, t.expiresAt)
      return c.json({ id: t.jti, revoked: true })
    })
}
