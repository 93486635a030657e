import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { cycles, forbidden, importGraph, importsOf } from './imports.ts';

/** Domain folders never reach into the HTTP layer or the delivery engine (Standards: "a domain folder never imports http/"). */
const LAYERS = [{ from: ['store', 'events', 'content', 'webhooks'], to: ['http', 'delivery'] }];

describe('the import graph of src/', () => {
  const graph = importGraph('src');

  it('has no import cycle', () => {
    assert.deepEqual(cycles(graph).map((c) => c.join(' -> ')), []);
  });

  it('has no import from store/, events/, content/ or webhooks/ into http/ or delivery/', () => {
    assert.deepEqual(forbidden(graph, LAYERS), []);
  });
});

describe('the import checker', () => {
  const tree = (files: Record<string, string>) => {
    const dir = mkdtempSync(join(tmpdir(), 'herald-imports-'));
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    return dir;
  };

  it('reads imports, type-only imports and re-exports, not dynamic imports', () => {
    const text = "import a from './a.ts';\nimport type { B } from '../b.ts';\nexport { c } from './c.ts';\nconst d = await import('./d.ts');\n";
    assert.deepEqual(importsOf(text), ['./a.ts', '../b.ts', './c.ts']);
  });

  it('finds a cycle through three files, and a layer rule broken by a type import', () => {
    const dir = tree({
      'webhooks/a.ts': "import { b } from '../delivery/b.ts';\nexport const a = 1;\n",
      'delivery/b.ts': "import { c } from './c.ts';\nexport const b = 1;\n",
      'delivery/c.ts': "import type { A } from '../webhooks/a.ts';\nexport const c = 1;\n",
      'ops/d.ts': "import { a } from '../webhooks/a.ts';\n",
    });
    try {
      const g = importGraph(dir);
      assert.deepEqual(cycles(g), [['delivery/b.ts', 'delivery/c.ts', 'webhooks/a.ts', 'delivery/b.ts']]);
      assert.deepEqual(forbidden(g, LAYERS), ['webhooks/a.ts -> delivery/b.ts']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the delivery queue folder', () => {
  const dir = 'src/delivery/queue';
  const diagram = readFileSync(join(dir, 'index.ts'), 'utf8');
  /** Files that hold shared definitions or helpers rather than a transition (decoded.ts: the claims' parse cache). */
  const shared = new Set(['index.ts', 'states.ts', 'lanes.ts', 'decoded.ts']);

  it('has a file per transition, each naming its transition and each drawn in the diagram at the top of the folder', () => {
    const files = readdirSync(dir).filter((f) => f.endsWith('.ts') && !shared.has(f));
    assert.ok(files.length >= 8, files.join(', '));
    for (const f of files) {
      assert.match(readFileSync(join(dir, f), 'utf8'), /^ \* Transitions?(?: \(.*\))?: /m, `${f} names its transition`);
      assert.ok(diagram.includes(f), `the diagram in index.ts shows ${f}`);
    }
  });

  it('names every execution state in the diagram, parked and rate_limited included', () => {
    for (const s of ['queued', 'pending', 'parked', 'rate_limited', 'in_flight', 'succeeded', 'failed']) assert.match(diagram, new RegExp(`^ \\*   ${s} `, 'm'), s);
  });
});

describe('the HTTP routes', () => {
  it('hold no SQL: they parse, call a domain module or service, and present', () => {
    const dir = 'src/http/routes';
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
      const text = readFileSync(join(dir, f), 'utf8');
      assert.doesNotMatch(text, /\b(SELECT\s.+\sFROM|INSERT INTO|UPDATE \w+ SET|DELETE FROM)\b/, f);
    }
  });
});
