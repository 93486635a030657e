import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HeraldEvent } from '../../src/events/event.ts';
import { compileConditions, conditionProblems, patternProblem } from '../../src/webhooks/conditions.ts';
import type { Condition } from '../../src/webhooks/webhook.ts';

const event = (over: Partial<HeraldEvent> = {}): HeraldEvent => ({
  seq: 1,
  api_key: 'blt_stack',
  branch: 'main',
  module: 'entry',
  action: 'publish',
  uid: 'blt_entry1',
  content_type_uid: 'blog',
  locale: 'en-us',
  environment: 'production',
  actor: 'token_editor',
  data: { entry: { uid: 'blt_entry1', created_by: 'token_author' } },
  created_at: 0,
  ...over,
});

const holds = (conditions: Condition[], e: HeraldEvent) => {
  assert.deepEqual(conditionProblems(conditions), {}, 'conditions should be valid');
  return compileConditions(conditions)(e);
};

describe('conditions: evaluation', () => {
  it('an empty list lets every event through', () => {
    assert.equal(holds([], event()), true);
  });

  it('equals compares one property', () => {
    assert.equal(holds([{ equals: [{ doc: 'sys.id' }, 'blt_entry1'] }], event()), true);
    assert.equal(holds([{ equals: [{ doc: 'sys.id' }, 'blt_entry2'] }], event()), false);
    assert.equal(holds([{ equals: [{ doc: 'uid' }, 'blt_entry1'] }], event()), true);
  });

  it('in matches any of a list', () => {
    const c: Condition[] = [{ in: [{ doc: 'sys.contentType.sys.id' }, ['news', 'blog']] }];
    assert.equal(holds(c, event()), true);
    assert.equal(holds(c, event({ content_type_uid: 'product' })), false);
  });

  it('regexp matches a pattern', () => {
    const c: Condition[] = [{ regexp: [{ doc: 'content_type' }, { pattern: '^bl' }] }];
    assert.equal(holds(c, event()), true);
    assert.equal(holds(c, event({ content_type_uid: 'table' })), false);
  });

  it('not negates, and conditions are ANDed', () => {
    const c: Condition[] = [
      { equals: [{ doc: 'environment' }, 'production'] },
      { not: { equals: [{ doc: 'locale' }, 'fr-fr'] } },
    ];
    assert.equal(holds(c, event()), true);
    assert.equal(holds(c, event({ locale: 'fr-fr' })), false);
    assert.equal(holds(c, event({ environment: 'staging' })), false);
  });

  it('a property the event lacks never equals, is never in a list, never matches; not of it holds', () => {
    const update = event({ action: 'update', environment: null });
    assert.equal(holds([{ equals: [{ doc: 'environment' }, 'production'] }], update), false);
    assert.equal(holds([{ in: [{ doc: 'environment' }, ['production']] }], update), false);
    assert.equal(holds([{ regexp: [{ doc: 'environment' }, { pattern: '.*' }] }], update), false);
    assert.equal(holds([{ not: { equals: [{ doc: 'environment' }, 'production'] } }], update), true);
  });

  it("reads Contentful's sys.environment.sys.id as the branch, master being main", () => {
    assert.equal(holds([{ equals: [{ doc: 'sys.environment.sys.id' }, 'master'] }], event()), true);
    assert.equal(holds([{ equals: [{ doc: 'sys.environment.sys.id' }, 'staging'] }], event({ branch: 'staging' })), true);
    assert.equal(holds([{ equals: [{ doc: 'branch' }, 'main'] }], event()), true);
  });

  it('reads who created the entity from its snapshot and who changed it from the event', () => {
    assert.equal(holds([{ equals: [{ doc: 'sys.createdBy.sys.id' }, 'token_author'] }], event()), true);
    assert.equal(holds([{ equals: [{ doc: 'created_by' }, 'token_editor'] }], event()), false);
    assert.equal(holds([{ equals: [{ doc: 'sys.updatedBy.sys.id' }, 'token_editor'] }], event()), true);
    assert.equal(holds([{ equals: [{ doc: 'updated_by' }, 'token_editor'] }], event()), true);
  });

  it("takes a content type event's own uid as its content type", () => {
    const ct = event({ module: 'content_type', uid: 'blog', content_type_uid: null, data: {} });
    assert.equal(holds([{ equals: [{ doc: 'content_type' }, 'blog'] }], ct), true);
  });
});

