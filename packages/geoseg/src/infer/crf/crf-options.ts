// The dense CRF's options as text (`--crf default` or `--crf sxy=60,srgb=10,iterations=10`):
// every key not given keeps pydensecrf's default.
import { GeosegError } from '../../errors.js';
import { CRF_DEFAULTS, type CrfOptions } from './dense-crf.js';

/** key → where it goes; `gaussian-*` are the smoothness kernel's, the others the bilateral one's. */
const KEYS: Record<string, (o: CrfOptions, v: number) => void> = {
  iterations: (o, v) => { o.iterations = v; },
  sxy: (o, v) => { o.bilateral.sxy = v; },
  srgb: (o, v) => { o.bilateral.srgb = v; },
  compat: (o, v) => { o.bilateral.compat = v; },
  'gaussian-sxy': (o, v) => { o.gaussian.sxy = v; },
  'gaussian-compat': (o, v) => { o.gaussian.compat = v; },
};

/** Parses `default` or `key=value,…` (keys: iterations, sxy, srgb, compat, gaussian-sxy, gaussian-compat). */
export function parseCrf(text: string, field = '--crf', defaults: CrfOptions = CRF_DEFAULTS): CrfOptions {
  const o: CrfOptions = structuredClone(defaults);
  const t = text.trim();
  if (t === 'default' || t === '') return o;
  for (const part of t.split(',')) {
    const [key, value, extra] = part.split('=').map((s) => s.trim());
    const set = KEYS[key];
    if (!set || value === undefined || extra !== undefined) throw new GeosegError(`${field}: expected 'default' or key=value pairs (${Object.keys(KEYS).join(', ')}), got '${part}'`);
    const v = Number(value);
    const integer = key === 'iterations';
    const ok = value !== '' && Number.isFinite(v) && (integer ? Number.isInteger(v) && v >= 1 : key.endsWith('compat') ? v >= 0 : v > 0);
    if (!ok) throw new GeosegError(`${field}: ${key} must be ${integer ? 'a positive integer' : key.endsWith('compat') ? 'a number ≥ 0' : 'a number > 0'}, got '${value}'`);
    set(o, v);
  }
  return o;
}
