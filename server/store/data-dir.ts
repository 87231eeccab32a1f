/**
 * The data directory: readable by its owner only (0700, files 0600), and held by one process at a
 * time. The hold is an exclusive SQLite lock on `DATA_DIR/lock`, a POSIX record lock that the kernel
 * drops when the process ends however it ends (kill -9 included), so no stale pid file can keep a
 * restart out. Two processes on one store would each number changes from their own view of the log.
 */
import Database from 'better-sqlite3'
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { isBusy } from './sqlite-faults.ts'

/** Another process holds the data directory. */
export class DataDirLocked extends Error {
  constructor(
    readonly dir: string,
    readonly pid: number | null,
  ) {
    super(
      `数据目录 ${dir} 正被另一个城市大脑进程${pid ? `（PID ${pid}）` : ''}使用：同一数据目录只能运行一个进程，请先停止它或换用其他 DATA_DIR / ` +
        `the data directory ${dir} is in use by another City Brain process${pid ? ` (pid ${pid})` : ''}: ` +
        'only one process may run on a data directory; stop it or use another DATA_DIR',
    )
    this.name = 'DataDirLocked'
  }
}

/**
 * Create `file` readable by the owner only, or make it and its WAL and shm so if they exist. An
 * existing file is never opened here: closing any descriptor of a file drops every POSIX lock this
 * process holds on it, SQLite's included.
 */
export function ownerOnlyFile(file: string): void {
  try {
    closeSync(openSync(file, 'wx', 0o600))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
  }
  for (const f of [file, `${file}-wal`, `${file}-shm`]) if (existsSync(f)) chmodSync(f, 0o600)
}

/** The pid holding a POSIX lock on `file`, from the kernel's own table (Linux), or null. */
function lockHolder(file: string): number | null {
  try {
    const inode = `:${statSync(file).ino} `
    for (const line of readFileSync('/proc/locks', 'utf8').split('\n')) {
      const m = /^\d+: POSIX\s+\S+\s+WRITE\s+(\d+)\s+(\S+)/.exec(line)
      if (m && `${m[2]} `.endsWith(inode)) return Number(m[1])
    }
  } catch {
    // not Linux, or /proc is not mounted: the message goes without the pid
  }
  return null
}

export interface DataDirLock {
  readonly dir: string
  /** Let the next process in (closing the lock's connection drops the kernel's lock). */
  release(): void
}

/** Take the data directory (creating it 0700, or making it so) or throw DataDirLocked. */
export function lockDataDir(dataDir: string): DataDirLock {
  const dir = resolve(dataDir)
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  chmodSync(dir, 0o700)
  const file = join(dir, 'lock')
  ownerOnlyFile(file)
  const db = new Database(file)
  try {
    db.pragma('busy_timeout = 0')
    db.pragma('journal_mode = MEMORY')
    // EXCLUSIVE: the lock a write takes is kept until the connection closes.
    db.pragma('locking_mode = EXCLUSIVE')
    db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL)')
    db.transaction(() => {
      db.exec('DELETE FROM holder')
      db.prepare('INSERT INTO holder (pid) VALUES (?)').run(process.pid)
    }).immediate()
  } catch (err) {
    db.close()
    if (isBusy(err)) throw new DataDirLocked(dir, lockHolder(file))
    throw err
  }
  return {
    dir,
    release: () => {
      if (db.open) db.close()
    },
  }
}
