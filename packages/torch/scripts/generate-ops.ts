// Reads every operator schema from the live libtorch dispatcher and writes typed wrappers:
//   src/generated/ops.ts            torch.<op>(...) functions
//   src/generated/tensor-methods.ts Tensor methods (ops whose first argument is `self`)
// Run with `npm run generate` after changing libtorch versions; the output is committed.
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { native, type SchemaArg, type SchemaInfo } from '../src/native.js';

const outDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'generated');

// Members the Tensor class writes by hand (generated methods of these names are skipped).
const HANDWRITTEN_METHODS = new Set(['shape', 'ndim', 'dtype', 'device', 'requiresGrad', 'grad', 'isLeaf', 'gradFn',
  'isDisposed', 'size', 'backward', 'item', 'data', 'bytes', 'toArray', 'toString', 'isSame', 'dispose', 'keep', 'to',
  'float', 'double', 'half', 'bfloat16', 'long', 'int', 'bool', 'byte', 'cpu', 'cuda', 'constructor', 'type', 'numel', 'dim', 'stride', 'isContiguous']);
// Top-level names the package defines by hand.
const HANDWRITTEN_FUNCTIONS = new Set(['tensor', 'from', 'load', 'save', 'tidy', 'keep', 'dispose', 'noGrad',
  'inferenceMode', 'manualSeed', 'ops', 'jit', 'cuda', 'native', 'default', 'fromTypedArray']);
const RESERVED = new Set(['break', 'case', 'catch', 'class', 'const', 'continue', 'debugger', 'default', 'delete', 'do',
  'else', 'enum', 'export', 'extends', 'false', 'finally', 'for', 'function', 'if', 'import', 'in', 'instanceof', 'new',
  'null', 'return', 'super', 'switch', 'this', 'throw', 'true', 'try', 'typeof', 'var', 'void', 'while', 'with', 'yield',
  'let', 'static', 'implements', 'interface', 'package', 'private', 'protected', 'public', 'await', 'arguments', 'eval']);

function camel(name: string): string {
  const lead = /^_*/.exec(name)![0];
  const trail = /_*$/.exec(name.slice(lead.length))![0];
  const core = name.slice(lead.length, name.length - trail.length);
  return lead + core.replace(/_+([a-zA-Z0-9])/g, (_, c: string) => c.toUpperCase()) + trail;
}

function safeParam(name: string): string {
  const c = camel(name);
  return RESERVED.has(c) ? `${c}_` : c;
}

function argType(a: SchemaArg): string {
  const base: Record<string, string> = {
    'Tensor': 'Tensor', 'Tensor[]': 'Tensor[]', '(Tensor|null)[]': '(Tensor | null)[]', 'integer': 'number',
    'number': 'number', 'boolean': 'boolean', 'number (Scalar)': 'Scalar', 'number[]': 'number | number[]',
    'boolean[]': 'boolean[]', 'string': 'string', 'dtype name': 'DType', 'layout name': 'Layout',
    'memory format name': 'MemoryFormat', 'device string': 'Device', 'null (Generator)': 'null',
  };
  let t = a.kind === 'integer[]' ? (a.n > 0 ? 'number | number[]' : 'number[]') : base[a.kind];
  if (t === undefined) throw new Error(`no TS type for ${a.kind}`);
  if (a.optional && t !== 'null') t = `${t} | null`;
  return t;
}

function returnType(s: SchemaInfo): string {
  const one = (t: string): string => ({
    'Tensor': 'Tensor', 'Tensor?': 'Tensor | null', 'Tensor[]': 'Tensor[]', 'int': 'number', 'float': 'number',
    'bool': 'boolean', 'Scalar': 'number', 'ScalarType': 'DType', 'str': 'string', 'int[]': 'number[]',
  } as Record<string, string>)[t] ?? 'unknown';
  if (s.returns.length === 0) return 'void';
  if (s.returns.length === 1) return one(s.returns[0].type);
  return `[${s.returns.map((r) => one(r.type)).join(', ')}]`;
}

interface Signature {
  params: string[]; // "name: type" or "name?: type"
  ret: string;
  doc: string;
}

// The statement that puts the arguments' handles in the shared array (S[1], S[2], ...): every
// handle is read into a local before any is written, since reading one may run JS (a Proxy trap)
// that calls ops and reuses the array.
function handles(arity: number, self: boolean): string {
  const reads = [...(self ? ['this[kId]'] : []), ...Array.from({ length: arity }, (_, k) => `s(a${k})`)];
  if (reads.length === 1) return `S[1] = ${reads[0]};`;
  const locals = reads.map((r, k) => `h${k} = ${r}`).join(', ');
  return `const ${locals}; ${reads.map((_, k) => `S[${k + 1}] = h${k};`).join(' ')}`;
}

function signature(s: SchemaInfo, dropSelf: boolean): Signature {
  const args = s.args.filter((a) => !a.isOut);
  const positional = args.filter((a) => !a.kwOnly).slice(dropSelf ? 1 : 0);
  const kw = args.filter((a) => a.kwOnly);
  // An argument may be omitted only when every later positional one may be too.
  let lastRequired = -1;
  positional.forEach((a, i) => { if (!a.hasDefault) lastRequired = i; });
  const params = positional.map((a, i) => `${safeParam(a.name)}${i > lastRequired ? '?' : ''}: ${argType(a)}`);
  if (kw.length > 0) {
    const fields = kw.map((a) => `${camel(a.name)}${a.hasDefault ? '?' : ''}: ${argType(a)}`);
    if (args.some((a) => a.name === 'pin_memory')) fields.push('requiresGrad?: boolean');
    params.push(`${kw.some((a) => !a.hasDefault) ? 'opts' : 'opts?'}: { ${fields.join('; ')} }`);
  }
  return { params, ret: returnType(s), doc: s.schema };
}

