/**
 * The wall's extensions of the HTTP contract through `app.request()` (no port): whoami, GeoJSON of
 * every unit of a level, today's mix and hourly activity (recounted from /api/v1/events), facilities
 * with service-circle coverage, and the built client's pages and assets.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import distance from '@turf/distance'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CATEGORY_BY_CODE } from '../../shared/categories.ts'
import type { CityFile, Facility } from '../../shared/city.ts'
import { buildServiceCircles, FACILITY_KINDS } from '../../server/city/service-circles.ts'
import { DEFAULT_DIST_DIR, staticRoutes } from '../../server/http/routes/static.ts'
import type { System } from '../../server/system.ts'
import {
  ADMIN_TOKEN,
  allEvents,
  call,
  createTestSystem,
  FIXED_NOW,
  isoQ,
  mintToken,
  ms,
  tempDir,
  type ApiEvent,
  type ErrorBody,
} from './helpers.ts'

const DISTRICT = '430602'
const STREET = '430602001'
const OTHER_STREET = '430602002'
const HOUR = 3_600_000
const CJK = /[\u4e00-\u9fff]/
const ROOT = fileURLToPath(new URL('../..', import.meta.url))

interface Feature {
  type: string
  id: string
  properties: Record<string, unknown> & { code: string; level: string }
  geometry: { type: string; coordinates: unknown }
}
interface Geo {
  type: string
  features: Feature[]
}
interface Stats {
  region: string
  seq: number
  now: string
  dayStart: string
  byCategory: { code: string; group: string; zh: string; en: string; count: number }[]
  byGroup: { code: string; zh: string; en: string; count: number }[]
  hourly: { hour: string; reported: number; handled: number; closed: number }[]
}
interface Facilities {
  region: string
  facilities: { id: string; kind: string; name: string; lng: number; lat: number; gridCode: string }[]
  coverage: { kind: string; zh: string; en: string; grids: number; covered: number; rate: number | null }[]
}

let system: System
let cleanup: () => Promise<void>
let officer: string
let leader: string
let publicToken: string
let ingest: string
let scoped: string

beforeAll(async () => {
  // The pages serve the built client; build it once if this checkout has not.
  if (!existsSync(join(DEFAULT_DIST_DIR, 'index.html')))
    execFileSync('npx', ['vite', 'build', '--logLevel', 'error'], { cwd: ROOT, stdio: 'inherit' })
  const t = await createTestSystem()
  system = t.system
  cleanup = t.cleanup
  await system.startSimulation()
  officer = await mintToken(system.app, 'officer')
  leader = await mintToken(system.app, 'leader')
  publicToken = await mintToken(system.app, 'public')
  ingest = await mintToken(system.app, 'ingest')
  scoped = await mintToken(system.app, 'officer', { region: STREET })
})
afterAll(async () => {
  await cleanup?.()
})

const lastSeq = async (): Promise<number> => (await call<{ seq: number }>(system.app, '/readyz')).body.seq
const stats = (query: string, token = officer) =>
  call<Stats & ErrorBody>(system.app, `/api/v1/stats?${query}`, { token })

describe('whoami', () => {
  it('tells any valid token its role, scope and expiry', async () => {
    const before = Date.now()
    const r = await call<{ role: string; region: string | null; expiresAt: string | null }>(
      system.app,
      '/api/v1/whoami',
      { token: scoped },
    )
    expect(r.status).toBe(200)
    expect(r.headers.get('cache-control')).toBe('private, no-store')
    expect(r.body).toMatchObject({ role: 'officer', region: STREET })
    expect(r.body.expiresAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+08:00$/)
    // Minted with a ttl of 1h (tokens run on real time, not the test clock).
    expect(Math.abs(ms(r.body.expiresAt)! - (before + HOUR))).toBeLessThan(120_000)
    for (const [token, role] of [
      [publicToken, 'public'],
      [ingest, 'ingest'],
      [leader, 'leader'],
    ] as const) {
      const w = await call<{ role: string; region: string | null }>(system.app, '/api/v1/whoami', { token })
      expect(w.body).toMatchObject({ role, region: null })
    }
    const admin = await call(system.app, '/api/v1/whoami', { token: ADMIN_TOKEN })
    expect(admin.body).toMatchObject({ role: 'admin', region: null, expiresAt: null, district: '430602' })
    const clockInfo = admin.body as { timeZone: string; now: string; clockSpeed: number }
    expect(clockInfo.timeZone).toBe('Asia/Shanghai')
    expect(clockInfo.clockSpeed).toBe(1)
    // The product's clock: the test system runs on a fixed clock, which whoami reports.
    expect(ms(clockInfo.now)).toBe(system.clock.now())
  })

  it('answers 401 without a valid token, in Chinese or English', async () => {
    const none = await call<ErrorBody>(system.app, '/api/v1/whoami')
    expect(none.status).toBe(401)
    expect(none.body.error.code).toBe('unauthorized')
    expect(none.body.error.message).toMatch(CJK)
    const bad = await call<ErrorBody>(system.app, '/api/v1/whoami?lang=en', { token: 'garbage-token-xyz' })
    expect(bad.status).toBe(401)
    expect(bad.body.error.message).toMatch(/token/)
    expect(bad.body.error.message).not.toMatch(CJK)
  })
})

describe('GeoJSON of every unit of a level', () => {
  const geo = (code: string, query = '', token = publicToken) =>
    call<Geo & ErrorBody>(system.app, `/api/v1/regions/${code}/geo${query}`, { token })

  it('gives all 652 grids, 181 communities or 25 streets of the district, shaped like the children GeoJSON', async () => {
    const children = await geo(DISTRICT)
    const sample = children.body.features[0]!
    for (const [level, n] of [
      ['grid', 652],
      ['community', 181],
      ['street', 25],
    ] as const) {
      const r = await geo(DISTRICT, `?level=${level}`)
      expect(r.status).toBe(200)
      // Filtered by the token's scope, so only the token's own browser may keep it.
      expect(r.headers.get('cache-control')).toBe('private, max-age=3600')
      expect(r.body.type).toBe('FeatureCollection')
      expect(r.body.features).toHaveLength(n)
      const codes = r.body.features.map((f) => f.id)
      expect(new Set(codes).size).toBe(n)
      for (const f of r.body.features) {
        expect(f.type).toBe('Feature')
        expect(f.properties.code).toBe(f.id)
        expect(f.properties.level).toBe(level)
        expect(f.id.startsWith(DISTRICT)).toBe(true)
        expect(Object.keys(f.properties).sort()).toEqual(Object.keys(sample.properties).sort())
        expect(f.geometry.type).toBe('MultiPolygon')
      }
    }
    // The street level of a district is its children, feature for feature.
    expect((await geo(DISTRICT, '?level=street')).body).toEqual(children.body)
  })

  it('limits the units to the region and keeps the children GeoJSON without a level', async () => {
    const grids = await geo(STREET, '?level=grid')
    const expected = system.city.gridsOf(STREET).map((g) => g.code)
    expect(grids.body.features.map((f) => f.id).sort()).toEqual(expected.sort())
    const plain = await geo(STREET)
    expect(plain.status).toBe(200)
    expect(plain.body.features.map((f) => f.properties.level)).toEqual(
      system.city.children(STREET).map(() => 'community'),
    )
  })

  it('answers a level not below the region with 400 invalid_query', async () => {
    const community = system.city.children(STREET)[0]!.code
    const grid = system.city.gridsOf(STREET)[0]!.code
    for (const [code, level] of [
      [STREET, 'street'],
      [community, 'street'],
      [community, 'community'],
      [grid, 'grid'],
      [DISTRICT, 'district'],
      [DISTRICT, 'building'],
      [DISTRICT, ''],
    ]) {
      const r = await geo(code!, `?level=${level}`)
      expect(r.status, `${code} ${level}`).toBe(400)
      expect(r.body.error.code).toBe('invalid_query')
      expect(r.body.error.message).toMatch(CJK)
    }
    const en = await geo(STREET, '?level=street&lang=en')
    expect(en.body.error.message).toMatch(/level street does not lie below region 430602001/)
  })

  it('checks the token, the region and the scope before answering', async () => {
    expect((await geo(DISTRICT, '?level=grid', '')).status).toBe(401)
    expect((await geo('430602999', '?level=grid')).status).toBe(404)
    expect((await geo('12345', '?level=grid')).status).toBe(400)
    expect((await geo(OTHER_STREET, '?level=grid', scoped)).status).toBe(403)
    expect((await geo(DISTRICT, '?level=grid', scoped)).status).toBe(403)
    expect((await geo(STREET, '?level=grid', scoped)).status).toBe(200)
  })
})

describe('stats: today’s mix and the hourly activity', () => {
  /** Events of a region per category, recounted from /api/v1/events reported since the local day began. */
  const recount = async (region: string, dayStart: number): Promise<Map<string, number>> => {
    const events = await allEvents(system.app, officer, `region=${region}&from=${isoQ(dayStart)}`)
    const counts = new Map<string, number>()
    for (const e of events) counts.set(e.category, (counts.get(e.category) ?? 0) + 1)
    return counts
  }

  it('counts today’s events per category and group exactly as /api/v1/events lists them', async () => {
    for (const region of [DISTRICT, STREET]) {
      const r = await stats(`region=${region}`)
      expect(r.status).toBe(200)
      expect(r.body.region).toBe(region)
      expect(r.body.seq).toBe(await lastSeq())
      expect(ms(r.body.now)).toBe(FIXED_NOW)
      expect(r.body.dayStart).toBe('2026-11-25T00:00:00.000+08:00')
      const expected = await recount(region, ms(r.body.dayStart)!)
      expect(expected.size).toBeGreaterThan(0)
      expect(new Map(r.body.byCategory.map((c) => [c.code, c.count]))).toEqual(expected)
      for (const c of r.body.byCategory) {
        const k = CATEGORY_BY_CODE.get(c.code)!
        expect(c).toMatchObject({ group: k.group.code, zh: k.zh, en: k.en })
        expect(c.count).toBeGreaterThan(0)
      }
      const counts = r.body.byCategory.map((c) => c.count)
      expect(counts).toEqual([...counts].sort((a, b) => b - a))
      const groups = new Map<string, number>()
      for (const c of r.body.byCategory) groups.set(c.group, (groups.get(c.group) ?? 0) + c.count)
      expect(new Map(r.body.byGroup.map((g) => [g.code, g.count]))).toEqual(groups)
      expect(r.body.byGroup.map((g) => g.count)).toEqual(
        [...r.body.byGroup.map((g) => g.count)].sort((a, b) => b - a),
      )
      for (const g of r.body.byGroup) expect(g.zh).toMatch(CJK)
    }
  })

  it('buckets reports, handlings and closings of the last whole local hours, the current one last', async () => {
    const r = await stats(`region=${DISTRICT}`)
    expect(r.body.hourly).toHaveLength(24)
    const starts = r.body.hourly.map((h) => ms(h.hour)!)
    expect(r.body.hourly.at(-1)!.hour).toBe('2026-11-25T15:00:00.000+08:00')
    for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!).toBe(HOUR)
    // Recount from every event of the district (handled or closed events may be reported days before).
    const events: ApiEvent[] = await allEvents(system.app, officer, `region=${DISTRICT}`)
    const from = starts[0]!
    const bucket = (iso: string | null): number | null => {
      const t = ms(iso)
      if (t === null || t < from || t >= from + 24 * HOUR) return null
      return Math.floor((t - from) / HOUR)
    }
    const want = starts.map(() => ({ reported: 0, handled: 0, closed: 0 }))
    for (const e of events) {
      const [a, b, c] = [bucket(e.reportedAt), bucket(e.handledAt), bucket(e.closedAt)]
      if (a !== null) want[a]!.reported++
      if (b !== null) want[b]!.handled++
      if (c !== null) want[c]!.closed++
    }
    expect(r.body.hourly.map(({ reported, handled, closed }) => ({ reported, handled, closed }))).toEqual(
      want,
    )
    const sum = (k: 'reported' | 'handled' | 'closed') => r.body.hourly.reduce((s, h) => s + h[k], 0)
    expect(sum('reported')).toBeGreaterThan(0)
    expect(sum('handled')).toBeGreaterThan(0)
    expect(sum('closed')).toBeGreaterThan(0)
    // Today's hours (00:00–15:59) hold exactly today's reports.
    const today = r.body.hourly.filter((h) => ms(h.hour)! >= ms(r.body.dayStart)!)
    expect(today).toHaveLength(16)
    expect(today.reduce((s, h) => s + h.reported, 0)).toBe(r.body.byCategory.reduce((s, c) => s + c.count, 0))
  })

  it('takes 1 to 72 hours and streets sum to the district', async () => {
    const five = await stats(`region=${DISTRICT}&hours=5`)
    const full = await stats(`region=${DISTRICT}&hours=72`)
    expect(five.body.hourly).toEqual(full.body.hourly.slice(-5))
    expect(full.body.hourly).toHaveLength(72)
    const streets = await Promise.all(
      system.city.children(DISTRICT).map((s) => stats(`region=${s.code}&hours=5`)),
    )
    for (const k of ['reported', 'handled', 'closed'] as const)
      for (let i = 0; i < 5; i++)
        expect(streets.reduce((s, x) => s + x.body.hourly[i]![k], 0)).toBe(five.body.hourly[i]![k])
  })

  it('moves with a new report and an on-the-spot fix in the current hour', async () => {
    const before = (await stats(`region=${STREET}&hours=2`)).body
    const grid = system.city.gridsOf(STREET).find((g) => system.city.inGrid(g.code, ...g.centroid))!
    const created = await call<ApiEvent>(system.app, '/api/v1/events', {
      token: officer,
      body: {
        category: 'CG0101',
        description: '暴露垃圾',
        lng: grid.centroid[0],
        lat: grid.centroid[1],
        source: 'patrol',
      },
    })
    expect(created.status).toBe(201)
    const fixed = await call<ApiEvent>(system.app, `/api/v1/events/${created.body.id}/actions`, {
      token: officer,
      body: { action: 'self_handle' },
    })
    expect(fixed.body.status).toBe('closed')
    const after = (await stats(`region=${STREET}&hours=2`)).body
    expect(after.seq).toBe(before.seq + 2)
    const count = (s: Stats) => s.byCategory.find((c) => c.code === 'CG0101')?.count ?? 0
    expect(count(after)).toBe(count(before) + 1)
    expect(after.hourly[0]).toEqual(before.hourly[0])
    expect(after.hourly[1]).toEqual({
      ...before.hourly[1]!,
      reported: before.hourly[1]!.reported + 1,
      handled: before.hourly[1]!.handled + 1,
      closed: before.hourly[1]!.closed + 1,
    })
  })

  it('defaults to the token’s scope, else the district, for every role', async () => {
    expect((await stats('', scoped)).body.region).toBe(STREET)
    expect((await stats('', publicToken)).body.region).toBe(DISTRICT)
    expect((await stats('', leader)).status).toBe(200)
    expect((await stats('', ingest)).status).toBe(200)
  })

  it('refuses bad queries, unknown regions, foreign scopes and missing tokens', async () => {
    for (const q of ['hours=0', 'hours=73', 'hours=abc', 'hours=1.5', 'region=12345', 'region=abc']) {
      const r = await stats(q)
      expect(r.status, q).toBe(400)
      expect(r.body.error.code).toBe('invalid_query')
    }
    expect((await stats('region=430602999')).status).toBe(404)
    expect((await stats(`region=${OTHER_STREET}`, scoped)).body.error.code).toBe('forbidden')
    expect((await stats(`region=${DISTRICT}`, scoped)).status).toBe(403)
    expect((await stats('', '')).status).toBe(401)
    const en = await stats('hours=0&lang=en')
    expect(en.body.error.message).toBe('invalid query parameters')
  })
})

