/**
 * The entry point: reads env, builds the system (server/system.ts) and alone starts it (its timers,
 * the lease and the bus reader), opens the port, starts the simulator, prints the URLs with login
 * tokens, and shuts down gracefully on SIGTERM/SIGINT (the system's stop stops each of them).
 */
import { formatIsoWithOffset } from '../shared/working-time.ts'
import { parseConfig } from './config.ts'
import { loginTokens } from './login.ts'
import { createSystem } from './system.ts'

let stopping = false

async function main(): Promise<void> {
  const parsed = parseConfig(process.env)
  if (!parsed.ok) {
    console.error('配置错误 / invalid configuration:\n  ' + parsed.errors.join('\n  '))
    process.exit(2)
  }
  const config = parsed.config
  const system = await createSystem(config)
  const { logger } = system
  // The last line of defence (each known failure is handled where it happens): one that escapes is
  // logged and counted, and the server goes on serving.
  process.on('unhandledRejection', (reason) => system.reportError('unhandledRejection', reason))
  // What runs by itself starts here, under that last line of defence and before the port opens (the
  // system refuses to listen or simulate without it).
  await system.start()
  const port = await system.listen()
  const base = config.publicUrl ?? `http://localhost:${port}`
  logger.info({ port, store: system.store.kind, city: system.city.district.name }, 'listening')

  const shutdown = async (signal: string) => {
    if (stopping) return
    stopping = true
    // Stop accepting, let the simulator's slice and the requests in flight finish, close the live
    // transports (the walls reconnect by themselves to the next process), then the store.
    logger.info({ signal }, 'shutting down: closing the port, finishing writes, closing sockets and store')
    let phase = 'start'
    const force = setTimeout(() => {
      logger.error({ phase }, 'shutdown did not finish within 15 s: exiting without it')
      process.exit(1)
    }, 15_000)
    force.unref()
    try {
      await system.stop((p) => {
        phase = p
        logger.debug({ phase: p }, 'shutdown phase')
      })
      logger.info('stopped cleanly')
      process.exit(0)
    } catch (err) {
      logger.error({ err }, 'shutdown failed')
      process.exit(1)
    }
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
  process.on('SIGINT', () => void shutdown('SIGINT'))

  if (system.simulator) {
    const tty = process.stderr.isTTY
    let lastLine = 0
    await system.startSimulation(({ phase, done, total, events }) => {
      const pct = total > 0 ? Math.floor((done / total) * 100) : 100
      const now = Date.now()
      if (!tty && now - lastLine < 2000 && pct < 100) return
      lastLine = now
      const label = phase === 'backfill' ? '回填历史数据 backfill' : '追赶模拟进度 catch-up'
      const line = `${label}: ${pct}% (${(done / 86_400_000).toFixed(1)}/${(total / 86_400_000).toFixed(1)} d, ${events} events)`
      process.stderr.write(tty ? `\r${line}   ` : line + '\n')
    })
    if (tty) process.stderr.write('\n')
  }
  // Stopped during the backfill: the shutdown in progress ends the process.
  if (stopping) return

  const { officer, leader, admin, expiresAt } = await loginTokens(
    system,
    config.adminToken ? { adminToken: config.adminToken } : {},
  )
  const lines = [
    '',
    `  城市大脑 City Brain — ${system.city.district.name} (${system.city.district.code}) is running`,
    '',
    `  首页 Home:         ${base}/?token=${officer}`,
    `  指挥大屏 Wall:      ${base}/wall?token=${officer}`,
    `  领导简报 Brief:     ${base}/brief?token=${leader}`,
    `  接口文档 API docs:  ${base}/api/docs`,
    `  管理员令牌 Admin:    Authorization: Bearer ${admin}`,
    '',
    `  令牌有效期至 Tokens valid until ${formatIsoWithOffset(expiresAt, config.calendar.timeZone)}. Stop with Ctrl-C.`,
    '',
  ]
  console.log(lines.join('\n'))
}

main().catch((err) => {
  // Whatever failed while a shutdown was under way, the shutdown says how the process ends.
  if (stopping) return
  console.error('启动失败 / failed to start:', err instanceof Error ? err.message : err)
  process.exit(1)
})
