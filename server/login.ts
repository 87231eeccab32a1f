/**
 * The login printed at start (officer, leader and admin tokens, as Jupyter prints its token). A
 * start reuses the last printed login while each token still verifies and has more than a day
 * left, so restarts do not pile up admin tokens; a token revoked, expiring or gone is replaced.
 */
import { BEARER_TTL_MAX_SECONDS } from '../shared/schemas.ts'
import type { Role } from '../shared/types.ts'
import type { System } from './system.ts'

/** Store meta key of the printed login. It sits beside the signing secret, which is worth more. */
const LOGIN_KEY = 'login.tokens'
/** A printed token with this little left is replaced rather than reused. */
const MIN_LEFT_MS = 86_400_000

export interface Login {
  officer: string
  leader: string
  admin: string
  /** Epoch ms: when the first of the printed tokens expires (a fixed ADMIN_TOKEN never does). */
  expiresAt: number
}

type LoginRole = 'officer' | 'leader' | 'admin'

function savedLogin(raw: string | null): Partial<Record<LoginRole, string>> {
  try {
    const v: unknown = raw ? JSON.parse(raw) : {}
    return v && typeof v === 'object' ? (v as Partial<Record<LoginRole, string>>) : {}
  } catch {
    return {}
  }
}

/**
 * The login to print: the saved tokens where still good, new ones (30 days) otherwise. With a
 * fixed `adminToken` that is the admin login, and it is never stored.
 */
export async function loginTokens(
  system: Pick<System, 'tokens' | 'store'>,
  opts: { adminToken?: string } = {},
): Promise<Login> {
  const { tokens, store } = system
  const saved = savedLogin(await store.getMeta(LOGIN_KEY))
  const roles: LoginRole[] = opts.adminToken ? ['officer', 'leader'] : ['officer', 'leader', 'admin']
  const kept: Partial<Record<LoginRole, string>> = {}
  let expiresAt = Infinity

  const reusable = async (token: string | undefined, role: Role): Promise<number | null> => {
    if (typeof token !== 'string') return null
    const v = await tokens.verify(token)
    if (!v.ok || v.principal.role !== role || v.principal.region || !v.principal.expiresAt) return null
    return v.principal.expiresAt - tokens.now() > MIN_LEFT_MS ? v.principal.expiresAt : null
  }
  for (const role of roles) {
    let until = await reusable(saved[role], role)
    if (until !== null) kept[role] = saved[role]
    else {
      const minted = await tokens.mint({ role, ttlSeconds: BEARER_TTL_MAX_SECONDS })
      kept[role] = minted.token
      until = minted.expiresAt
    }
    expiresAt = Math.min(expiresAt, until)
  }
  // A saved admin login outlives a start with a fixed ADMIN_TOKEN (it is checked again when used).
  await store.setMeta(LOGIN_KEY, JSON.stringify({ admin: saved.admin, ...kept }))
  return { officer: kept.officer!, leader: kept.leader!, admin: opts.adminToken ?? kept.admin!, expiresAt }
}