describe('facilities and the one-kilometre service circles', () => {
  const facilities = (query: string, token = publicToken) =>
    call<Facilities & ErrorBody>(system.app, `/api/v1/facilities?${query}`, { token })

  it('lists the region’s facilities and the coverage of each of the six kinds', async () => {
    const r = await facilities(`region=${DISTRICT}`)
    expect(r.status).toBe(200)
    expect(r.body.region).toBe(DISTRICT)
    expect(r.body.facilities).toHaveLength(system.city.facilities().length)
    expect(r.body.coverage.map((k) => k.kind)).toEqual([
      'school',
      'clinic',
      'police',
      'service_centre',
      'fitness',
      'warm_station',
    ])
    expect(r.body.coverage.map((k) => k.zh)).toEqual([
      '学校',
      '医疗卫生',
      '社区警务',
      '政务服务',
      '健身休闲',
      '暖心驿站',
    ])
    for (const k of r.body.coverage) {
      expect(k.grids).toBe(652)
      expect(k.covered).toBeGreaterThan(0)
      expect(k.rate).toBe(k.covered / k.grids)
      expect(k.rate).toBeGreaterThanOrEqual(0)
      expect(k.rate).toBeLessThanOrEqual(1)
    }
    const f = r.body.facilities[0]!
    expect(Object.keys(f).sort()).toEqual(['gridCode', 'id', 'kind', 'lat', 'lng', 'name'])
  })

  it('limits facilities to the region, and the streets’ coverage sums to the district’s', async () => {
    const district = (await facilities(`region=${DISTRICT}`)).body
    const covered = new Array<number>(6).fill(0)
    let listed = 0
    for (const s of system.city.children(DISTRICT)) {
      const r = (await facilities(`region=${s.code}`)).body
      listed += r.facilities.length
      for (const f of r.facilities) expect(f.gridCode.startsWith(s.code)).toBe(true)
      r.coverage.forEach((k, i) => {
        expect(k.grids).toBe(system.city.gridsOf(s.code).length)
        covered[i]! += k.covered
      })
    }
    expect(listed).toBe(district.facilities.length)
    expect(covered).toEqual(district.coverage.map((k) => k.covered))
  })

  it('defaults to the token’s scope and refuses what it must', async () => {
    expect((await facilities('', scoped)).body.region).toBe(STREET)
    expect((await facilities(`region=${OTHER_STREET}`, scoped)).status).toBe(403)
    expect((await facilities('region=430602999')).status).toBe(404)
    expect((await facilities('region=x')).status).toBe(400)
    expect((await facilities('', '')).status).toBe(401)
  })

  it('counts a grid whose centroid is at a facility or within 1 km of one, and not one farther', () => {
    const file = system.city.file
    const grid = file.grids[100]!
    const [lng, lat] = grid.centroid
    const school = (id: string, dLatKm: number): Facility => ({
      id,
      kind: 'school',
      name: id,
      lng,
      lat: lat + dLatKm / 111.195,
      communityCode: grid.parentCode,
      gridCode: grid.code,
    })
    const only = (fs: Facility[]): CityFile => ({ ...file, facilities: fs })
    const schoolsOf = (fs: Facility[], code = grid.code) =>
      buildServiceCircles(only(fs))
        .coverage([code])
        .find((k) => k.kind === 'school')!

    expect(schoolsOf([school('AT', 0)])).toMatchObject({ grids: 1, covered: 1, rate: 1 })
    const near = school('NEAR', 0.99)
    expect(distance(grid.centroid, [near.lng, near.lat])).toBeLessThan(1)
    expect(schoolsOf([near]).covered).toBe(1)
    const far = school('FAR', 1.05)
    expect(distance(grid.centroid, [far.lng, far.lat])).toBeGreaterThan(1)
    expect(schoolsOf([far]).covered).toBe(0)
    expect(schoolsOf([]).rate).toBe(0)
    // Other kinds are untouched by a school.
    const circles = buildServiceCircles(only([school('AT', 0)]))
    expect([...circles.kindsAt(grid.code)]).toEqual(['school'])
    expect(circles.coverage([]).every((k) => k.rate === null)).toBe(true)
    expect(FACILITY_KINDS).toHaveLength(6)
  })
})

