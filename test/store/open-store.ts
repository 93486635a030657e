/**
 * Opens a store the way `herald serve` does (migrations included), then exits: the shared suite
 * starts several of these at once to show migrations are safe when processes start together.
 * Usage: node --import tsx test/store/open-store.ts sqlite <file> | postgres <url>
 */
import { openPostgres } from '../../src/store/postgres.ts';
import { openSqlite } from '../../src/store/sqlite.ts';

const [kind, target] = process.argv.slice(2);
const db = kind === 'postgres' ? await openPostgres(target, { poolSize: 1 }) : await openSqlite(target);
const rows = await db.all<{ id: number }>('SELECT id FROM schema_migrations ORDER BY id');
process.stdout.write(JSON.stringify(rows.map((r) => Number(r.id))) + '\n');
await db.close();
