import { writeFileSync } from 'node:fs'
import { tempDir } from '../server/helpers.ts'
import { freePort } from '../server/live-helpers.ts'
import { DISTRICT, launchChromium, mintOfficer, startServer, waitForLive, wallEnv } from '../e2e/wall-harness.ts'
import { startDriver } from './wall-driver.ts'
const WORKERS = Number(process.env.WORKERS ?? 6000)
const CH = Number(process.env.CHANGES_PER_SECOND ?? 10)
const dir = tempDir('prof')
const port = await freePort()
const base = `http://127.0.0.1:${port}`
let server = await startServer(wallEnv(port, dir.path))
await server.kill('SIGTERM')
server = await startServer(wallEnv(port, dir.path, { SIMULATE: '0' }))
const token = await mintOfficer(base)
const driver = await startDriver({ upstream: base, token, region: DISTRICT, workers: WORKERS, changesPerSecond: CH })
const browser = await launchChromium(['--disable-background-timer-throttling','--disable-renderer-backgrounding'])
const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } })
await page.goto(`${driver.base}/wall?token=${token}${process.env.Q ?? ''}`)
await waitForLive(page)
const cdp = await page.context().newCDPSession(page)
await cdp.send('Performance.enable')
await new Promise((r) => setTimeout(r, 15000))
const m0 = (await cdp.send('Performance.getMetrics')).metrics
await cdp.send('Profiler.enable')
await cdp.send('Profiler.start')
await new Promise((r) => setTimeout(r, 10000))
const { profile } = await cdp.send('Profiler.stop')
const m1 = (await cdp.send('Performance.getMetrics')).metrics
const get = (m: typeof m0, n: string) => m.find((x) => x.name === n)!.value
const dt = get(m1, 'Timestamp') - get(m0, 'Timestamp')
for (const n of ['TaskDuration', 'ScriptDuration', 'LayoutDuration', 'RecalcStyleDuration'])
  console.log(n, ((get(m1, n) - get(m0, n)) / dt * 1000).toFixed(0), 'ms/s')
// self time by function
const self = new Map<string, number>()
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const dts = profile.timeDeltas!
for (let i = 0; i < profile.samples!.length; i++) {
  const n = byId.get(profile.samples![i]!)!
  const k = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').pop()}:${n.callFrame.lineNumber}`
  self.set(k, (self.get(k) ?? 0) + (dts[i] ?? 0) / 1000)
}
const total = [...self.values()].reduce((a, b) => a + b, 0)
console.log('profile total ms', total.toFixed(0))
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 40)) console.log(v.toFixed(0).padStart(7), k)
writeFileSync('/tmp/wallx/profile.cpuprofile', JSON.stringify(profile))

// inclusive time per function name
const parent = new Map<number, number>()
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
const incl = new Map<string, number>()
for (let i = 0; i < profile.samples!.length; i++) {
  const seen = new Set<string>()
  let id: number | undefined = profile.samples![i]!
  while (id !== undefined) {
    const n = byId.get(id)!
    const k = `${n.callFrame.functionName || '(anon)'}`
    if (!seen.has(k)) { seen.add(k); incl.set(k, (incl.get(k) ?? 0) + (dts[i] ?? 0) / 1000) }
    id = parent.get(id)
  }
}
console.log('--- inclusive')
for (const [k, v] of [...incl].sort((a, b) => b[1] - a[1]).slice(0, 60)) console.log(v.toFixed(0).padStart(7), k)
await browser.close(); await driver.close(); await server.kill(); dir.remove()
