import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { TestHerald } from '../helpers/herald.ts';
import { startReceiver } from '../helpers/receiver.ts';
import { startSpace, until, type Client } from './helpers/space.ts';

/**
 * Seed 002's API examples, as a Contentful user copies them from the guide: the same command
 * text, with only the host and the placeholders replaced. (The guide prints each command over
 * several lines without continuation backslashes; the lines are one command.)
 */
const SEED_CREATE = `curl -X POST "https://api.contentful.com/spaces/<SPACE_ID>/webhook_definitions"
  -d '{"url": "<URL>", "name": "foo", "topics": ["*.*"]}'
  -H 'Authorization: Bearer <API_KEY>'
  -H 'Content-Type: application/vnd.contentful.management.v1+json'`;

const SEED_LIST = `curl -X GET "https://api.contentful.com/spaces/<SPACE_ID>/webhook_definitions"
-H "Authorization: Bearer <API_KEY>"
-H "Content-Type: application/vnd.contentful.management.v1+json"`;

const SEED_CALLS = `curl -X GET "https://api.contentful.com/spaces/<SPACE_ID>/webhooks/<WEBHOOK_ID>/calls"
-H "Authorization: Bearer <API_KEY>"
-H "Content-Type: application/vnd.contentful.management.v1+json"`;

/** Splits a shell command into words the way sh does for these commands (quotes, no expansions). */
function words(command: string): string[] {
  const out: string[] = [];
  const re = /'([^']*)'|"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(command); m; m = re.exec(command)) out.push(m[1] ?? m[2]?.replace(/\\(.)/g, '$1') ?? m[3]);
  return out;
}

const run = promisify(execFile);

async function hasCurl(): Promise<boolean> {
  try {
    await run('curl', ['--version']);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs a curl command: with the real `curl` when installed (no shell: its words as arguments,
 * plus -sS and a status line), else the same method, headers and body with fetch.
 */
async function curl(command: string): Promise<{ status: number; body: any }> {
  const [bin, ...args] = words(command);
  assert.equal(bin, 'curl');
  if (await hasCurl()) {
    const { stdout } = await run('curl', ['-sS', '-w', '\n%{http_code}', ...args]);
    const cut = stdout.lastIndexOf('\n');
    return { status: Number(stdout.slice(cut + 1)), body: JSON.parse(stdout.slice(0, cut)) };
  }
  let method = 'GET';
  let url = '';
  let body: string | undefined;
  const headers: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '-X') method = args[++i];
    else if (args[i] === '-d') body = args[++i];
    else if (args[i] === '-H') {
      const [k, ...v] = args[++i].split(':');
      headers[k.trim()] = v.join(':').trim();
    } else url = args[i];
  }
  const res = await fetch(url, { method, headers, body });
  return { status: res.status, body: await res.json() };
}

describe("seed 002's curl commands against Herald", () => {
  let h: TestHerald;
  let client: Client;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let fill: (command: string, ids?: Record<string, string>) => string;

  before(async () => {
    const s = await startSpace();
    ({ h, client } = s);
    receiver = await startReceiver();
    fill = (command, ids = {}) =>
      Object.entries({ 'https://api.contentful.com': h.url, '<SPACE_ID>': s.spaceId, '<API_KEY>': s.space.token, '<URL>': `${receiver.url}/seed`, ...ids }).reduce(
        (c, [from, to]) => c.split(from).join(to),
        command,
      );
  });
  after(async () => {
    await h.close();
    await receiver.close();
  });

  it('creates a webhook, lists it, and lists its calls after content changes', async () => {
    const created = await curl(fill(SEED_CREATE));
    assert.equal(created.status, 201);
    assert.equal(created.body.name, 'foo');
    assert.deepEqual(created.body.topics, ['*.*']);
    assert.equal(created.body.url, `${receiver.url}/seed`);
    const id = created.body.sys.id;

    const listed = await curl(fill(SEED_LIST));
    assert.equal(listed.status, 200);
    assert.equal(listed.body.total, 1);
    assert.equal(listed.body.items[0].sys.id, id);

    // A content change: the webhook subscribed to *.* is called.
    const spaceId = created.body.sys.space.sys.id;
    await client.contentType.createWithId({ spaceId, environmentId: 'master', contentTypeId: 'page' }, { name: 'Page', fields: [{ id: 'title', name: 'Title', type: 'Symbol' }] } as any);
    await receiver.waitFor(1);
    assert.equal(receiver.received[0].headers['x-contentful-topic'], 'ContentManagement.ContentType.create');

    await until(async () => (await curl(fill(SEED_CALLS, { '<WEBHOOK_ID>': id }))).body.total === 1);
    const calls = await curl(fill(SEED_CALLS, { '<WEBHOOK_ID>': id }));
    assert.equal(calls.status, 200);
    assert.equal(calls.body.items[0].statusCode, 200);
    assert.equal(calls.body.items[0].eventType, 'create');
    assert.equal(calls.body.items[0].url, `${receiver.url}/seed`);
  });

  it('answers a wrong token in the same commands with AccessTokenInvalid', async () => {
    const refused = await curl(fill(SEED_LIST, { '<API_KEY>': 'wrong-token' }));
    assert.equal(refused.status, 401);
    assert.equal(refused.body.sys.id, 'AccessTokenInvalid');
  });
});
