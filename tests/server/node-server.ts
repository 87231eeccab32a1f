/**
 * `server/main.ts` as ONE node process (tsx as a loader: `node --import tsx`), as a deployment should
 * run it. The tsx CLI (`tsx server/main.ts`, what `spawnServer` runs) relays a SIGTERM to a child of its
 * own and SIGKILLs that child unless it acknowledges the signal within about 60 ms, which a busy
 * server does not: a graceful shutdown can only be tested without that relay.
 */
import { spawn } from 'node:child_process'
import type { ChildServer } from './live-helpers.ts'

export function spawnNodeServer(env: Record<string, string>): ChildServer {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    cwd: process.cwd(),
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()))
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
  // Never leave it running when the test process ends, however it ends.
  const reap = () => child.kill('SIGKILL')
  process.once('exit', reap)
  void exited.then(() => process.off('exit', reap))
  return {
    child,
    output: () => out,
    exited,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      await exited
    },
  }
}
