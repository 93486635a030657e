/**
 * events/record.ts: the seq record() gives an event (and its fan-out) is its row's. SQLite reads it
 * as the connection's last insert rowid, without a RETURNING (Queryable.run's `lastRowid`);
 * PostgreSQL by its RETURNING. Several events in one transaction, a `contentful_repeat` one among
 * them (its own INSERT text), on a real store of each backend.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { HeraldEvent } from '../../src/events/event.ts';
import { createEventLog, type EventRow } from '../../src/events/record.ts';
import type { Db } from '../../src/store/db.ts';
import { testBackends } from '../helpers/postgres.ts';
import { openFreshStore } from '../helpers/store.ts';

for (const backend of await testBackends()) {
  describe(`an event's seq, on ${backend}`, () => {
    let db: Db;
    let drop: () => Promise<void>;
    before(async () => {
      ({ db, drop } = await openFreshStore(backend, 'event-seq'));
    });
    after(async () => {
      await db.close();
      await drop();
    });

    it('is the seq of the row it wrote, for each event of a transaction, in the event and in what fan-out is given', async () => {
      const fannedOut: Array<[HeraldEvent, EventRow]> = [];
      const log = createEventLog(async (_tx, event, stored) => {
        fannedOut.push([event, stored]);
        return 0;
      });
      const input = (uid: string, repeat = false) => ({
        api_key: 'blt_seq',
        branch: 'main',
        module: 'entry' as const,
        action: 'update' as const,
        uid,
        actor: 'admin',
        data: { entry: { uid } },
        ...(repeat ? { contentful_repeat: true as const } : {}),
      });
      const recorded = await db.tx(async (tx) => {
        // A row of another table between them: the seq must still be the event's own.
        const out = [await log.record(tx, input('e1'))];
        await tx.run("INSERT INTO stacks (api_key, name, doc, created_at, updated_at) VALUES ('blt_other', 'other', '{}', 0, 0)");
        out.push(await log.record(tx, input('e2', true)));
        out.push(await log.record(tx, input('e3')));
        return out;
      });
      const rows = await db.all<{ seq: number; uid: string }>("SELECT seq, uid FROM events WHERE api_key = 'blt_seq' ORDER BY seq");
      const byUid = new Map(rows.map((r) => [r.uid, Number(r.seq)]));
      assert.equal(rows.length, 3);
      for (const e of recorded) assert.equal(e.seq, byUid.get(e.uid), e.uid);
      assert.deepEqual(
        fannedOut.map(([e, stored]) => [e.uid, e.seq, Number(stored.seq)]),
        ['e1', 'e2', 'e3'].map((uid) => [uid, byUid.get(uid), byUid.get(uid)]),
      );
      assert.ok(recorded[0].seq < recorded[1].seq && recorded[1].seq < recorded[2].seq);
    });
  });
}