describe('pages and assets of the built client', () => {
  it('serves the client shell on /wall and /brief without a token, never cached; the embed demo to an admin', async () => {
    // The embed demo mints a token for its iframes: an admin's page, not the client's shell.
    expect((await system.app.request('/embed')).status).toBe(401)
    const shell = readFileSync(join(DEFAULT_DIST_DIR, 'index.html'), 'utf8')
    for (const path of ['/wall', '/brief', '/wall?token=x&lang=en']) {
      const r = await system.app.request(path)
      expect(r.status, path).toBe(200)
      expect(r.headers.get('content-type')).toMatch(/^text\/html/)
      // A page URL with a token is for that token: no shared cache keeps it.
      expect(r.headers.get('cache-control')).toBe(path.includes('token=') ? 'private, no-cache' : 'no-cache')
      expect(await r.text()).toBe(shell)
    }
  })

  it('serves an embed panel’s shell (the embeds’ own entry when built) only for an embed token of it', async () => {
    const own = join(DEFAULT_DIST_DIR, 'embed.html')
    const shell = readFileSync(existsSync(own) ? own : join(DEFAULT_DIST_DIR, 'index.html'), 'utf8')
    const { token } = await system.tokens.mint({
      role: 'public',
      kind: 'embed',
      region: '430602',
      ttlSeconds: 3600,
      embed: { kind: 'key', panels: ['kpis'], origins: ['https://portal.example.gov.cn'] },
    })
    const r = await system.app.request(`/embed/kpis?token=${token}`)
    expect(r.status).toBe(200)
    expect(r.headers.get('cache-control')).toBe('private, no-cache')
    expect(await r.text()).toBe(shell)
    expect((await system.app.request('/embed/kpis')).status).toBe(401)
  })

  it('serves hashed assets with a year-long immutable cache and 404s the rest', async () => {
    const shell = readFileSync(join(DEFAULT_DIST_DIR, 'index.html'), 'utf8')
    const asset = /(?:src|href)="(\/assets\/[^"]+)"/.exec(shell)?.[1]
    expect(asset).toBeDefined()
    const r = await system.app.request(asset!)
    expect(r.status).toBe(200)
    expect(r.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    expect((await r.arrayBuffer()).byteLength).toBeGreaterThan(0)
    for (const path of [
      '/assets/missing.js',
      '/assets/..%2f..%2fpackage.json',
      '/assets/%2e%2e/index.html',
    ]) {
      const miss = await system.app.request(path)
      expect(miss.status, path).toBe(404)
      expect(miss.headers.get('cache-control')).toBeNull()
    }
  })

  it('answers 503 with a bilingual page telling to build when the client is missing', async () => {
    const dir = tempDir('dist')
    try {
      // The embed gate is the embeds' tests' concern: here it lets every request through.
      const app = staticRoutes({ distDir: join(dir.path, 'web'), embedGate: (_c, next) => next() })
      const r = await app.request('/wall')
      expect(r.status).toBe(503)
      expect(r.headers.get('content-type')).toMatch(/^text\/html/)
      const text = await r.text()
      expect(text).toContain('npm run build')
      expect(text).toMatch(CJK)
      expect(text).toMatch(/has not been built/)
      // Built afterwards: served at once, no restart.
      mkdirSync(join(dir.path, 'web', 'assets'), { recursive: true })
      writeFileSync(join(dir.path, 'web', 'index.html'), '<!doctype html><p>shell</p>')
      writeFileSync(join(dir.path, 'web', 'embed.html'), '<!doctype html><p>embed shell</p>')
      writeFileSync(join(dir.path, 'web', 'assets', 'a-1.js'), 'export {}')
      expect(await (await app.request('/embed')).text()).toBe('<!doctype html><p>shell</p>')
      expect(await (await app.request('/embed/map')).text()).toBe('<!doctype html><p>embed shell</p>')
      // Without a gate no embed panel is served at all.
      expect((await staticRoutes({ distDir: join(dir.path, 'web') }).request('/embed/map')).status).toBe(404)
      expect((await app.request('/assets/a-1.js')).headers.get('content-type')).toMatch(/javascript/)
    } finally {
      dir.remove()
    }
  })
})
