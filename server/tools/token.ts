/**
 * `npm run token -- list | revoke <jti> [--admin <token>]`: list the issued tokens that have not
 * expired, or revoke one by its id, over HTTP against the running server (PUBLIC_URL, else
 * http://localhost:$PORT), as the admin of ADMIN_TOKEN or `--admin`. The server lists claims only,
 * never a token itself. Revoking here drops the live sockets that hold the token, as the API does.
 */
import { parseArgs } from 'node:util'
import stringWidth from 'string-width'
import type { IssuedTokenEntry } from '../../shared/schemas.ts'

const USAGE = [
  '用法 usage: npm run token -- list | revoke <jti> [--admin <token>]',
  '  list           列出未过期的令牌 list the tokens that have not expired',
  '  revoke <jti>   按编号吊销令牌 revoke a token by its id',
  '  --admin <t>    管理员令牌（默认取 ADMIN_TOKEN）admin token (default: ADMIN_TOKEN)',
].join('\n')

/** A failure to report in one message, with the process's exit code (2: a usage error). */
class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message)
  }
}

const ROLE_NAMES: Readonly<Record<string, string>> = {
  admin: '管理员',
  officer: '指挥员',
  leader: '领导',
  ingest: '数据源',
  public: '公开',
}

/** Rows padded to columns by their display width (a Chinese character takes two). */
function formatTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => stringWidth(r[i] ?? ''))))
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell + ' '.repeat(widths[i]! - stringWidth(cell)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
}

function tokenTable(tokens: IssuedTokenEntry[]): string {
  const header = [
    '编号 jti',
    '角色 role',
    '区域 region',
    '类型 aud',
    '操作 actions',
    '签发 issued',
    '到期 expires',
    '状态 state',
  ]
  const rows = tokens.map((t) => [
    t.jti,
    `${ROLE_NAMES[t.role] ?? ''} ${t.role}`.trim(),
    t.region ?? '全区 all',
    t.aud,
    t.actions?.join(',') ?? '—',
    t.issuedAt,
    t.expiresAt,
    t.revoked ? '已吊销 revoked' : '有效 valid',
  ])
  return formatTable([header, ...rows])
}

async function api<T>(base: string, admin: string, path: string, body?: unknown): Promise<T> {
  let res: Response
  try {
    res = await fetch(base + path, {
      method: body === undefined ? 'GET' : 'POST',
      headers: {
        authorization: `Bearer ${admin}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(10_000),
    })
  } catch (err) {
    const why = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name
    if (why === 'TimeoutError')
      throw new CliError(`服务器 ${base} 10 秒内没有应答\nthe server at ${base} did not answer within 10 s`)
    throw new CliError(
      `无法连接服务器 ${base}（${why}）：服务器在运行吗？可用 PUBLIC_URL 或 PORT 指定地址。\n` +
        `cannot reach the server at ${base} (${why}): is it running? Set PUBLIC_URL or PORT.`,
    )
  }
  const text = await res.text()
  let json: unknown = null
  try {
    json = JSON.parse(text)
  } catch {
    // not JSON: reported below with the raw text
  }
  if (!res.ok) {
    const e = (json as { error?: { code?: string; message?: string } } | null)?.error
    throw new CliError(
      `服务器拒绝了请求 the server refused: ${res.status} ${e?.code ?? ''} ${e?.message ?? text.slice(0, 200)}`,
    )
  }
  return json as T
}

async function main(argv: string[]): Promise<void> {
  let parsed
  try {
    parsed = parseArgs({ args: argv, options: { admin: { type: 'string' } }, allowPositionals: true })
  } catch (err) {
    throw new CliError(`${(err as Error).message}\n${USAGE}`, 2)
  }
  const [command, jti, ...extra] = parsed.positionals
  const valid = (command === 'list' && !jti) || (command === 'revoke' && jti)
  if (!valid || extra.length > 0) throw new CliError(USAGE, 2)
  const admin = parsed.values.admin || process.env.ADMIN_TOKEN
  if (!admin)
    throw new CliError(
      '缺少管理员令牌：请设置 ADMIN_TOKEN 或使用 --admin <token>\nno admin token: set ADMIN_TOKEN or pass --admin <token>',
      2,
    )
  const base = (process.env.PUBLIC_URL || `http://localhost:${process.env.PORT || 8080}`).replace(/\/+$/, '')
  if (command === 'list') {
    const { tokens } = await api<{ tokens: IssuedTokenEntry[] }>(base, admin, '/api/v1/tokens')
    console.log(tokens.length ? tokenTable(tokens) : '没有未过期的令牌 no tokens that have not expired')
  } else {
    await api(base, admin, '/api/v1/tokens/revoke', { jti })
    console.log(`已吊销令牌 revoked token ${jti}`)
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(err instanceof CliError ? err.message : err)
  process.exitCode = err instanceof CliError ? err.exitCode : 1
})
