// Dependencies between src/'s folders run one way: no folder imports one that imports it back
// (directly or through others), and nothing imports cli/ or server/ (they call the library).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const src = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []);
}

/** The folder of src/ a file is in ('' for files directly in src/). */
const folderOf = (file: string) => {
  const parts = relative(src, file).split(sep);
  return parts.length > 1 ? parts[0]! : '';
};

/** Folder → the other folders its files import (relative imports only). */
function folderGraph(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const file of sourceFiles(src)) {
    const from = folderOf(file);
    for (const m of readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
      const to = folderOf(resolve(dirname(file), m[1]!));
      if (to !== from && to !== '') {
        if (!graph.has(from)) graph.set(from, new Set());
        graph.get(from)!.add(to);
      }
    }
  }
  return graph;
}

test('no folder of src/ imports one that imports it back', () => {
  const graph = folderGraph();
  const reaches = (a: string, b: string, seen = new Set<string>()): boolean =>
    [...(graph.get(a) ?? [])].some((n) => n === b || (!seen.has(n) && (seen.add(n), reaches(n, b, seen))));
  const cycles = [...graph].flatMap(([a, tos]) => [...tos].filter((b) => reaches(b, a)).map((b) => `${a} -> ${b}`));
  assert.deepEqual(cycles, [], 'each of these edges closes a cycle');
  // the check itself: the graph has the edges it should
  assert.ok(graph.get('train')?.has('models') && graph.get('cli')?.has('train'), 'imports are found');
});

test('nothing in the library imports cli/ or server/', () => {
  const graph = folderGraph();
  const offenders = [...graph].filter(([from, tos]) => from !== 'cli' && from !== '' && (tos.has('cli') || (from !== 'server' && tos.has('server')))).map(([from]) => from);
  assert.deepEqual(offenders, []);
});
