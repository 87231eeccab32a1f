/**
 * `npm run embed-token -- --panel kpis --region 430602001 --origin https://portal.example.gov.cn
 * --ttl 30d [--kind key|signed]`: mint an embed token for a portal over HTTP against the running
 * server (PUBLIC_URL, else http://localhost:$PORT) as the admin of ADMIN_TOKEN or `--admin`, and
 * print it with its pages' URLs and an iframe to paste. `--panel` and `--origin` repeat or take comma
 * lists. `list` lists the embed tokens that have not expired; `revoke <id>` revokes one (its pages
 * are refused at once and its open panels are dropped within seconds).
 */
import { parseArgs } from 'node:util'
import { parseTtl } from '../../shared/duration.ts'
import {
  EMBED_KINDS,
  EMBED_PANELS,
  EMBED_TTL_CAP_SECONDS,
  isEmbedKind,
  isEmbedPanel,
  parseOrigin,
  type EmbedTokenEntry,
  type EmbedTokenMinted,
} from '../../shared/embed.ts'
import { parseRegionCode } from '../../shared/regions.ts'
import { adminToken, api, CliError, formatTable, runCli, serverBase } from './admin-client.ts'

const USAGE = [
  '用法 usage:',
  '  npm run embed-token -- --panel <p> --region <code> --origin <origin> --ttl <ttl> [--kind key|signed]',
  '  npm run embed-token -- list',
  '  npm run embed-token -- revoke <id>',
  `  --panel <p>      面板，可重复或逗号分隔 panel, repeatable or a comma list: ${EMBED_PANELS.join(', ')}`,
  '  --region <code>  区域编码 region code, e.g. 430602001',
  '  --origin <o>     可嵌入的门户网站来源，可重复 portal origin that may frame it, repeatable,',
  '                   e.g. https://portal.example.gov.cn (no path, no wildcard)',
  '  --ttl <ttl>      有效期 lifetime: seconds or 30m, 12h, 30d',
  `  --kind <k>       key（静态页面，最长 ${EMBED_TTL_CAP_SECONDS.key / 86_400} 天 days，默认 default）`,
  `                   | signed（后端签名链接 signed URL, at most ${EMBED_TTL_CAP_SECONDS.signed / 3_600} h）`,
  '  --admin <t>      管理员令牌（默认取 ADMIN_TOKEN）admin token (default: ADMIN_TOKEN)',
].join('\n')

const usage = (why: string) => new CliError(`${why}\n${USAGE}`, 2)

/** Repeated flags and comma lists as one list, trimmed, without blanks. */
const listOf = (values: string[] | undefined): string[] =>
  (values ?? [])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean)

/** The request body from the flags, each checked here so a mistake is told before the server is asked. */
function mintBody(v: { panel?: string[]; origin?: string[]; region?: string; ttl?: string; kind?: string }) {
  const panels = listOf(v.panel)
  if (panels.length === 0) throw usage('缺少 --panel：至少一个面板\n--panel is required: at least one panel')
  const unknown = panels.filter((p) => !isEmbedPanel(p))
  if (unknown.length)
    throw usage(`未知面板 unknown panel: ${unknown.join(', ')} (panels: ${EMBED_PANELS.join(', ')})`)
  const origins = listOf(v.origin).map((o) => {
    const p = parseOrigin(o)
    if (!p.ok) throw usage(`来源无效 invalid --origin: ${p.reason}`)
    return p.origin
  })
  if (origins.length === 0)
    throw usage('缺少 --origin：至少一个门户网站来源\n--origin is required: the portal that frames it')
  if (!v.region) throw usage('缺少 --region\n--region is required')
  const region = parseRegionCode(v.region)
  if (!region.ok) throw usage(`区域编码无效 invalid --region: ${region.reason}`)
  const kind = v.kind ?? 'key'
  if (!isEmbedKind(kind)) throw usage(`--kind 只能是 must be one of: ${EMBED_KINDS.join(', ')}`)
  if (!v.ttl) throw usage('缺少 --ttl\n--ttl is required: e.g. 30d for a key, 1h for a signed URL')
  const ttl = parseTtl(v.ttl)
  if (!ttl.ok) throw usage(`有效期无效 invalid --ttl: ${ttl.reason}`)
  if (ttl.seconds > EMBED_TTL_CAP_SECONDS[kind])
    throw usage(`--kind ${kind} 的有效期最长 may live at most ${EMBED_TTL_CAP_SECONDS[kind]} s`)
  return { panels, region: region.code, origins, ttl: ttl.seconds, kind }
}

function printMinted(base: string, m: EmbedTokenMinted): void {
  const first = base + m.url
  console.log(
    [
      `令牌 token:    ${m.token}`,
      `页面 url:      ${first}`,
      ...Object.entries(m.urls)
        .filter(([, u]) => u !== m.url)
        .map(([p, u]) => `面板 ${p}: ${base}${u}`),
      `编号 id:       ${m.id}`,
      `类型 kind:     ${m.kind}`,
      `区域 region:   ${m.region}`,
      `来源 origins:  ${m.origins.join(' ')}`,
      `到期 expires:  ${m.expiresAt}`,
      '',
      '嵌入代码 iframe:',
      `<iframe src="${first.replace(/&/g, '&amp;')}" title="城市大脑 ${m.panels[0]}" width="100%" height="320" style="border:0" loading="lazy"></iframe>`,
    ].join('\n'),
  )
}

function embedTable(tokens: EmbedTokenEntry[]): string {
  const header = [
    '编号 id',
    '类型 kind',
    '面板 panels',
    '区域 region',
    '来源 origins',
    '到期 expires',
    '状态 state',
  ]
  const rows = tokens.map((t) => [
    t.id,
    t.kind,
    t.panels.join(','),
    t.region,
    t.origins.join(' '),
    t.expiresAt,
    t.revoked ? '已吊销 revoked' : '有效 valid',
  ])
  return formatTable([header, ...rows])
}

async function main(argv: string[]): Promise<void> {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        panel: { type: 'string', multiple: true },
        origin: { type: 'string', multiple: true },
        region: { type: 'string' },
        ttl: { type: 'string' },
        kind: { type: 'string' },
        admin: { type: 'string' },
      },
    })
  } catch (err) {
    throw usage((err as Error).message)
  }
  const [command, id, ...extra] = parsed.positionals
  const v = parsed.values
  const minting = command === undefined
  if (extra.length || (command === 'list' && id) || (command === 'revoke' && !id))
    throw usage('参数有误 wrong arguments')
  if (!minting && command !== 'list' && command !== 'revoke')
    throw usage(`未知命令 unknown command: ${command}`)
  const body = minting ? mintBody(v) : null
  const admin = adminToken(v.admin)
  const base = serverBase()
  if (body) printMinted(base, await api<EmbedTokenMinted>(base, admin, '/api/v1/embed-tokens', body))
  else if (command === 'list') {
    const { tokens } = await api<{ tokens: EmbedTokenEntry[] }>(base, admin, '/api/v1/embed-tokens')
    console.log(
      tokens.length ? embedTable(tokens) : '没有未过期的嵌入令牌 no embed tokens that have not expired',
    )
  } else {
    await api(base, admin, `/api/v1/embed-tokens/${encodeURIComponent(id!)}`, undefined, 'DELETE')
    console.log(`已吊销嵌入令牌 revoked embed token ${id}`)
  }
}

runCli(main)
