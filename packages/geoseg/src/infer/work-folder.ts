// The work folder of a prediction (`.<output>.geoseg-partial/` beside the output) and its resume
// state. Finished scene rows are written as chunks: one small GeoTIFF per window row and output
// (classes, confidence, probabilities), complete when closed. A chunk is fsync'd, with its folder,
// before the state records it (with its SHA-256), and the state itself is replaced by an
// fsync'd rename, so the state only ever describes data that is on disk. A resume keeps the
// chunks that are there and match their hashes, in order, and redoes everything after the first
// one that does not. The final rasters are assembled from the chunks (a VRT mosaic) at the end.
//
// A large scene shared among workers (predict-many) has one such folder per part of its rows,
// `part-NNNN/` inside the scene's work folder (their number in `parts.json`), each starting at
// its part's first row; the mosaic is then made of every part's chunks.
import gdal from 'gdal-async';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { GeosegError } from '../errors.js';
import { fsyncPath, sha256File, writeFileDurable } from '../durable.js';

export type Kind = 'classes' | 'confidence' | 'probabilities';

export interface Chunk {
  /** Scene rows [y0, y1). */
  y0: number;
  y1: number;
  /** SHA-256 of each output's chunk file. */
  sha256: Partial<Record<Kind, string>>;
}

interface State {
  version: 2;
  key: string;
  /** The first scene row of this folder's chunks (a part of a scene: its first row; else 0). */
  start?: number;
  chunks: Chunk[];
  /** Final paths being renamed into place (set once every output is staged): they are this run's. */
  publishing?: string[];
}

/** What geoseg itself puts in a work folder; anything else means the folder is not ours to delete. */
const OURS = /^(state\.json(\.tmp)?|rows-\d+-\d+\.\w+\.tif|(classes|confidence|probabilities)\..*|final\..*|map\.json|parts\.json(\.tmp)?|part-\d{4,}|\..*)$/;

/** The work folder of part `index` of a scene whose work folder is `dir`. */
export const partDir = (dir: string, index: number) => join(dir, `part-${String(index).padStart(4, '0')}`);

/** Refuses a folder that holds anything geoseg does not put there (it is not ours to delete). */
function checkOurs(dir: string): void {
  if (!existsSync(dir)) return;
  if (!statSync(dir).isDirectory()) throw new GeosegError(`${dir}: is a file, not a geoseg work folder; move it away`);
  const foreign = readdirSync(dir).filter((f) => !OURS.test(f));
  if (foreign.length > 0) throw new GeosegError(`${dir}: is not a geoseg work folder (it holds ${foreign.slice(0, 3).join(', ')}); move it away`);
}

export class WorkFolder {
  private state: State;

  private constructor(readonly dir: string, state: State) {
    this.state = state;
  }

  /**
   * Open the work folder `dir` for a run with options `key`: with `resume`, the verified chunks of
   * an interrupted run with the same key are kept; otherwise (or without a usable state) it starts
   * empty. `kinds` are the outputs every chunk must have; `start` is the first row of its chunks
   * (a part of a scene's rows).
   */
  static open(dir: string, key: string, kinds: Kind[], { resume, output, start = 0 }: { resume: boolean; output: string; start?: number }): WorkFolder {
    checkOurs(dir);
    if (resume && existsSync(join(dir, 'state.json'))) {
      let saved: State | null = null;
      try {
        saved = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as State;
      } catch { /* unreadable: start over */ }
      if (saved?.version === 2 && Array.isArray(saved.chunks)) {
        if (saved.key !== key || (saved.start ?? 0) !== start) throw new GeosegError(`${output}: the interrupted run used other inputs or options; run without --resume to start over`);
        const work = new WorkFolder(dir, { version: 2, key, ...(start ? { start } : {}), chunks: verifiedPrefix(dir, saved.chunks, kinds, start), publishing: saved.publishing });
        work.removeStray();
        work.save();
        return work;
      }
    }
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    const work = new WorkFolder(dir, { version: 2, key, ...(start ? { start } : {}), chunks: [] });
    work.save();
    fsyncPath(join(dir, '..'));
    return work;
  }

  /**
   * The outputs an interrupted run was renaming into place when it stopped (its state, read
   * without changing anything): those that exist are its own, not the user's.
   */
  static publishing(dir: string): string[] {
    try {
      const saved = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as State;
      return Array.isArray(saved.publishing) ? saved.publishing : [];
    } catch {
      return [];
    }
  }

