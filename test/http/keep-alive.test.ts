/**
 * A bodyless request refused by a synchronous hook keeps its keep-alive connection: it is answered
 * inside node's HTTP parser, before the parser marks the request complete, and unread-body.ts
 * took that for an unread body of unknown length and closed the connection (session 25: the query
 * check's 422 with HERALD_RATE_LIMIT=0, Contentful's twice-sent token always). A client then paid
 * a new connection for its next request.
 */
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { ADMIN_TOKEN, startHerald, type TestHerald } from '../helpers/herald.ts';

/** GET over one kept-alive socket: the status, the answer's Connection header, and the socket. */
function get(agent: Agent, url: string, headers: Record<string, string>): Promise<{ status: number; connection: string | undefined; socket: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection, socket: req.socket }));
    });
    req.on('error', reject);
    req.end();
  });
}

for (const rateLimit of [0, 1_000]) {
  describe(`a bodyless request refused by a synchronous hook (rate limit ${rateLimit})`, () => {
    let h: TestHerald;
    let agent: Agent;
    before(async () => {
      h = await startHerald({ rateLimit });
      agent = new Agent({ keepAlive: true, maxSockets: 1 });
    });
    after(async () => {
      agent.destroy();
      await h.close();
    });

    it("keeps its connection: the query check's 422 and Contentful's twice-sent token's 400, then a served request on the same socket", async () => {
      const s = await h.newStack('keep-alive');
      const query = await get(agent, `${h.url}/v3/webhooks?bogus=1`, { authtoken: ADMIN_TOKEN, api_key: s.api_key });
      assert.equal(query.status, 422);
      assert.equal(query.connection, 'keep-alive');
      const twice = await get(agent, `${h.url}/spaces/${s.api_key}/entries?access_token=x`, { authorization: `Bearer ${ADMIN_TOKEN}` });
      assert.equal(twice.status, 400);
      assert.equal(twice.connection, 'keep-alive');
      const served = await get(agent, `${h.url}/v3/webhooks`, { authtoken: ADMIN_TOKEN, api_key: s.api_key });
      assert.equal(served.status, 200);
      assert.equal(served.socket, query.socket, 'the same connection served all three');
    });
  });
}
