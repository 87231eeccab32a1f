/**
 * Embed tokens across processes (issue 13): two `server/main.ts` processes on one PostgreSQL schema
 * and Redis (the real servers, as `cluster.test.ts`). An embed token minted through one is listed,
 * with its claims, and honoured by the other; revoked through the first, the other refuses its page
 * and drops its open socket within seconds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { EmbedTokenEntry, EmbedTokenMinted } from '../../shared/embed.ts'
import { dropPgSchema } from '../../server/store/pg-store.ts'
import { PG_URL, REDIS_URL, newSchema, spawnProc, type Proc } from './cluster-helpers.ts'
import { ADMIN_TOKEN, call, httpRequester } from './helpers.ts'
import { connectOutcome, liveSocket, until, waitReady } from './live-helpers.ts'

const PORTAL = 'https://portal.example.gov.cn'
const schema = newSchema('embed_cluster')
const procs: Proc[] = []

beforeAll(async () => {
  const started = await Promise.all([
    spawnProc({ DATABASE_SCHEMA: schema, REDIS_URL }),
    spawnProc({ DATABASE_SCHEMA: schema, REDIS_URL }),
  ])
  procs.push(...started)
  await Promise.all(started.map((p) => waitReady(p.base, p.server, 120_000)))
}, 180_000)

afterAll(async () => {
  await Promise.all(procs.map((p) => p.server.kill('SIGKILL')))
  await dropPgSchema(PG_URL, schema)
})

describe('embed tokens on two processes', () => {
  it('are honoured everywhere, and a revocation on one reaches the pages and sockets of the other within seconds', async () => {
    const [first, second] = procs as [Proc, Proc]
    const minted = await call<EmbedTokenMinted>(httpRequester(first.base), '/api/v1/embed-tokens', {
      token: ADMIN_TOKEN,
      body: { panels: ['kpis'], region: '430602001', origins: [PORTAL], ttl: '1h' },
    })
    expect(minted.status).toBe(201)
    const { token, id, url } = minted.body
    const listed = await call<{ tokens: EmbedTokenEntry[] }>(
      httpRequester(second.base),
      '/api/v1/embed-tokens',
      {
        token: ADMIN_TOKEN,
      },
    )
    expect(listed.body.tokens.find((t) => t.id === id)).toMatchObject({ panels: ['kpis'], origins: [PORTAL] })
    const before = await fetch(second.base + url)
    expect(before.headers.get('content-security-policy')).toContain(`frame-ancestors ${PORTAL}`)
    expect([200, 503]).toContain(before.status)

    const socket = liveSocket(second.base, { token })
    try {
      expect((await connectOutcome(socket)).ok).toBe(true)
      expect(await socket.subscribe('430602001')).toMatchObject({ ok: true })
      const r = await call(httpRequester(first.base), `/api/v1/embed-tokens/${id}`, {
        token: ADMIN_TOKEN,
        method: 'DELETE',
      })
      expect(r.status).toBe(200)
      const revokedAt = Date.now()
      await until(() => socket.disconnects.length > 0, 'the second dropping the embed socket', 10_000)
      expect(Date.now() - revokedAt).toBeLessThan(5000)
      await until(
        async () => (await fetch(second.base + url)).status === 401,
        'the second refusing the embed page',
        5000,
        100,
      )
    } finally {
      socket.close()
    }
  })
})