  /** Record (durably) that these outputs are about to be renamed into place. */
  markPublishing(paths: string[]): void {
    this.state.publishing = paths;
    this.save();
  }

  /**
   * The number of parts of a scene whose rows are shared among workers (`parts.json` in its work
   * folder `dir`), or null when the folder holds no parts.
   */
  static partCount(dir: string): number | null {
    try {
      const { parts } = JSON.parse(readFileSync(join(dir, 'parts.json'), 'utf8')) as { parts: number };
      return Number.isInteger(parts) && parts > 1 ? parts : null;
    } catch {
      return null;
    }
  }

  /**
   * A scene predicted in parts, for assembling them: each part's folder as a resume opens it
   * (its verified chunks; `starts` are the parts' first rows), and the scene's own folder, whose
   * state only records the outputs being published.
   */
  static openParts(dir: string, key: string, kinds: Kind[], output: string, starts: readonly number[]): { scene: WorkFolder; parts: WorkFolder[] } {
    const parts = starts.map((start, i) => WorkFolder.open(partDir(dir, i), key, kinds, { resume: true, output, start }));
    const publishing = WorkFolder.publishing(dir);
    return { scene: new WorkFolder(dir, { version: 2, key, chunks: [], ...(publishing.length ? { publishing } : {}) }), parts };
  }

  /** True when `dir` holds a state file (a whole-scene run's; in a folder of parts, the assembly's publishing record). */
  static hasWholeSceneState(dir: string): boolean {
    return existsSync(join(dir, 'state.json'));
  }

  /**
   * Sets up `dir` for a scene predicted in `parts` parts: kept as it is when resuming a run with
   * the same parts, otherwise emptied (if ours) and given its `parts.json`.
   */
  static prepareParts(dir: string, parts: number, windowRows: number, { resume }: { resume: boolean }): void {
    checkOurs(dir);
    if (resume && WorkFolder.partCount(dir) === parts) return;
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    writeFileDurable(join(dir, 'parts.json'), JSON.stringify({ parts, windowRows }));
    fsyncPath(join(dir, '..'));
  }

  /** The window rows of the grid the parts were cut from (parts.json), or null. */
  static partWindowRows(dir: string): number | null {
    try {
      const { windowRows } = JSON.parse(readFileSync(join(dir, 'parts.json'), 'utf8')) as { windowRows?: number };
      return Number.isInteger(windowRows) ? windowRows! : null;
    } catch {
      return null;
    }
  }

  /** Scene rows [start, flushedTo) are in durable chunks. */
  get flushedTo(): number {
    return this.state.chunks.at(-1)?.y1 ?? this.state.start ?? 0;
  }

