/** Progress lines on stderr: `[3/6] communities 120/181`. Rewrites one line on a terminal, else prints milestones. */

export interface Progress {
  step(n: number, label: string, done?: number, total?: number): void
  info(msg: string): void
  end(): void
}

export function makeProgress(totalSteps: number, out: NodeJS.WriteStream = process.stderr): Progress {
  const tty = Boolean(out.isTTY)
  let open = false
  let lastKey = ''
  let lastDecile = -1
  const write = (text: string, final: boolean): void => {
    if (tty) {
      out.write(`\r\x1b[2K${text}${final ? '\n' : ''}`)
      open = !final
    } else if (final) out.write(`${text}\n`)
  }
  return {
    step(n, label, done, total) {
      const key = `${n}:${label}`
      const text = `[${n}/${totalSteps}] ${label}${total !== undefined ? ` ${done ?? 0}/${total}` : ''}`
      const finished = total === undefined || (done ?? 0) >= total
      if (!tty) {
        const decile = total ? Math.floor(((done ?? 0) / total) * 10) : 10
        if (key !== lastKey) lastDecile = -1
        lastKey = key
        if (decile > lastDecile) {
          out.write(`${text}\n`)
          lastDecile = decile
        }
        return
      }
      lastKey = key
      write(text, finished)
    },
    info(msg) {
      if (tty && open) out.write('\n')
      open = false
      out.write(`${msg}\n`)
    },
    end() {
      if (tty && open) out.write('\n')
      open = false
    },
  }
}
