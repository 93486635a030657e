import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { removeDir, spawnHerald, startHerald, type SpawnedHerald, type TestHerald } from '../helpers/herald.ts';
import { clientStack, eventsAfter, label, stackOf, type TestStack } from './helpers/content.ts';

/** Makes a little of everything: environment, locale, branch, content type, entry in two locales with versions, asset, publications. */
async function makeContent(s: TestStack) {
  await s.stack.environment().create({ environment: { name: 'production' } });
  await s.stack.locale().create({ locale: { code: 'fr-fr', name: 'French' } });
  await s.stack.contentType().create({ content_type: { title: 'Post', uid: 'post', schema: [{ uid: 'title', display_name: 'T', data_type: 'text', mandatory: true }, { uid: 'body', display_name: 'B', data_type: 'text' }] } });
  const post = await s.stack.contentType('post').entry().create({ entry: { title: 'Durable', body: 'one' } });
  const fetched = await s.stack.contentType('post').entry(post.uid).fetch();
  fetched.body = 'two';
  await fetched.update();
  fetched.title = 'Durable (fr)';
  await fetched.update({ locale: 'fr-fr' });
  await fetched.publish({ publishDetails: { environments: ['production'], locales: ['en-us'] } });
  const asset = await s.stack.asset().create({ upload: Buffer.from('kept bytes'), filename: 'kept.txt', content_type: 'text/plain' });
  await s.stack.branch().create({ branch: { uid: 'dev', source: 'main' } });
  return { post: post.uid as string, asset: asset.uid as string };
}

async function checkContent(url: string, s: TestStack, ids: { post: string; asset: string }) {
  const stack = stackOf(url, s.api_key, s.token);
  assert.equal((await stack.environment('production').fetch()).name, 'production');
  assert.equal((await stack.locale('fr-fr').fetch()).name, 'French');
  assert.equal((await stack.contentType('post').fetch()).schema.length, 2);
  const en = await stack.contentType('post').entry(ids.post).fetch();
  assert.equal(en.body, 'two');
  assert.equal(en._version, 2);
  assert.equal(en.publish_details.length, 1);
  assert.equal((await stack.contentType('post').entry(ids.post).fetch({ version: 1 })).body, 'one');
  assert.equal((await stack.contentType('post').entry(ids.post).fetch({ locale: 'fr-fr' })).title, 'Durable (fr)');
  const asset = await stack.asset(ids.asset).fetch();
  assert.equal((await asset.download({ url: asset.url, responseType: 'text' })).data, 'kept bytes');
  const dev = stackOf(url, s.api_key, s.token, 'dev');
  assert.equal((await dev.contentType('post').entry(ids.post).fetch()).title, 'Durable');
}

describe('content across restarts', () => {
  let h: TestHerald | undefined;
  let p: SpawnedHerald | undefined;
  after(async () => {
    await h?.close();
    await p?.close();
  });

  it('keeps content, files and events when the server is stopped and started again', async () => {
    h = await startHerald();
    const s = await clientStack(h);
    const ids = await makeContent(s);
    const events = await eventsAfter(h, s);
    const dir = h.dataDir;
    await h.close();

    h = await startHerald({}, dir);
    await checkContent(h.url, s, ids);
    assert.deepEqual(await eventsAfter(h, s), events);
    await h.close();
    h = undefined;
    removeDir(dir);
  });

  it('keeps committed content when the process is killed', async () => {
    p = await spawnHerald();
    const s = await clientStack(p);
    const ids = await makeContent(s);
    assert.equal(await p.stop('SIGKILL'), null);
    const dir = p.dataDir;

    p = await spawnHerald({}, dir);
    await checkContent(p.url, s, ids);
    const r = await p.request('GET', '/v3/events?limit=1000', { headers: s.headers });
    assert.deepEqual(r.body.events.map(label), [
      'content_type.create',
      'entry.create',
      'entry.update',
      'entry.update',
      'entry.publish@production/en-us',
      'asset.create',
    ]);
    await p.close();
    p = undefined;
    removeDir(dir);
  });
});