  get chunks(): readonly Chunk[] {
    return this.state.chunks;
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  /**
   * Write scene rows [y0, y1) of each output (bands of width × (y1 − y0) bytes) as chunk files,
   * make them durable, then record them. Chunks come in order: y0 is the end of the last one.
   */
  async addChunk(y0: number, y1: number, width: number, outputs: Partial<Record<Kind, Uint8Array[]>>): Promise<void> {
    if (y0 !== this.flushedTo) throw new Error(`chunk at row ${y0}, expected ${this.flushedTo}`);
    const chunk: Chunk = { y0, y1, sha256: {} };
    for (const [kind, bands] of Object.entries(outputs) as [Kind, Uint8Array[] | undefined][]) {
      if (!bands) continue;
      const file = this.path(chunkFile(chunk, kind));
      const ds = await gdal.openAsync(file, 'w', 'GTiff', width, y1 - y0, bands.length, gdal.GDT_Byte, ['COMPRESS=DEFLATE', 'ZLEVEL=1', 'BIGTIFF=IF_SAFER']);
      try {
        for (const [b, data] of bands.entries()) await ds.bands.get(b + 1).pixels.writeAsync(0, 0, width, y1 - y0, data);
      } finally {
        ds.close(); // a GeoTIFF is complete (tile index and all) once closed
      }
      fsyncPath(file);
      chunk.sha256[kind] = sha256File(file);
    }
    fsyncPath(this.dir);
    this.state.chunks.push(chunk);
    this.save();
  }

  /** A VRT mosaic of one output's chunks (all rows must be done): the finished raster, read in place. */
  writeMosaic(kind: Kind, width: number, height: number, bands: number, georef: Georef): string {
    if (this.flushedTo !== height) throw new Error(`rows ${this.flushedTo}..${height} are not done`);
    return writeMosaic(this.path(`${kind}.vrt`), this.state.chunks.map((c) => ({ ...c, file: chunkFile(c, kind) })), width, height, bands, georef);
  }

  /**
   * The mosaic of one output over the parts of a scene (folders inside this one, in order; they
   * must cover rows [0, height) end to end), written in this folder.
   */
  writePartsMosaic(parts: readonly WorkFolder[], kind: Kind, width: number, height: number, bands: number, georef: Georef): string {
    const sources = parts.flatMap((p) => p.chunks.map((c) => ({ ...c, file: `${relative(this.dir, p.dir).split(sep).join('/')}/${chunkFile(c, kind)}` })));
    sources.forEach((c, i) => {
      if (c.y0 !== (i === 0 ? 0 : sources[i - 1].y1)) throw new Error(`the parts' rows are not contiguous at row ${c.y0}`);
    });
    if ((sources.at(-1)?.y1 ?? 0) !== height) throw new Error(`rows ${sources.at(-1)?.y1 ?? 0}..${height} are not done`);
    return writeMosaic(this.path(`${kind}.vrt`), sources, width, height, bands, georef);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  private save(): void {
    writeFileDurable(this.path('state.json'), JSON.stringify(this.state));
  }

  /** Remove everything but the state and the recorded chunks (chunks and files of a killed attempt). */
  private removeStray(): void {
    const keep = new Set(['state.json']);
    for (const c of this.state.chunks) for (const kind of Object.keys(c.sha256) as Kind[]) keep.add(chunkFile(c, kind));
    for (const f of readdirSync(this.dir)) if (!keep.has(f)) rmSync(join(this.dir, f), { recursive: true, force: true });
  }
}

export interface Georef {
  geoTransform: number[] | null;
  crs: string | null;
}

/** A VRT at `path` stacking row chunks (files relative to it) into a width × height raster. */
function writeMosaic(path: string, chunks: { file: string; y0: number; y1: number }[], width: number, height: number, bands: number, georef: Georef): string {
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  const lines = [`<VRTDataset rasterXSize="${width}" rasterYSize="${height}">`];
  if (georef.crs) lines.push(`  <SRS>${esc(georef.crs)}</SRS>`);
  if (georef.geoTransform) lines.push(`  <GeoTransform>${georef.geoTransform.join(', ')}</GeoTransform>`);
  for (let b = 1; b <= bands; b++) {
    lines.push(`  <VRTRasterBand dataType="Byte" band="${b}">`);
    for (const c of chunks) {
      const h = c.y1 - c.y0;
      lines.push(`    <SimpleSource><SourceFilename relativeToVRT="1">${esc(c.file)}</SourceFilename><SourceBand>${b}</SourceBand>`
        + `<SrcRect xOff="0" yOff="0" xSize="${width}" ySize="${h}"/><DstRect xOff="0" yOff="${c.y0}" xSize="${width}" ySize="${h}"/></SimpleSource>`);
    }
    lines.push('  </VRTRasterBand>');
  }
  lines.push('</VRTDataset>');
  writeFileDurable(path, `${lines.join('\n')}\n`);
  return path;
}

function chunkFile(c: { y0: number; y1: number }, kind: Kind): string {
  return `rows-${String(c.y0).padStart(7, '0')}-${String(c.y1).padStart(7, '0')}.${kind}.tif`;
}

/** The recorded chunks, in order, up to the first one that is missing, altered or not contiguous. */
function verifiedPrefix(dir: string, chunks: Chunk[], kinds: Kind[], start: number): Chunk[] {
  const good: Chunk[] = [];
  for (const c of chunks) {
    if (c.y0 !== (good.at(-1)?.y1 ?? start) || !(c.y1 > c.y0)) break;
    const intact = kinds.every((kind) => {
      const file = join(dir, chunkFile(c, kind));
      return c.sha256[kind] !== undefined && existsSync(file) && sha256File(file) === c.sha256[kind];
    });
    if (!intact) break;
    good.push(c);
  }
  return good;
}