describe('conditions: validation', () => {
  it('names an unknown property with its path', () => {
    const p = conditionProblems([{ equals: [{ doc: 'sys.id' }, 'x'] }, { equals: [{ doc: 'fields.title' }, 'x'] }]);
    assert.deepEqual(Object.keys(p), ['1.equals.0.doc']);
    assert.match(p['1.equals.0.doc'][0], /"fields\.title" is not a known property/);
  });

  it('does not take names inherited by every object for properties', () => {
    for (const doc of ['toString', '__proto__', 'constructor', 'hasOwnProperty']) {
      assert.deepEqual(Object.keys(conditionProblems([{ equals: [{ doc }, 'x'] }])), ['0.equals.0.doc'], doc);
    }
    assert.throws(() => compileConditions([{ equals: [{ doc: '__proto__' }, 'x'] }]));
  });

  it('names a bad regexp with its path', () => {
    const p = conditionProblems([{ regexp: [{ doc: 'sys.id' }, { pattern: '(' }] }]);
    assert.match(p['0.regexp.1.pattern'][0], /is not a valid RE2 regular expression/);
  });

  it('refuses wrong shapes', () => {
    assert.deepEqual(Object.keys(conditionProblems('nope')), ['']);
    assert.deepEqual(Object.keys(conditionProblems([{}])), ['0']);
    assert.deepEqual(Object.keys(conditionProblems([{ equals: [{ doc: 'uid' }, 'a'], in: [{ doc: 'uid' }, ['a']] }])), ['0']);
    assert.deepEqual(Object.keys(conditionProblems([{ equals: 'uid' }])), ['0.equals']);
    assert.deepEqual(Object.keys(conditionProblems([{ equals: [{ doc: 'uid' }, 5] }])), ['0.equals.1']);
    assert.deepEqual(Object.keys(conditionProblems([{ in: [{ doc: 'uid' }, []] }])), ['0.in.1']);
    assert.deepEqual(Object.keys(conditionProblems([{ in: [{ doc: 'uid' }, ['a', 3]] }])), ['0.in.1.1']);
    assert.deepEqual(Object.keys(conditionProblems([{ regexp: [{ doc: 'uid' }, 'x'] }])), ['0.regexp.1']);
    assert.deepEqual(Object.keys(conditionProblems([{ not: { nope: 1 } }])), ['0.not']);
    assert.deepEqual(Object.keys(conditionProblems([{ equals: ['uid', 'x'] }])), ['0.equals.0']);
  });

  it('caps nesting and list sizes', () => {
    let deep: Condition = { equals: [{ doc: 'uid' }, 'x'] };
    for (let i = 0; i < 20; i++) deep = { not: deep };
    assert.notDeepEqual(conditionProblems([deep]), {});
    assert.notDeepEqual(conditionProblems(Array.from({ length: 51 }, () => ({ equals: [{ doc: 'uid' }, 'x'] }))), {});
    assert.notDeepEqual(conditionProblems([{ equals: [{ doc: 'uid' }, 'x'.repeat(2000)] }]), {});
  });
});

describe('regexp patterns', () => {
  it('accepts the patterns filters are written with', () => {
    for (const p of ['^blog$', '^(blog|news)$', 'blt[0-9a-f]{16}', '^en-', '\\d+', '(ab)?c', 'a{1}b', '[(+*)]+x']) {
      assert.equal(patternProblem(p), null, p);
    }
  });

  it('accepts repeated groups, which RE2 runs in linear time', () => {
    for (const p of ['(a+)+$', '(a*)*b', '(\\w+\\s?)*$', '(a|aa)+', '(?<word>[a-z]+)-\\d', '\\p{L}+']) {
      assert.equal(patternProblem(p), null, p);
    }
  });

  it('refuses backreferences and lookaround, which RE2 cannot run, and over-long and empty patterns', () => {
    assert.match(patternProblem('(a)\\1') ?? '', /backreference/);
    assert.match(patternProblem('(?<n>a)\\k<n>') ?? '', /backreference/);
    for (const p of ['a(?=b)', 'a(?!b)', '(?<=a)b', '(?<!a)b']) assert.match(patternProblem(p) ?? '', /lookahead or lookbehind/, p);
    assert.match(patternProblem('a++') ?? '', /not a valid RE2 regular expression/);
    assert.match(patternProblem('a'.repeat(300)) ?? '', /longer than 256/);
    assert.match(patternProblem('') ?? '', /empty/);
  });

  it('runs patterns that backtrack exponentially in linear time, so one filter cannot stall the process', () => {
    // The reproduction: six [a-z]* and a 100-character environment name took 13.5 s with a
    // backtracking engine; each further [a-z]* multiplied that by about 20. 40 of them fit in 256 characters.
    const six = `^${'[a-z]*'.repeat(6)}!`;
    const forty = `^${'[a-z]*'.repeat(40)}!`;
    const longEvent = (n: number) => event({ environment: 'a'.repeat(n) });
    for (const [pattern, length] of [[six, 100], [six, 1024], [forty, 100], [forty, 1024]] as const) {
      const conditions: Condition[] = [{ regexp: [{ doc: 'environment' }, { pattern }] }];
      assert.deepEqual(conditionProblems(conditions), {}, 'the pattern is accepted');
      const test = compileConditions(conditions);
      const started = performance.now();
      assert.equal(test(longEvent(length)), false);
      const ms = performance.now() - started;
      // A generous bound: the backtracking engine needs seconds (six groups) to ages (forty).
      assert.ok(ms < 1000, `${pattern.length}-character pattern on ${length} characters took ${ms.toFixed(0)} ms`);
    }
    assert.equal(compileConditions([{ regexp: [{ doc: 'environment' }, { pattern: forty }] }])(event({ environment: 'ab!' })), true);
  });
});
