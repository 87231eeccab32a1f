/**
 * The store port's contract suite (`store-contract.ts`) on every engine: SQLite on a temporary file
 * per test, PostgreSQL (the real server: PG_TEST_URL, default 127.0.0.1:5432/test; never skipped, so
 * a missing server fails the run) on a fresh schema per test, dropped afterwards. Each test's store
 * is fresh and empty; the suite migrates it.
 */
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { createPgStore, dropPgSchema } from '../../server/store/pg-store.ts'
import { createSqliteStore } from '../../server/store/sqlite-store.ts'
import { tempDir } from './helpers.ts'
import { describeStore } from './store-contract.ts'

describeStore({
  name: 'sqlite',
  async make() {
    const dir = tempDir('store-contract')
    const store = createSqliteStore(join(dir.path, 'store.sqlite'))
    return { store, cleanup: async () => dir.remove() }
  },
})

const PG_URL = process.env.PG_TEST_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
describeStore({
  name: 'postgres',
  async make() {
    const schema = `contract_${randomBytes(6).toString('hex')}`
    const store = createPgStore({ connectionString: PG_URL, schema, poolSize: 4 })
    return { store, cleanup: () => dropPgSchema(PG_URL, schema) }
  },
})
