/**
 * A PostgreSQL cluster and a Redis server of a test's own, on free ports, that the test may stop and
 * start again (the shared servers on 5432 / 6379 serve every other test file running meanwhile).
 * Real binaries, never mocks: Debian's PostgreSQL (initdb / pg_ctl run as the `postgres` user, as
 * PostgreSQL refuses root) and redis-server.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, until } from './live-helpers.ts'

export interface PrivatePg {
  url: string
  port: number
  /** Fast shutdown: every connection is ended, new ones are refused until `start`. */
  stop(): Promise<void>
  start(): Promise<void>
  remove(): Promise<void>
}

const pgBin = (): string => {
  const root = '/usr/lib/postgresql'
  const version = readdirSync(root).sort((a, b) => Number(b) - Number(a))[0]
  if (!version) throw new Error('no PostgreSQL binaries under /usr/lib/postgresql')
  return join(root, version, 'bin')
}

const asPostgres = (cmd: string, args: string[]): string =>
  process.getuid?.() === 0
    ? execFileSync(
        existsSync('/usr/sbin/runuser') ? '/usr/sbin/runuser' : 'runuser',
        ['-u', 'postgres', '--', cmd, ...args],
        { encoding: 'utf8' },
      )
    : execFileSync(cmd, args, { encoding: 'utf8' })

export async function startPrivatePg(): Promise<PrivatePg> {
  const bin = pgBin()
  const dir = mkdtempSync(join(tmpdir(), 'city-brain-pg-'))
  chmodSync(dir, 0o700)
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim())
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim())
    chownSync(dir, uid, gid)
  }
  const data = join(dir, 'data')
  asPostgres(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'])
  const port = await freePort()
  const pgctl = (args: string[]) => asPostgres(join(bin, 'pg_ctl'), ['-D', data, ...args])
  const start = async () => {
    pgctl([
      '-w',
      '-l',
      join(dir, 'log'),
      '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100`,
      'start',
    ])
  }
  await start()
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    start,
    async stop() {
      pgctl(['-w', '-m', 'fast', 'stop'])
    },
    async remove() {
      if (existsSync(join(data, 'postmaster.pid'))) pgctl(['-w', '-m', 'immediate', 'stop'])
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

export interface PrivateRedis {
  url: string
  port: number
  stop(): Promise<void>
  start(): Promise<void>
  remove(): Promise<void>
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort()
  let child: ChildProcess | null = null
  const ping = async (): Promise<boolean> => {
    try {
      return execFileSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).trim() === 'PONG'
    } catch {
      return false
    }
  }
  const start = async () => {
    child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    )
    await until(ping, `redis on ${port}`, 10_000, 50)
  }
  const stop = async () => {
    const c = child
    child = null
    if (!c || c.exitCode !== null) return
    const gone = new Promise((r) => c.once('exit', r))
    c.kill('SIGKILL')
    await gone
  }
  await start()
  return { url: `redis://127.0.0.1:${port}`, port, start, stop, remove: stop }
}

export interface Nginx {
  url: string
  port: number
  stop(): Promise<void>
}

/**
 * Debian's nginx in front of `upstreams` (127.0.0.1 ports), as a deployment would put it: HTTP/1.1
 * with the WebSocket upgrade passed through, round robin over the processes (each WebSocket is one
 * connection, so clients spread over them), a process that refuses connections skipped.
 */
export async function startNginx(upstreams: number[]): Promise<Nginx> {
  const dir = mkdtempSync(join(tmpdir(), 'city-brain-nginx-'))
  const port = await freePort()
  const conf = `
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream city_brain {
${upstreams.map((p) => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=5s;`).join('\n')}
  }
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://city_brain;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_next_upstream error timeout http_502;
      proxy_connect_timeout 2s;
      proxy_read_timeout 1h;
    }
  }
}
`
  const file = join(dir, 'nginx.conf')
  writeFileSync(file, conf)
  const nginx = existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx'
  const child = spawn(nginx, ['-c', file, '-p', dir], { stdio: ['ignore', 'ignore', 'pipe'] })
  let err = ''
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()))
  await until(
    async () => {
      if (child.exitCode !== null) throw new Error(`nginx exited: ${err}`)
      return fetch(`http://127.0.0.1:${port}/healthz`).then(
        (r) => r.status === 200,
        () => false,
      )
    },
    'nginx',
    10_000,
    50,
  )
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    async stop() {
      if (child.exitCode === null) {
        const gone = new Promise((r) => child.once('exit', r))
        child.kill('SIGTERM')
        await gone
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
