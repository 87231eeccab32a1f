/**
 * The built web client (`vite build` → `dist/web`): `/wall`, `/brief` and `/embed` answer its
 * `index.html` (the client routes by path and asks for a token itself), `/embed/<panel>` the embeds'
 * own `embed.html` when the build has one, `/assets/*` the hashed files. These pages need no token;
 * everything they show comes from the authenticated API and live stream. An embed panel's page is
 * served only behind the embed gate (`embedPageGate`), which checks its token first.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { serveStatic } from '@hono/node-server/serve-static'
import { Hono, type MiddlewareHandler } from 'hono'
import { html } from 'hono/html'
import type { AppEnv } from '../context.ts'

/** `dist/web` of the repository (server/http/routes → ../../..), whatever the working directory. */
export const DEFAULT_DIST_DIR = fileURLToPath(new URL('../../../dist/web', import.meta.url))

const PAGES = ['/wall', '/brief', '/embed'] as const

/** Shown when the client has not been built. Both languages: the reader may not have set one. */
const notBuilt = html`<!doctype html>
  <html lang="zh-CN">
    <head>
      <meta charset="utf-8" />
      <title>城市大脑 · 前端未构建 / City Brain · client not built</title>
    </head>
    <body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; line-height: 1.6">
      <h1>前端页面尚未构建</h1>
      <p>请在项目目录运行 <code>npm run build</code>，然后刷新本页。</p>
      <h1 lang="en">The web client has not been built</h1>
      <p lang="en">Run <code>npm run build</code> in the project directory, then reload this page.</p>
    </body>
  </html>`

/**
 * Serve the client from `distDir` (default: the repository's `dist/web`). The shell is never cached
 * so a new build reaches every wall on its next load; the hashed assets are cached for a year.
 */
export function staticRoutes(
  opts: {
    distDir?: string
    /** Runs before an embed panel's shell is served (the token check); without it, none is served. */
    embedGate?: MiddlewareHandler<AppEnv>
  } = {},
) {
  const distDir = opts.distDir ?? DEFAULT_DIST_DIR
  const indexFile = join(distDir, 'index.html')
  // Made on first use once the build exists (serveStatic complains on stderr about a missing root).
  // node-server's serveStatic joins `root` with the path, so an absolute root works.
  let served: {
    shell: MiddlewareHandler<AppEnv>
    embedShell: MiddlewareHandler<AppEnv>
    assets: MiddlewareHandler<AppEnv>
  } | null = null
  const built = () =>
    existsSync(indexFile)
      ? (served ??= {
          shell: serveStatic<AppEnv>({ root: distDir, path: 'index.html' }),
          // A build of before the embeds' own entry routes them in the main shell.
          embedShell: serveStatic<AppEnv>({
            root: distDir,
            path: existsSync(join(distDir, 'embed.html')) ? 'embed.html' : 'index.html',
          }),
          assets: serveStatic<AppEnv>({ root: distDir }),
        })
      : null

  const shellOf =
    (which: 'shell' | 'embedShell'): MiddlewareHandler<AppEnv> =>
    async (c, next) => {
      const s = built()
      if (!s) {
        c.header('cache-control', 'no-store')
        return c.html(notBuilt, 503)
      }
      c.header('cache-control', 'no-cache')
      return s[which](c, next)
    }
  const page = shellOf('shell')
  const embedPage = shellOf('embedShell')
  const refuseEmbeds: MiddlewareHandler<AppEnv> = async (c) => c.notFound()
  const assets: MiddlewareHandler<AppEnv> = async function assets(c, next) {
    const s = built()
    return s ? s.assets(c, next) : next()
  }
  /** Only a file actually served gets the long cache; a 404 must not be cached for a year. */
  const immutable: MiddlewareHandler<AppEnv> = async function immutable(c, next) {
    await next()
    if (c.res.status === 200 || c.res.status === 206)
      c.header('cache-control', 'public, max-age=31536000, immutable')
  }

  const app = new Hono<AppEnv>()
  for (const path of PAGES) app.get(path, page)
  app.get('/embed/*', opts.embedGate ?? refuseEmbeds, embedPage)
  app.get('/assets/*', immutable, assets)
  return app
}
