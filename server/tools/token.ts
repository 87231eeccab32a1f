/**
 * `npm run token -- list | revoke <jti> [--admin <token>]`: list the issued tokens that have not
 * expired, or revoke one by its id, over HTTP against the running server (PUBLIC_URL, else
 * http://localhost:$PORT), as the admin of ADMIN_TOKEN or `--admin`. The server lists claims only,
 * never a token itself. Revoking here drops the live sockets that hold the token, as the API does.
 */
import { parseArgs } from 'node:util'
import type { IssuedTokenEntry } from '../../shared/schemas.ts'
import { adminToken, api, CliError, formatTable, runCli, serverBase } from './admin-client.ts'

const USAGE = [
  '用法 usage: npm run token -- list | revoke <jti> [--admin <token>]',
  '  list           列出未过期的令牌 list the tokens that have not expired',
  '  revoke <jti>   按编号吊销令牌 revoke a token by its id',
  '  --admin <t>    管理员令牌（默认取 ADMIN_TOKEN）admin token (default: ADMIN_TOKEN)',
].join('\n')

const ROLE_NAMES: Readonly<Record<string, string>> = {
  admin: '管理员',
  officer: '指挥员',
  leader: '领导',
  ingest: '数据源',
  public: '公开',
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
  const admin = adminToken(parsed.values.admin)
  const base = serverBase()
  if (command === 'list') {
    const { tokens } = await api<{ tokens: IssuedTokenEntry[] }>(base, admin, '/api/v1/tokens')
    console.log(tokens.length ? tokenTable(tokens) : '没有未过期的令牌 no tokens that have not expired')
  } else {
    await api(base, admin, '/api/v1/tokens/revoke', { jti })
    console.log(`已吊销令牌 revoked token ${jti}`)
  }
}

runCli(main)
