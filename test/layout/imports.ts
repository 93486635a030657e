/**
 * The import graph of src/, read with the TypeScript compiler (static imports and re-exports,
 * type-only ones included: a type import is still a dependency a reader follows; dynamic
 * `import()` is left out, it is how a layer reaches up at run time on purpose).
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

/** file (relative to src/, e.g. `delivery/queue.ts`) -> the src files it imports. */
export type Graph = Map<string, string[]>;

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return tsFiles(p);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [p] : [];
  });
}

/** The specifiers a file imports statically (import ... from, export ... from). */
export function importsOf(source: string, fileName = 'x.ts'): string[] {
  const sf = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, false);
  const out: string[] = [];
  for (const st of sf.statements) {
    if ((ts.isImportDeclaration(st) || ts.isExportDeclaration(st)) && st.moduleSpecifier && ts.isStringLiteral(st.moduleSpecifier)) {
      out.push(st.moduleSpecifier.text);
    }
  }
  return out;
}

export function importGraph(srcDir: string): Graph {
  const root = resolve(srcDir);
  const graph: Graph = new Map();
  for (const file of tsFiles(root)) {
    const from = relative(root, file);
    const deps = importsOf(readFileSync(file, 'utf8'), file)
      .filter((s) => s.startsWith('.'))
      .map((s) => relative(root, resolve(dirname(file), s)))
      .filter((to) => !to.startsWith('..'));
    graph.set(from, [...new Set(deps)]);
  }
  return graph;
}

/** Every import cycle, each as the files in order (first file repeated at the end), none twice. */
export function cycles(graph: Graph): string[][] {
  // Tarjan's strongly connected components; a component of more than one file (or a file that
  // imports itself) holds a cycle, reported as one path through it.
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(pathThrough(graph, new Set(comp), v));
    }
  };
  for (const v of [...graph.keys()].sort()) if (!idx.has(v)) visit(v);
  return found;
}

/** A cycle from `start` back to it inside one strongly connected component (breadth first: the shortest). */
function pathThrough(graph: Graph, comp: Set<string>, start: string): string[] {
  const prev = new Map<string, string>();
  const queue = [start];
  while (queue.length) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!comp.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let x = v; x !== start; x = prev.get(x)!) path.splice(1, 0, x);
        return [...path, start];
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

/** Imports that break a layer rule: `from` folders must not import `to` folders. */
export function forbidden(graph: Graph, rules: Array<{ from: string[]; to: string[] }>): string[] {
  const top = (f: string) => f.split('/')[0];
  const out: string[] = [];
  for (const [file, deps] of graph) {
    for (const dep of deps) {
      for (const r of rules) if (r.from.includes(top(file)) && r.to.includes(top(dep))) out.push(`${file} -> ${dep}`);
    }
  }
  return out.sort();
}
