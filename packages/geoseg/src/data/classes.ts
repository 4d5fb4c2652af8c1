// The class table: ids, names and colours of the classes, which source colours or ids merge
// into each, and which become the ignore index. Read from YAML or JSON, validated with zod.
import { z } from 'zod';
import { readDocument } from '../document.js';
import { ClassTableError } from '../errors.js';

const hexColor = z.string().regex(/^#[0-9a-fA-F]{6}$/, 'a colour like "#3C1098"');
const source = z.union([hexColor, z.number().int().min(0).max(255)]);

const schema = z.object({
  ignoreIndex: z.number().int().min(0).max(255).default(255),
  classes: z.array(z.object({
    id: z.number().int().min(0).max(254),
    name: z.string().min(1),
    color: hexColor,
    from: z.array(source).optional(),
  }).strict()).min(1),
  ignore: z.array(source).default([]),
}).strict();

export interface ClassDef {
  id: number;
  name: string;
  /** [r, g, b] */
  color: [number, number, number];
}

export interface ClassTable {
  ignoreIndex: number;
  classes: ClassDef[];
  /** Source RGB colour (as 0xRRGGBB) → class id or the ignore index. */
  colorMap: Map<number, number>;
  /** Source index value (0..255) → class id or the ignore index. */
  idMap: Map<number, number>;
}

const rgbOf = (hex: string): [number, number, number] => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)) as [number, number, number];
export const packRgb = ([r, g, b]: number[]): number => (r << 16) | (g << 8) | b;
export const hexOf = (packed: number): string => `#${packed.toString(16).padStart(6, '0').toUpperCase()}`;

/** Validate a parsed classes document; `where` names it in errors. */
export function classTableFrom(doc: unknown, where: string): ClassTable {
  const parsed = schema.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue.path.length ? issue.path.join('.') : '(top level)';
    throw new ClassTableError(`${where}: ${field}: ${issue.message}`);
  }
  const { ignoreIndex, classes, ignore } = parsed.data;
  const colorMap = new Map<number, number>();
  const idMap = new Map<number, number>();
  const seenIds = new Set<number>();
  const add = (src: string | number, target: number, owner: string) => {
    const [map, key, label] = typeof src === 'string' ? [colorMap, packRgb(rgbOf(src)), src.toUpperCase()] : [idMap, src, `id ${src}`];
    if (map.has(key)) throw new ClassTableError(`${where}: ${owner}: source ${label} is already used by another class or by ignore`);
    map.set(key, target);
  };
  for (const c of classes) {
    if (seenIds.has(c.id)) throw new ClassTableError(`${where}: classes: duplicate id ${c.id} (${c.name})`);
    if (c.id === ignoreIndex) throw new ClassTableError(`${where}: classes: id ${c.id} (${c.name}) equals ignoreIndex`);
    seenIds.add(c.id);
    // Without `from`, a class takes its own colour (RGB masks) and its own id (index masks).
    for (const src of c.from ?? [c.color, c.id]) add(src, c.id, `class ${c.name}`);
  }
  for (const src of ignore) add(src, ignoreIndex, 'ignore');
  return { ignoreIndex, classes: classes.map((c) => ({ id: c.id, name: c.name, color: rgbOf(c.color) })), colorMap, idMap };
}

/** Read a classes file (.yaml, .yml or .json). */
export function readClassTable(path: string): ClassTable {
  return classTableFrom(readDocument(path, ClassTableError), path);
}
