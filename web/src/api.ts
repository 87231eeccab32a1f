/** A small fetch wrapper: bearer token, JSON, errors with the server's code. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

export function createApi(base: string, token: string, lang: 'zh' | 'en') {
  return async function api<T>(path: string): Promise<T> {
    const sep = path.includes('?') ? '&' : '?'
    const r = await fetch(`${base}${path}${lang === 'en' ? `${sep}lang=en` : ''}`, {
      headers: { authorization: `Bearer ${token}` },
    })
    const body = (await r.json().catch(() => null)) as { error?: { code: string; message: string } } | null
    if (!r.ok)
      throw new ApiError(
        r.status,
        body?.error?.code ?? 'http_' + r.status,
        body?.error?.message ?? r.statusText,
      )
    return body as T
  }
}

export type Api = ReturnType<typeof createApi>