const schemas = native.listSchemas().filter((s) => s.name.startsWith('aten::') && s.supported);
const groups = new Map<string, SchemaInfo[]>();
for (const s of schemas) {
  const base = s.name.slice('aten::'.length);
  if (base.startsWith('__') || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(base)) continue;
  if (!groups.has(base)) groups.set(base, []);
  groups.get(base)!.push(s);
}
for (const list of groups.values()) list.sort((a, b) => (a.overload < b.overload ? -1 : a.overload > b.overload ? 1 : 0));

const header = `// Generated by scripts/generate-ops.ts from libtorch ${native.buildInfo().version}'s operator schemas. Do not edit.\n/* eslint-disable */\n`;
const fnLines: string[] = [header,
  `import { native } from '../native.js';`,
  `import { result, shared as S, slotOf as s, kId, type Tensor } from '../tensor.js';`,
  `import type { DType, Device, Layout, MemoryFormat, Scalar } from '../types.js';`,
  ``,
  `const C = native.callGroupIds;`,
  `const ids = new Int32Array(${groups.size}).fill(-1);`,
  `/** @internal Operator group id of ATen op number i (looked up once). */`,
  `export function g(i: number, name: string): number {`,
  `  const id = ids[i];`,
  `  return id >= 0 ? id : (ids[i] = native.opGroup(name));`,
  `}`,
  ``];
const methodDecls: string[] = [];
const methodImpls: string[] = [];
const usedFunctions = new Set<string>();
const usedMethods = new Set<string>();
let index = 0;
let nFunctions = 0;
let nMethods = 0;

for (const [base, list] of [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
  const i = index++;
  const name = camel(base);
  const opName = `aten::${base}`;
  // Functions
  if (!HANDWRITTEN_FUNCTIONS.has(name) && !RESERVED.has(name) && !usedFunctions.has(name)) {
    usedFunctions.add(name);
    const sigs = list.map((s) => signature(s, false));
    const arity = Math.max(...sigs.map((s) => s.params.length));
    const seen = new Set<string>();
    for (const s of sigs) {
      const key = s.params.join(',');
      if (seen.has(key)) continue;
      seen.add(key);
      fnLines.push(`/** \`${s.doc.replace(/\*\//g, '* /')}\` */`);
      fnLines.push(`export function ${name}(${s.params.join(', ')}): ${s.ret};`);
    }
    const ps = Array.from({ length: arity }, (_, k) => `a${k}?: any`).join(', ');
    const as = Array.from({ length: arity }, (_, k) => `a${k}`).join(', ');
    fnLines.push(`export function ${name}(${ps}): any {`);
    // Handles of the arguments go to the shared array: the addon reads them from there. All are
    // read before any is written (reading one may run a Proxy trap that calls ops).
    if (arity) fnLines.push(`  ${handles(arity, false)}`);
    fnLines.push(`  return result(C(g(${i}, '${opName}')${arity ? ', ' + as : ''}));`);
    fnLines.push(`}`);
    nFunctions++;
  }
  // Methods: overloads whose first argument is a Tensor named self.
  const selfOverloads = list.filter((s) => s.args.length > 0 && s.args[0].name === 'self' && s.args[0].kind === 'Tensor' && !s.args[0].optional && !s.args[0].kwOnly);
  if (selfOverloads.length > 0 && !HANDWRITTEN_METHODS.has(name) && !usedMethods.has(name) && !name.startsWith('_')) {
    usedMethods.add(name);
    const sigs = selfOverloads.map((s) => signature(s, true));
    const arity = Math.max(...sigs.map((s) => s.params.length));
    const seen = new Set<string>();
    for (const s of sigs) {
      const key = s.params.join(',');
      if (seen.has(key)) continue;
      seen.add(key);
      methodDecls.push(`  /** \`${s.doc.replace(/\*\//g, '* /')}\` */`);
      methodDecls.push(`  ${name}(${s.params.join(', ')}): ${s.ret};`);
    }
    const ps = Array.from({ length: arity }, (_, k) => `a${k}`).join(', ');
    const slots = handles(arity, true);
    methodImpls.push(`  ${name}: { value: function (this: Tensor${arity ? ', ' + Array.from({ length: arity }, (_, k) => `a${k}?: unknown`).join(', ') : ''}) { ${slots} return result(C(g(${i}, '${opName}'), this${arity ? ', ' + ps : ''})); } },`);
    nMethods++;
  }
}

const methodFile = [header,
  `import { native } from '../native.js';`,
  `import type { Tensor } from '../tensor.js';`,
  `import type { DType, Device, Layout, MemoryFormat, Scalar } from '../types.js';`,
  `import { g } from './ops.js';`,
  `import { result, shared as S, slotOf as s, kId } from '../tensor.js';`,
  ``,
  `const C = native.callGroupIds;`,
  ``,
  `/** Every ATen op whose first argument is \`self\`, as a Tensor method. */`,
  `export interface TensorMethods {`,
  ...methodDecls,
  `}`,
  ``,
  `/** @internal Put the generated methods on Tensor.prototype. */`,
  `export function installTensorMethods(proto: object): void {`,
  `  Object.defineProperties(proto, {`,
  ...methodImpls.map((l) => `  ${l}`),
  `  });`,
  `}`,
  ``];

mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'ops.ts'), fnLines.join('\n') + '\n');
writeFileSync(join(outDir, 'tensor-methods.ts'), methodFile.join('\n'));
console.log(`generated ${nFunctions} functions and ${nMethods} Tensor methods from ${schemas.length} schemas into ${outDir}`);
