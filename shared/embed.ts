/**
 * Portal embeds (DESIGN.md §3, `/embed/{panel}`): the panels a portal may frame, the two kinds of
 * embed token, their lifetimes, the host origins they name, and the one rule of what a token lets a
 * page show. Pure: the server's page gate, the live handshake and the web client import it alike.
 */
import { isWithin } from './regions.ts'

/** The panels a portal may frame, each a page `/embed/<panel>`. */
export const EMBED_PANELS = ['kpis', 'map', 'trend', 'ranking', 'satisfaction'] as const
export type EmbedPanel = (typeof EMBED_PANELS)[number]

export const isEmbedPanel = (s: unknown): s is EmbedPanel =>
  typeof s === 'string' && (EMBED_PANELS as readonly string[]).includes(s)

/**
 * The kinds of embed token: `key`, long-lived and revocable, pasted into a portal's static page;
 * `signed`, a short-lived signed URL a portal's back end mints for each page it serves.
 */
export const EMBED_KINDS = ['key', 'signed'] as const
export type EmbedKind = (typeof EMBED_KINDS)[number]

export const isEmbedKind = (s: unknown): s is EmbedKind =>
  typeof s === 'string' && (EMBED_KINDS as readonly string[]).includes(s)

/** The longest lifetime of each kind of embed token, in seconds: a year for a key, a day for a signed URL. */
export const EMBED_TTL_CAP_SECONDS: Readonly<Record<EmbedKind, number>> = {
  key: 365 * 86_400,
  signed: 24 * 3_600,
}

/** How many host origins one embed token may name. */
export const MAX_EMBED_ORIGINS = 20

/** What an embed token says beyond its role and region (its JWT claims). */
export interface EmbedClaims {
  kind: EmbedKind
  /** The panels it may show, at least one, without duplicates. */
  panels: EmbedPanel[]
  /** The exact origins of the pages that may frame it (`frame-ancestors`), at least one. */
  origins: string[]
}

export type ParsedOrigin = { ok: true; origin: string } | { ok: false; reason: string }

const DEFAULT_PORT: Readonly<Record<string, string>> = { http: '80', https: '443' }
/** A DNS name (letters, digits, hyphens; IDNs in their xn-- form) or a dotted IPv4 address. */
const HOST_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/

/**
 * Parse an exact web origin as a browser sends it: `http` or `https`, a host, an optional port;
 * no path (not even `/`), query, fragment, user name or wildcard. Normalised as browsers serialise
 * an Origin: lower case, the scheme's default port dropped.
 */
export function parseOrigin(input: string): ParsedOrigin {
  const s = input.trim()
  const bad = (why: string): ParsedOrigin => ({ ok: false, reason: `'${s.slice(0, 80)}' ${why}` })
  if (s.includes('*')) return bad('has a wildcard: name each origin exactly')
  const m = /^([A-Za-z]+):\/\/([^/?#:@\s]+)(?::(\d{1,5}))?$/.exec(s)
  if (!m) {
    if (/^[A-Za-z]+:\/\/[^/]+\/.*$/.test(s))
      return bad('has a path: an origin is scheme://host[:port] only, without even a trailing /')
    return bad('is not an origin like https://portal.example.gov.cn')
  }
  const scheme = m[1]!.toLowerCase()
  const host = m[2]!.toLowerCase()
  if (!(scheme in DEFAULT_PORT)) return bad('is not http or https')
  const labels = host.split('.')
  if (!labels.every((l) => HOST_LABEL.test(l))) return bad('has an invalid host name')
  if (/^\d+$/.test(labels[labels.length - 1]!) && !(labels.length === 4 && labels.every(isOctet)))
    return bad('has an invalid IPv4 address')
  const port = m[3]
  if (port !== undefined && !(Number(port) >= 1 && Number(port) <= 65_535)) return bad('has an invalid port')
  const keepPort = port !== undefined && String(Number(port)) !== DEFAULT_PORT[scheme]
  return { ok: true, origin: `${scheme}://${host}${keepPort ? `:${Number(port)}` : ''}` }
}

const isOctet = (l: string): boolean => /^\d{1,3}$/.test(l) && Number(l) <= 255

/** Why an embed token may not show `panel` of `region` (the page's `?region=`), or null when it may. */
export function embedRefusal(
  token: { region: string; embed: Pick<EmbedClaims, 'panels'> },
  asked: { panel: EmbedPanel; region?: string },
): 'panel' | 'region' | null {
  if (!token.embed.panels.includes(asked.panel)) return 'panel'
  if (asked.region !== undefined && !isWithin(asked.region, token.region)) return 'region'
  return null
}

/** The page of an embed token for `panel`, relative to the server: `/embed/<panel>?token=…`. */
export const embedPath = (panel: EmbedPanel, token: string): string =>
  `/embed/${panel}?token=${encodeURIComponent(token)}`

/** `POST /api/v1/embed-tokens` → 201 (DESIGN.md §3: `{token, url}`, extended). */
export interface EmbedTokenMinted {
  token: string
  /** The first panel's page, relative to the server. */
  url: string
  /** Every panel's page. */
  urls: Partial<Record<EmbedPanel, string>>
  /** The token's id (its jti): `DELETE /api/v1/embed-tokens/{id}` revokes it. */
  id: string
  kind: EmbedKind
  panels: EmbedPanel[]
  region: string
  origins: string[]
  /** ISO 8601 with the city's offset. */
  issuedAt: string
  expiresAt: string
}

/** One row of `GET /api/v1/embed-tokens`: never the token itself. */
export interface EmbedTokenEntry {
  id: string
  kind: EmbedKind
  panels: EmbedPanel[]
  region: string
  origins: string[]
  issuedAt: string
  expiresAt: string
  revoked: boolean
}
