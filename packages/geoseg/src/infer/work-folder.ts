// The work folder of a prediction (`.<output>.geoseg-partial/` beside the output) and its resume
// state. Finished scene rows are written as chunks: one small GeoTIFF per window row and output
// (classes, confidence, probabilities), complete when closed. A chunk is fsync'd, with its folder,
// before the state records it (with its SHA-256), and the state itself is replaced by an
// fsync'd rename, so the state only ever describes data that is on disk. A resume keeps the
// chunks that are there and match their hashes, in order, and redoes everything after the first
// one that does not. The final rasters are assembled from the chunks (a VRT mosaic) at the end.
import gdal from 'gdal-async';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
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
  chunks: Chunk[];
  /** Final paths being renamed into place (set once every output is staged): they are this run's. */
  publishing?: string[];
}

/** What geoseg itself puts in a work folder; anything else means the folder is not ours to delete. */
const OURS = /^(state\.json(\.tmp)?|rows-\d+-\d+\.\w+\.tif|(classes|confidence|probabilities)\..*|final\..*|map\.json|\..*)$/;

export class WorkFolder {
  private state: State;

  private constructor(readonly dir: string, state: State) {
    this.state = state;
  }

  /**
   * Open the work folder `dir` for a run with options `key`: with `resume`, the verified chunks of
   * an interrupted run with the same key are kept; otherwise (or without a usable state) it starts
   * empty. `kinds` are the outputs every chunk must have.
   */
  static open(dir: string, key: string, kinds: Kind[], { resume, output }: { resume: boolean; output: string }): WorkFolder {
    if (existsSync(dir)) {
      if (!statSync(dir).isDirectory()) throw new GeosegError(`${dir}: is a file, not a geoseg work folder; move it away`);
      const foreign = readdirSync(dir).filter((f) => !OURS.test(f));
      if (foreign.length > 0) throw new GeosegError(`${dir}: is not a geoseg work folder (it holds ${foreign.slice(0, 3).join(', ')}); move it away`);
    }
    if (resume && existsSync(join(dir, 'state.json'))) {
      let saved: State | null = null;
      try {
        saved = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as State;
      } catch { /* unreadable: start over */ }
      if (saved?.version === 2 && Array.isArray(saved.chunks)) {
        if (saved.key !== key) throw new GeosegError(`${output}: the interrupted run used other inputs or options; run without --resume to start over`);
        const work = new WorkFolder(dir, { version: 2, key, chunks: verifiedPrefix(dir, saved.chunks, kinds), publishing: saved.publishing });
        work.removeStray();
        work.save();
        return work;
      }
    }
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    const work = new WorkFolder(dir, { version: 2, key, chunks: [] });
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

  /** Scene rows [0, flushedTo) are in durable chunks. */
  get flushedTo(): number {
    return this.state.chunks.at(-1)?.y1 ?? 0;
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
  writeMosaic(kind: Kind, width: number, height: number, bands: number, georef: { geoTransform: number[] | null; crs: string | null }): string {
    if (this.flushedTo !== height) throw new Error(`rows ${this.flushedTo}..${height} are not done`);
    const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
    const lines = [`<VRTDataset rasterXSize="${width}" rasterYSize="${height}">`];
    if (georef.crs) lines.push(`  <SRS>${esc(georef.crs)}</SRS>`);
    if (georef.geoTransform) lines.push(`  <GeoTransform>${georef.geoTransform.join(', ')}</GeoTransform>`);
    for (let b = 1; b <= bands; b++) {
      lines.push(`  <VRTRasterBand dataType="Byte" band="${b}">`);
      for (const c of this.state.chunks) {
        const h = c.y1 - c.y0;
        lines.push(`    <SimpleSource><SourceFilename relativeToVRT="1">${chunkFile(c, kind)}</SourceFilename><SourceBand>${b}</SourceBand>`
          + `<SrcRect xOff="0" yOff="0" xSize="${width}" ySize="${h}"/><DstRect xOff="0" yOff="${c.y0}" xSize="${width}" ySize="${h}"/></SimpleSource>`);
      }
      lines.push('  </VRTRasterBand>');
    }
    lines.push('</VRTDataset>');
    const path = this.path(`${kind}.vrt`);
    writeFileDurable(path, `${lines.join('\n')}\n`);
    return path;
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

function chunkFile(c: { y0: number; y1: number }, kind: Kind): string {
  return `rows-${String(c.y0).padStart(7, '0')}-${String(c.y1).padStart(7, '0')}.${kind}.tif`;
}

/** The recorded chunks, in order, up to the first one that is missing, altered or not contiguous. */
function verifiedPrefix(dir: string, chunks: Chunk[], kinds: Kind[]): Chunk[] {
  const good: Chunk[] = [];
  for (const c of chunks) {
    if (c.y0 !== (good.at(-1)?.y1 ?? 0) || !(c.y1 > c.y0)) break;
    const intact = kinds.every((kind) => {
      const file = join(dir, chunkFile(c, kind));
      return c.sha256[kind] !== undefined && existsSync(file) && sha256File(file) === c.sha256[kind];
    });
    if (!intact) break;
    good.push(c);
  }
  return good;
}
