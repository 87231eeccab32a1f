/**
 * What the admin tools (`npm run token`, `npm run embed-token`) share: a failure with its exit code,
 * the server they talk to (PUBLIC_URL, else http://localhost:$PORT), the admin token (`--admin`,
 * else ADMIN_TOKEN), the API over HTTP with the server's errors told plainly, and tables padded by
 * display width.
 */
import stringWidth from 'string-width'

/** A failure to report in one message, with the process's exit code (2: a usage error). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message)
  }
}

/** The running server's base URL, without a trailing slash. */
export const serverBase = (): string =>
  (process.env.PUBLIC_URL || `http://localhost:${process.env.PORT || 8080}`).replace(/\/+$/, '')

/** The admin token of `--admin`, else ADMIN_TOKEN; a usage error without either. */
export function adminToken(flag: string | undefined): string {
  const admin = flag || process.env.ADMIN_TOKEN
  if (!admin)
    throw new CliError(
      '缺少管理员令牌：请设置 ADMIN_TOKEN 或使用 --admin <token>\nno admin token: set ADMIN_TOKEN or pass --admin <token>',
      2,
    )
  return admin
}

/** Rows padded to columns by their display width (a Chinese character takes two). */
export function formatTable(rows: string[][]): string {
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

/** Call the API as the admin: GET without a body, POST with one, or `method`. */
export async function api<T>(
  base: string,
  admin: string,
  path: string,
  body?: unknown,
  method = body === undefined ? 'GET' : 'POST',
): Promise<T> {
  let res: Response
  try {
    res = await fetch(base + path, {
      method,
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
    const e = (json as { error?: { code?: string; message?: string; details?: unknown } } | null)?.error
    const details = Array.isArray(e?.details)
      ? (e.details as { path?: string; message?: string }[])
          .map((d) => `\n  ${d.path ? d.path + ': ' : ''}${d.message ?? ''}`)
          .join('')
      : ''
    throw new CliError(
      `服务器拒绝了请求 the server refused: ${res.status} ${e?.code ?? ''} ${e?.message ?? text.slice(0, 200)}${details}`,
    )
  }
  return json as T
}

/** Run a tool's `main`: a CliError is printed alone with its exit code, anything else in full. */
export function runCli(main: (argv: string[]) => Promise<void>): void {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof CliError ? err.message : err)
    process.exitCode = err instanceof CliError ? err.exitCode : 1
  })
}
