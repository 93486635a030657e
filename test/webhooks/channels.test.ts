import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ACTIONS, type Action, type Module } from '../../src/events/event.ts';
import { contentfulTopic, eventChannel, parseChannel, type Channel, type ChannelEvent } from '../../src/webhooks/channels.ts';

function channel(text: string): Channel {
  const c = parseChannel(text);
  if (typeof c === 'string') assert.fail(`${text} was refused: ${c}`);
  return c;
}

const entry = (action: Action, ct = 'blog', uid = 'blt_e1'): ChannelEvent => ({ module: 'entry', action, uid, content_type_uid: ct });
const asset = (action: Action, uid = 'blt_a1'): ChannelEvent => ({ module: 'asset', action, uid, content_type_uid: null });
const contentType = (action: Action, uid = 'blog'): ChannelEvent => ({ module: 'content_type', action, uid, content_type_uid: null });

/** Every module x action, for exhaustive "matches exactly these" checks. */
const ALL: ChannelEvent[] = (['content_type', 'entry', 'asset'] as Module[]).flatMap((m) =>
  ACTIONS.map((a) => (m === 'entry' ? entry(a) : m === 'asset' ? asset(a) : contentType(a))),
);
const matched = (c: Channel, events = ALL) => events.filter((e) => c.matches(e)).map((e) => `${e.module}:${e.action}`);

describe('Contentstack channels', () => {
  it('accepts every channel listed in seed 003', () => {
    const seed = [
      'content_types.create',
      'content_types.update',
      'content_types.blog.update',
      'content_types.delete',
      'content_types.blog.delete',
      'content_types.entries.create',
      'content_types.blog.entries.create',
      'content_types.entries.update',
      'content_types.blog.entries.update',
      'content_types.blog.entries.blt123.update',
      'content_types.entries.publish',
      'content_types.entries.publish.fail',
      'content_types.entries.unpublish',
      'content_types.entries.unpublish.fail',
      'content_types.entries.delete',
      'content_types.blog.entries.delete',
      'content_types.blog.entries.blt123.delete',
      'assets.delete',
      'assets.blt456.delete',
      'assets.publish',
      'assets.publish.fail',
      'assets.unpublish',
      'assets.unpublish.fail',
    ];
    for (const text of seed) assert.equal(channel(text).text, text);
  });

  it('accepts every action of the event log in every channel form', () => {
    for (const a of ACTIONS) {
      for (const text of [
        `content_types.${a}`,
        `content_types.blog.${a}`,
        `content_types.entries.${a}`,
        `content_types.blog.entries.${a}`,
        `content_types.blog.entries.e1.${a}`,
        `assets.${a}`,
        `assets.a1.${a}`,
      ]) {
        channel(text);
      }
    }
  });

  it('content_types.{action} matches content type events of that action only, never entries', () => {
    assert.deepEqual(matched(channel('content_types.update')), ['content_type:update']);
    assert.equal(channel('content_types.update').matches(contentType('update', 'anything')), true);
  });

  it('content_types.{ct}.{action} matches only that content type', () => {
    const c = channel('content_types.blog.delete');
    assert.equal(c.matches(contentType('delete', 'blog')), true);
    assert.equal(c.matches(contentType('delete', 'news')), false);
    assert.equal(c.matches(contentType('update', 'blog')), false);
    assert.equal(c.matches(entry('delete', 'blog')), false);
  });

  it('content_types.entries.{action} matches entries of any content type', () => {
    const c = channel('content_types.entries.update');
    assert.deepEqual(matched(c), ['entry:update']);
    assert.equal(c.matches(entry('update', 'news', 'x')), true);
  });

  it('content_types.{ct}.entries.{action} matches entries of that content type only', () => {
    const c = channel('content_types.blog.entries.create');
    assert.equal(c.matches(entry('create', 'blog')), true);
    assert.equal(c.matches(entry('create', 'news')), false);
    assert.equal(c.matches(entry('update', 'blog')), false);
    assert.equal(c.matches(contentType('create', 'blog')), false);
  });

  it('content_types.{ct}.entries.{entry}.{action} matches that one entry only', () => {
    const c = channel('content_types.blog.entries.blt_e1.update');
    assert.equal(c.matches(entry('update', 'blog', 'blt_e1')), true);
    assert.equal(c.matches(entry('update', 'blog', 'blt_e2')), false);
    assert.equal(c.matches(entry('update', 'news', 'blt_e1')), false);
    assert.equal(c.matches(entry('auto_save', 'blog', 'blt_e1')), false);
  });

  it('tells publish from publish.fail and unpublish.fail apart', () => {
    assert.deepEqual(matched(channel('content_types.entries.publish')), ['entry:publish']);
    assert.deepEqual(matched(channel('content_types.entries.publish.fail')), ['entry:publish.fail']);
    assert.deepEqual(matched(channel('content_types.entries.unpublish.fail')), ['entry:unpublish.fail']);
    assert.deepEqual(matched(channel('content_types.blog.entries.blt_e1.publish.fail')), ['entry:publish.fail']);
    assert.deepEqual(matched(channel('assets.unpublish.fail')), ['asset:unpublish.fail']);
  });

  it('assets.{action} matches any asset, assets.{uid}.{action} only that one', () => {
    assert.deepEqual(matched(channel('assets.delete')), ['asset:delete']);
    const one = channel('assets.blt_a1.delete');
    assert.equal(one.matches(asset('delete', 'blt_a1')), true);
    assert.equal(one.matches(asset('delete', 'blt_a2')), false);
    assert.equal(one.matches(asset('publish', 'blt_a1')), false);
  });

  it('reads "entries" right after content_types as entries, not as a content type uid', () => {
    const c = channel('content_types.entries.delete');
    assert.equal(c.matches(entry('delete', 'entries')), true);
    assert.equal(c.matches(contentType('delete', 'entries')), false);
  });

  it('refuses unknown channels with a message that names them', () => {
    const cases: Array<[unknown, RegExp]> = [
      ['content_types.blog.entries.updat', /"content_types\.blog\.entries\.updat" is not a known channel: "updat" is not an action/],
      ['content_types.entries', /"entries" is not an action/],
      ['assets.a1.b2.delete', /"assets\.a1\.b2\.delete" is not a known channel: an asset channel is/],
      ['content_types.blog.fields.update', /is not a known channel: a content type channel is/],
      ['content_types.entries.blog.update', /is not a known channel/],
      ['content_types.blog.entries.e1.e2.update', /is not a known channel/],
      ['content_types.bl og.update', /"bl og" is not a uid/],
      ['content_types..update', /is not a known channel/],
      ['entries.update', /"entries\.update" is not a known channel: use a Contentstack channel/],
      ['*', /is not a known channel/],
      ['', /must not be empty/],
      [42, /must be a string/],
      [null, /must be a string/],
      ['assets.' + 'x'.repeat(400) + '.delete', /longer than/],
    ];
    for (const [text, problem] of cases) {
      const r = parseChannel(text);
      assert.equal(typeof r, 'string', `${String(text)} should be refused`);
      assert.match(r as string, problem);
    }
  });
});

