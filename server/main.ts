/**
 * The composition root: reads env, opens the port, starts the simulator, prints the URLs with
 * login tokens, and shuts down gracefully on SIGTERM/SIGINT.
 */
import { parseConfig } from './config.ts'
import { createSystem } from './system.ts'

async function main(): Promise<void> {
  const parsed = parseConfig(process.env)
  if (!parsed.ok) {
    console.error('配置错误 / invalid configuration:\n  ' + parsed.errors.join('\n  '))
    process.exit(2)
  }
  const config = parsed.config
  const system = await createSystem(config)
  const { logger } = system
  const port = await system.listen()
  const base = config.publicUrl ?? `http://localhost:${port}`
  logger.info({ port, store: system.store.kind, city: system.city.district.name }, 'listening')

  let stopping = false
  const shutdown = async (signal: string) => {
    if (stopping) return
    stopping = true
    logger.info({ signal }, 'shutting down: stopping simulator, finishing writes, closing store')
    const force = setTimeout(() => process.exit(1), 15_000)
    force.unref()
    try {
      await system.stop()
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

  const ttl = 30 * 86_400
  const officer = (await system.tokens.mint({ role: 'officer', ttlSeconds: ttl })).token
  const leader = (await system.tokens.mint({ role: 'leader', ttlSeconds: ttl })).token
  const admin = config.adminToken ?? (await system.tokens.mint({ role: 'admin', ttlSeconds: ttl })).token
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
    '  Tokens are valid for 30 days. Stop with Ctrl-C.',
    '',
  ]
  console.log(lines.join('\n'))
}

main().catch((err) => {
  console.error('启动失败 / failed to start:', err instanceof Error ? err.message : err)
  process.exit(1)
})