describe('Contentful topics', () => {
  it('maps each type and action of seed 002, with save meaning update', () => {
    assert.deepEqual(matched(channel('Entry.save')), ['entry:update']);
    assert.deepEqual(matched(channel('Entry.auto_save')), ['entry:auto_save']);
    assert.deepEqual(matched(channel('Asset.archive')), ['asset:archive']);
    assert.deepEqual(matched(channel('Asset.unarchive')), ['asset:unarchive']);
    assert.deepEqual(matched(channel('ContentType.publish')), ['content_type:publish']);
    assert.deepEqual(matched(channel('ContentType.unpublish')), ['content_type:unpublish']);
    assert.deepEqual(matched(channel('Entry.create')), ['entry:create']);
    assert.deepEqual(matched(channel('Entry.delete')), ['entry:delete']);
  });

  it('a named action does not match its .fail variant', () => {
    assert.deepEqual(matched(channel('Entry.publish')), ['entry:publish']);
  });

  it('Type.* matches every action of the type, including ones Contentful does not list', () => {
    assert.deepEqual(matched(channel('Entry.*')), ACTIONS.map((a) => `entry:${a}`));
    assert.ok(channel('Entry.*').matches(entry('publish.fail')));
    // An action added after the webhook was created still matches the wildcard.
    assert.ok(channel('Asset.*').matches({ ...asset('create'), action: 'some_future_action' as Action }));
  });

  it('*.action matches that action on every type', () => {
    assert.deepEqual(matched(channel('*.publish')), ['content_type:publish', 'entry:publish', 'asset:publish']);
    assert.deepEqual(matched(channel('*.save')), ['content_type:update', 'entry:update', 'asset:update']);
  });

  it('*.* matches everything', () => {
    assert.equal(matched(channel('*.*')).length, ALL.length);
  });

  it('refuses unknown types and actions, naming the topic', () => {
    for (const [text, problem] of [
      ['Entry.update', /"Entry\.update" is not a known topic: the action must be one of create, save/],
      ['Task.create', /"Task\.create" is not a known topic: the type must be ContentType, Entry, Asset or \*/],
      ['Entry.publish.fail', /is not a known channel/],
      ['entry.publish', /is not a known channel/],
      ['*.*.*', /is not a known channel/],
      ['constructor.create', /is not a known channel/],
      ['Entry.toString', /is not a known topic/],
      ['*.__proto__', /is not a known topic/],
    ] as const) {
      const r = parseChannel(text);
      assert.equal(typeof r, 'string', `${text} should be refused`);
      assert.match(r as string, problem);
    }
  });
});

describe('eventChannel', () => {
  it('names module, content type and action, without the entity uid', () => {
    assert.equal(eventChannel(entry('update', 'blog', 'blt1')), 'content_types.blog.entries.update');
    assert.equal(eventChannel(entry('publish.fail', 'blog')), 'content_types.blog.entries.publish.fail');
    assert.equal(eventChannel(contentType('create', 'blog')), 'content_types.blog.create');
    assert.equal(eventChannel(asset('publish', 'blt9')), 'assets.publish');
  });

  it('is itself a valid channel that matches the event', () => {
    for (const e of ALL) {
      const c = channel(eventChannel(e));
      assert.ok(c.matches(e), eventChannel(e));
    }
  });
});

describe('contentfulTopic', () => {
  it('uses Contentful words: ContentManagement prefix, type names, save for update', () => {
    assert.equal(contentfulTopic(entry('publish')), 'ContentManagement.Entry.publish');
    assert.equal(contentfulTopic(entry('update')), 'ContentManagement.Entry.save');
    assert.equal(contentfulTopic(asset('auto_save')), 'ContentManagement.Asset.auto_save');
    assert.equal(contentfulTopic(contentType('delete')), 'ContentManagement.ContentType.delete');
    assert.equal(contentfulTopic(entry('publish.fail')), 'ContentManagement.Entry.publish.fail');
  });

  it('without its prefix, is a topic that matches the event', () => {
    for (const e of ALL.filter((x) => !x.action.endsWith('.fail'))) {
      const topic = contentfulTopic(e).replace(/^ContentManagement\./, '');
      assert.ok(channel(topic).matches(e), topic);
    }
  });
});
