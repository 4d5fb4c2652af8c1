// Serialization: safetensors (written by us and by hand in Python), torch.load / torch.save, and
// TorchScript modules. The fixtures come from test/fixtures/make_fixtures.py (run with Python's
// PyTorch once, outputs committed); these tests do not need Python.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import * as torch from '../src/index.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const fixture = (name: string): string => path.join(FIXTURES, name);

/** One tensor as make_fixtures.py describes it: int64 values are decimal strings. */
interface Expected {
  dtype: string;
  shape: number[];
  values: (number | boolean | string)[];
}
const expected = JSON.parse(fs.readFileSync(fixture('expected.json'), 'utf8'));

/** A fresh temporary folder for fn, removed afterwards. */
function withTmp<T>(fn: (dir: string) => T): T {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'geoseg-torch-serialization-'));
  try {
    return fn(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A tensor's elements as JSON-comparable values: int64 as strings, bool as booleans. */
function flatValues(t: torch.Tensor): (number | boolean | string)[] {
  const d = t.data();
  if (t.dtype === 'int64') return Array.from(d as BigInt64Array, (v) => v.toString());
  if (t.dtype === 'bool') return Array.from(d as Uint8Array, (v) => v !== 0);
  return Array.from(d as ArrayLike<number>);
}

/** dtype, shape and values; exact (Object.is per element, so -0 and NaN count) unless tol > 0. */
function assertTensor(t: unknown, exp: Expected, what: string, tol = 0): void {
  assert.ok(t instanceof torch.Tensor, `${what}: expected a Tensor, got ${typeof t}`);
  assert.equal(t.dtype, exp.dtype, `${what}: dtype`);
  assert.deepEqual(t.shape, exp.shape, `${what}: shape`);
  const got = flatValues(t);
  if (tol === 0) {
    assert.deepEqual(got, exp.values, `${what}: values`);
    return;
  }
  assert.equal(got.length, exp.values.length, `${what}: number of values`);
  for (let i = 0; i < got.length; i++) {
    const diff = Math.abs((got[i] as number) - (exp.values[i] as number));
    assert.ok(diff <= tol, `${what}[${i}]: got ${got[i]}, expected ${exp.values[i]} (difference ${diff} > ${tol})`);
  }
}

const bytesOf = (a: ArrayBufferView): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const u16 = (...bits: number[]): Buffer => bytesOf(Uint16Array.from(bits));
const live = (): number => torch.memoryStats().liveTensors;

// ------------------------------------------------------------------------------------------------
// safetensors written by saveSafetensors

test('safetensors: round trip of every dtype (plus 0-d, empty and non-contiguous tensors) with metadata', () => {
  withTmp((dir) => torch.tidy(() => {
    // Each case: the tensor, its safetensors dtype code and its bytes worked out without libtorch.
    const f32 = new Float32Array([1.5, -0, Infinity, -Infinity, NaN, 1.401298464324817e-45, 3.4028234663852886e38, Math.fround(0.1)]);
    const f64 = new Float64Array([Math.PI, -0, 5e-324, Number.MAX_VALUE, NaN, -1e300]);
    const i64 = new BigInt64Array([0n, -1n, 2n ** 63n - 1n, -(2n ** 63n), 9007199254740993n]);
    const i32 = new Int32Array([-2147483648, 2147483647, 0, -7]);
    const i16 = new Int16Array([-32768, 32767, 0, 1, -1, 12345]);
    const i8 = new Int8Array([-128, 127, 0, -1]);
    const u8 = new Uint8Array([0, 1, 128, 255]);
    const cases: Record<string, { t: torch.Tensor; dtype: string; code: string; bytes: Buffer }> = {
      f32: { t: torch.tensor(f32, { shape: [2, 4] }), dtype: 'float32', code: 'F32', bytes: bytesOf(f32) },
      f64: { t: torch.tensor(f64, { shape: [3, 2] }), dtype: 'float64', code: 'F64', bytes: bytesOf(f64) },
      f16: {
        t: torch.tensor([[1, -2, 0.5, 65504], [6.103515625e-5, -0, 2 ** -24, Infinity]], { dtype: 'float16' }),
        dtype: 'float16', code: 'F16', bytes: u16(0x3c00, 0xc000, 0x3800, 0x7bff, 0x0400, 0x8000, 0x0001, 0x7c00),
      },
      bf16: {
        t: torch.tensor([1, -1.5, 0.0078125, 3.3895313892515355e38, -0, 2 ** -133], { dtype: 'bfloat16' }),
        dtype: 'bfloat16', code: 'BF16', bytes: u16(0x3f80, 0xbfc0, 0x3c00, 0x7f7f, 0x8000, 0x0001),
      },
      i64: { t: torch.tensor(i64), dtype: 'int64', code: 'I64', bytes: bytesOf(i64) },
      i32: { t: torch.tensor(i32, { shape: [2, 2] }), dtype: 'int32', code: 'I32', bytes: bytesOf(i32) },
      i16: { t: torch.tensor(i16, { shape: [2, 3] }), dtype: 'int16', code: 'I16', bytes: bytesOf(i16) },
      i8: { t: torch.tensor(i8), dtype: 'int8', code: 'I8', bytes: bytesOf(i8) },
      u8: { t: torch.tensor(u8, { shape: [1, 4] }), dtype: 'uint8', code: 'U8', bytes: bytesOf(u8) },
      bool: { t: torch.tensor([[true, false, true], [false, false, true]]), dtype: 'bool', code: 'BOOL', bytes: Buffer.from([1, 0, 1, 0, 0, 1]) },
      scalar: { t: torch.tensor(-3.25, { dtype: 'float64' }), dtype: 'float64', code: 'F64', bytes: bytesOf(new Float64Array([-3.25])) },
      scalar_i64: { t: torch.tensor(new BigInt64Array([42n]), { shape: [] }), dtype: 'int64', code: 'I64', bytes: bytesOf(new BigInt64Array([42n])) },
      empty: { t: torch.tensor(new Float32Array(0), { shape: [0, 3] }), dtype: 'float32', code: 'F32', bytes: Buffer.alloc(0) },
      // [[1, 2], [3, 4]] transposed: stored in row-major order of the view, [1, 3, 2, 4].
      transposed: { t: torch.tensor([[1, 2], [3, 4]]).t(), dtype: 'float32', code: 'F32', bytes: bytesOf(new Float32Array([1, 3, 2, 4])) },
    };
    // The inputs are what they should be (so that a wrong factory cannot hide a wrong writer).
    for (const [name, c] of Object.entries(cases)) assert.equal(c.t.dtype, c.dtype, `${name}: input dtype`);
    assert.deepEqual(cases.scalar.t.shape, []);
    assert.deepEqual(cases.empty.t.shape, [0, 3]);

    const metadata = { name: 'round trip', unicode: 'é✓ "quoted" \\ backslash\nnewline', empty: '' };
    const file = path.join(dir, 'all.safetensors');
    torch.saveSafetensors(file, Object.fromEntries(Object.entries(cases).map(([k, c]) => [k, c.t])), metadata);
    assert.deepEqual(fs.readdirSync(dir), ['all.safetensors'], 'no temporary file is left behind');

    // The file, checked byte by byte without the loader.
    const buf = fs.readFileSync(file);
    assert.ok(buf.length >= 8);
    const n = buf.readBigUInt64LE(0);
    assert.ok(n > 0n && n <= BigInt(buf.length - 8), `header length ${n} within the ${buf.length}-byte file`);
    const headerLen = Number(n);
    const dataStart = 8 + headerLen;
    assert.equal(dataStart % 8, 0, 'the data section starts at a multiple of 8');
    const headerText = buf.subarray(8, dataStart).toString('utf8');
    assert.match(headerText, /^\{.*\} *$/s, 'the header is one JSON object padded with spaces');
    const header = JSON.parse(headerText);
    assert.deepEqual(header.__metadata__, metadata);
    assert.deepEqual(Object.keys(header).filter((k) => k !== '__metadata__').sort(), Object.keys(cases).sort());
    const dataLength = buf.length - dataStart;
    const ranges: [number, number][] = [];
    for (const [name, c] of Object.entries(cases)) {
      const e = header[name];
      assert.equal(e.dtype, c.code, `${name}: dtype code`);
      assert.deepEqual(e.shape, c.t.shape, `${name}: shape`);
      assert.ok(Array.isArray(e.data_offsets) && e.data_offsets.length === 2, `${name}: data_offsets`);
      const [begin, end] = e.data_offsets as [number, number];
      assert.ok(Number.isInteger(begin) && Number.isInteger(end) && begin >= 0 && begin <= end && end <= dataLength, `${name}: offsets [${begin}, ${end}] in [0, ${dataLength}]`);
      assert.deepEqual(buf.subarray(dataStart + begin, dataStart + end), c.bytes, `${name}: stored bytes`);
      ranges.push([begin, end]);
    }
    // The ranges tile the data section: no gaps, no overlaps, nothing after the last one.
    ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let cursor = 0;
    for (const [begin, end] of ranges) {
      assert.equal(begin, cursor, 'data ranges are contiguous');
      cursor = end;
    }
    assert.equal(cursor, dataLength, 'the data section holds exactly the tensors');

    // And read back.
    assert.deepEqual(torch.safetensorsMetadata(file), metadata);
    const back = torch.loadSafetensors(file);
    assert.deepEqual(Object.keys(back).sort(), Object.keys(cases).sort());
    for (const [name, c] of Object.entries(cases)) {
      const t = back[name];
      assert.equal(t.dtype, c.dtype, `${name}: dtype back`);
      assert.deepEqual(t.shape, c.t.shape, `${name}: shape back`);
      assert.equal(t.device, 'cpu');
      assert.deepEqual(t.bytes(), c.bytes, `${name}: bytes back`);
      assert.deepEqual(t.data(), c.t.data(), `${name}: values back`);
    }
    assert.deepEqual(Array.from(back.f16.data() as Float32Array), [1, -2, 0.5, 65504, 6.103515625e-5, -0, 2 ** -24, Infinity]);
    assert.deepEqual(Array.from(back.bf16.data() as Float32Array), [1, -1.5, 0.0078125, 3.3895313892515355e38, -0, 2 ** -133]);
    assert.deepEqual(Array.from(back.i64.data() as BigInt64Array), Array.from(i64));
    assert.deepEqual(back.bool.toArray(), [[true, false, true], [false, false, true]]);
    assert.equal(back.scalar.item(), -3.25);
    assert.deepEqual(back.transposed.toArray(), [[1, 3], [2, 4]]);
  }));
});

test('safetensors: no metadata, overwriting, and metadata that is not a string', () => {
  withTmp((dir) => torch.tidy(() => {
    const file = path.join(dir, 'plain.safetensors');
    torch.saveSafetensors(file, { a: torch.tensor([1, 2, 3]), b: torch.tensor([[5]], { dtype: 'int32' }) });
    const buf = fs.readFileSync(file);
    const header = JSON.parse(buf.subarray(8, 8 + Number(buf.readBigUInt64LE(0))).toString('utf8'));
    assert.equal('__metadata__' in header, false, 'no __metadata__ entry without metadata');
    assert.deepEqual(torch.safetensorsMetadata(file), {});
    assert.deepEqual(torch.loadSafetensors(file).a.toArray(), [1, 2, 3]);

    // Saving again replaces the file (a smaller one: no stale bytes at the end).
    torch.saveSafetensors(file, { c: torch.tensor([7], { dtype: 'int8' }) }, { v: '2' });
    const back = torch.loadSafetensors(file);
    assert.deepEqual(Object.keys(back), ['c']);
    assert.deepEqual(back.c.toArray(), [7]);
    assert.equal(back.c.dtype, 'int8');
    assert.deepEqual(torch.safetensorsMetadata(file), { v: '2' });

    const other = path.join(dir, 'bad-metadata.safetensors');
    assert.throws(() => torch.saveSafetensors(other, { a: torch.tensor([1]) }, { n: 1 as unknown as string }), TypeError);
    assert.deepEqual(fs.readdirSync(dir), ['plain.safetensors'], 'a failed save writes nothing');
  }));
});

// ------------------------------------------------------------------------------------------------
// safetensors written by hand in Python

test('safetensors: the Python-written file gives the expected values and metadata', () => {
  torch.tidy(() => {
    const file = fixture('python_written.safetensors');
    const exp = expected.safetensors;
    const buf = fs.readFileSync(file);
    assert.equal(Number(buf.readBigUInt64LE(0)), exp.header_length, 'fixture header length');
    const dataStart = 8 + exp.header_length;
    const header = JSON.parse(buf.subarray(8, dataStart).toString('utf8'));

    assert.deepEqual(torch.safetensorsMetadata(file), exp.metadata);
    const tensors = torch.loadSafetensors(file);
    assert.deepEqual(Object.keys(tensors).sort(), Object.keys(exp.tensors).sort());
    for (const [name, e] of Object.entries(exp.tensors as Record<string, Expected>)) {
      const t = tensors[name];
      assertTensor(t, e, name);
      // The very bytes of the file, whatever the dtype.
      const [begin, end] = header[name].data_offsets;
      assert.deepEqual(t.bytes(), buf.subarray(dataStart + begin, dataStart + end), `${name}: bytes`);
    }
    // float16 / bfloat16 also through a conversion to float32.
    for (const name of ['f16', 'bf16']) {
      const wide = tensors[name].to('float32');
      assert.equal(wide.dtype, 'float32');
      assert.deepEqual(Array.from(wide.data() as Float32Array), exp.tensors[name].values, `${name} as float32`);
    }
    assert.equal(tensors.scalar_f32.item(), -7.25);
    assert.deepEqual(tensors.bool.toArray(), [[true, false], [false, true]]);
    assert.deepEqual(Array.from(tensors.i64.data() as BigInt64Array), [0n, -1n, 2n ** 53n + 1n, -(2n ** 63n)]);
  });
});

// ------------------------------------------------------------------------------------------------
// Broken safetensors files

/** A safetensors file from a header (object or raw text), padded to 8 bytes, and data bytes. */
function writeSafetensors(file: string, header: unknown, data: Buffer = Buffer.alloc(0), lengthField?: bigint): string {
  let json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header), 'utf8');
  json = Buffer.concat([json, Buffer.alloc((8 - (json.length % 8)) % 8, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(lengthField ?? BigInt(json.length));
  fs.writeFileSync(file, Buffer.concat([len, json, data]));
  return file;
}

test('safetensors: broken files throw an Error naming the file, and leak no tensors', () => {
  withTmp((dir) => torch.tidy(() => {
    const p = (name: string): string => path.join(dir, name);
    const four = bytesOf(new Float32Array([1, 2, 3, 4]));
    const ok = { dtype: 'F32', shape: [1], data_offsets: [0, 4] };

    // A valid file to cut short.
    const valid = p('valid.safetensors');
    torch.saveSafetensors(valid, { a: torch.tensor([1, 2, 3, 4]), b: torch.tensor([5, 6]) }, { k: 'v' });
    const validBytes = fs.readFileSync(valid);
    const validHeaderEnd = 8 + Number(validBytes.readBigUInt64LE(0));
    fs.writeFileSync(p('truncated-in-data.safetensors'), validBytes.subarray(0, validBytes.length - 4));
    fs.writeFileSync(p('truncated-in-header.safetensors'), validBytes.subarray(0, validHeaderEnd - 5));
    fs.writeFileSync(p('truncated-in-length.safetensors'), validBytes.subarray(0, 5));
    fs.writeFileSync(p('zero-bytes.safetensors'), Buffer.alloc(0));

    // [file, what the message should also mention, whether the header itself is bad]
    const cases: [string, RegExp, boolean][] = [
      [p('zero-bytes.safetensors'), /header length|not a safetensors/, true],
      [p('truncated-in-length.safetensors'), /header length|not a safetensors/, true],
      [p('truncated-in-header.safetensors'), /exceeds|header length/, true],
      [p('truncated-in-data.safetensors'), /data_offsets/, false],
      [writeSafetensors(p('length-too-large.safetensors'), { x: ok }, four, 1000n), /exceeds|header length/, true],
      [writeSafetensors(p('length-huge.safetensors'), { x: ok }, four, 2n ** 63n + 8n), /exceeds|header length/, true],
      [writeSafetensors(p('bad-json.safetensors'), '{"x": {"dtype": "F32", "shape": [1],', four), /JSON/, true],
      [writeSafetensors(p('not-an-object.safetensors'), '[1, 2, 3]', four), /JSON object/, true],
      [writeSafetensors(p('offsets-past-end.safetensors'), { ok, x: { dtype: 'F32', shape: [2], data_offsets: [12, 20] } }, four), /data_offsets/, false],
      [writeSafetensors(p('offsets-reversed.safetensors'), { ok, x: { dtype: 'F32', shape: [1], data_offsets: [8, 4] } }, four), /data_offsets/, false],
      [writeSafetensors(p('offsets-wrong-size.safetensors'), { ok, x: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, four), /data_offsets/, false],
      [writeSafetensors(p('offsets-missing.safetensors'), { ok, x: { dtype: 'F32', shape: [1] } }, four), /data_offsets/, false],
      [writeSafetensors(p('unknown-dtype.safetensors'), { ok, x: { dtype: 'F8_E4M3', shape: [4], data_offsets: [0, 4] } }, four), /dtype.*F8_E4M3/, false],
      [writeSafetensors(p('bad-shape.safetensors'), { ok, x: { dtype: 'U8', shape: [-4], data_offsets: [0, 4] } }, four), /shape/, false],
    ];
    for (const [file, reason, headerIsBad] of cases) {
      const before = live();
      assert.throws(() => torch.loadSafetensors(file), (e: unknown) => {
        assert.ok(e instanceof Error, `${path.basename(file)}: throws an Error`);
        assert.ok(e.message.includes(file), `${path.basename(file)}: message names the file: ${e.message}`);
        assert.match(e.message, reason, `${path.basename(file)}: message says why`);
        return true;
      }, `${path.basename(file)}: loadSafetensors throws`);
      // 'ok' was read before the bad entry: it must have been released.
      assert.equal(live(), before, `${path.basename(file)}: no tensor left alive by the failed load`);
      if (headerIsBad) {
        assert.throws(() => torch.safetensorsMetadata(file), (e: unknown) => e instanceof Error && e.message.includes(file), `${path.basename(file)}: safetensorsMetadata`);
      }
    }
    assert.throws(() => torch.loadSafetensors(p('missing.safetensors')), (e: unknown) => e instanceof Error && e.message.includes(p('missing.safetensors')));

    // Still fine afterwards.
    const back = torch.loadSafetensors(valid);
    assert.deepEqual(back.a.add(back.a).toArray(), [2, 4, 6, 8]);
  }));
});

// ------------------------------------------------------------------------------------------------
// torch.load of Python's torch.save files

test('torch.load: a PyTorch state dict (OrderedDict) by dotted names', () => {
  torch.tidy(() => {
    const sd = torch.load(fixture('state_dict.pt'));
    const exp = expected.state_dict;
    assert.ok(sd !== null && typeof sd === 'object' && !Array.isArray(sd), 'a plain object');
    assert.deepEqual(Object.keys(sd), exp.keys);
    assert.ok(exp.keys.includes('1.running_var') && exp.keys.includes('1.num_batches_tracked'));
    for (const key of exp.keys) assertTensor(sd[key], exp.tensors[key], key);
    assert.equal(sd['1.num_batches_tracked'].item(), 1);
  });
});

test('torch.load: a dict of tensors of several dtypes, views, lists and numbers', () => {
  torch.tidy(() => {
    const v = torch.load(fixture('tensors.pt'));
    const exp = expected.tensors;
    assert.ok(v !== null && typeof v === 'object' && !Array.isArray(v), 'a plain object');
    assert.deepEqual(Object.keys(v), Object.keys(exp));
    for (const key of ['float32', 'float64', 'int64', 'uint8', 'bool', 'scalar', 'base', 'row', 'transposed']) {
      assertTensor(v[key], exp[key], key);
    }
    assert.deepEqual(v.scalar.shape, []);
    assert.deepEqual(Array.from(v.int64.data() as BigInt64Array), [0n, -1n, 2n ** 40n + 3n, -(2n ** 62n), 2n ** 63n - 1n]);
    assert.deepEqual(v.bool.toArray(), [true, false, false, true, true]);
    assert.deepEqual(v.transposed.toArray(), [[0, 1, 2], [0.25, 1.25, 2.25], [0.5, 1.5, 2.5], [0.75, 1.75, 2.75]]);
    assert.ok(Array.isArray(v.list) && v.list.length === 2, 'list: an array of two');
    exp.list.forEach((e: Expected, i: number) => assertTensor(v.list[i], e, `list[${i}]`));
    assert.deepEqual(v.numbers, [7, 2.5, 'text', true]);
  });
});

test('torch.load: a dict with a single entry', () => {
  torch.tidy(() => {
    const v = torch.load(fixture('single_entry.pt'));
    assert.deepEqual(Object.keys(v), ['only']);
    assertTensor(v.only, expected.single_entry.only, 'only');
  });
});

test('torch.load: state_dict.pt key by key against expected.json (PyTorch dotted names)', () => {
  torch.tidy(() => {
    const sd = torch.load(fixture('state_dict.pt'));
    const exp = expected.state_dict;
    // The keys PyTorch gives nn.Sequential(Conv2d, BatchNorm2d, ReLU, Conv2d), in its order; no
    // '_metadata' (the OrderedDict's attribute, set through BUILD) among them.
    assert.deepEqual(Object.keys(sd), ['0.weight', '0.bias', '1.weight', '1.bias', '1.running_mean', '1.running_var', '1.num_batches_tracked', '3.weight', '3.bias']);
    assert.deepEqual(Object.keys(sd), exp.keys);
    for (const key of exp.keys) {
      const t = sd[key];
      assertTensor(t, exp.tensors[key], key);
      assert.equal(t.requiresGrad, false, `${key}: a state dict holds detached tensors`);
      assert.equal(t.isContiguous(), true, `${key}: contiguous`);
      assert.equal(t.device, 'cpu');
    }
    assert.deepEqual(sd['0.weight'].shape, [4, 3, 3, 3]);
    assert.deepEqual(sd['1.running_mean'].shape, [4]);
    const nbt = sd['1.num_batches_tracked'];
    assert.equal(nbt.dtype, 'int64');
    assert.deepEqual(nbt.shape, []);
    assert.deepEqual(Array.from(nbt.data() as BigInt64Array), [1n]);
    // Each entry has its own storage: changing one leaves the others alone.
    const before = sd['1.running_var'].toArray();
    sd['1.running_mean'].zero_();
    assert.deepEqual(sd['1.running_var'].toArray(), before);
  });
});

test('torch.load: views of one storage share memory; strides and offsets as in Python; a Parameter requires grad', () => {
  torch.tidy(() => {
    const v = torch.load(fixture('views.pt'));
    const exp = expected.views;
    assert.deepEqual(Object.keys(v), ['base', 'transposed', 'column', 'row', 'strided', 'param']);
    for (const key of Object.keys(exp)) {
      assertTensor(v[key], exp[key], key);
      assert.deepEqual(v[key].stride(), exp[key].stride, `${key}: stride`);
      assert.equal(v[key].requiresGrad, exp[key].requires_grad, `${key}: requiresGrad`);
    }
    assert.equal(v.transposed.isContiguous(), false, 'transposed: a non-contiguous view');
    assert.deepEqual(v.transposed.stride(), [1, 4]);
    assert.deepEqual(v.strided.toArray(), [[0, 2], [3, 5]]);

    // base, transposed, column and row are views of one storage: a change to base shows in all.
    v.base.mul_(10);
    assert.deepEqual(v.transposed.toArray(), [[0, 40, 80], [10, 50, 90], [20, 60, 100], [30, 70, 110]]);
    assert.deepEqual(v.column.toArray(), [10, 50, 90]);
    assert.deepEqual(v.row.toArray(), [80, 90, 100, 110]);
    v.row.fill_(-1);
    assert.deepEqual(v.base.toArray(), [[0, 10, 20, 30], [40, 50, 60, 70], [-1, -1, -1, -1]]);
    // Another load gives new memory.
    assert.deepEqual(torch.load(fixture('views.pt')).base.toArray(), [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]);

    // The Parameter is a leaf that takes gradients.
    assert.equal(v.param.isLeaf, true);
    v.param.mul(v.param).sum().backward();
    assert.deepEqual(v.param.grad?.toArray(), [2, -4]);
  });
});

test('torch.load: nested one-entry dicts, OrderedDict, big ints, None, tuples, bytes and int keys (pickle protocols 2 and 4)', () => {
  torch.tidy(() => {
    for (const name of ['nested.pt', 'nested_p4.pt']) {
      const before = live();
      const v = torch.load(fixture(name));
      assert.deepEqual(Object.keys(v), ['outer', 'ordered', 'ints', 'none', 'tuple', 'bytes', 'no_bytes', 'int_keys', 'empty', 'text'], name);
      assert.deepEqual(Object.keys(v.outer), ['inner'], `${name}: outer`);
      assert.deepEqual(Object.keys(v.outer.inner), ['leaf'], `${name}: outer.inner`);
      const leaf = v.outer.inner.leaf;
      assert.ok(leaf instanceof torch.Tensor, `${name}: leaf`);
      assert.equal(leaf.dtype, 'int16');
      assert.deepEqual(leaf.toArray(), [1, 2]);
      assert.equal(live(), before + 1, `${name}: one tensor alive (its storage handle was released)`);
      assert.deepEqual(v.ordered, { z: 1, a: { only: 2.5 } });
      assert.deepEqual(Object.keys(v.ordered), ['z', 'a'], `${name}: OrderedDict order`);
      assert.deepEqual(v.ints, [0, 255, 65535, -1, 2 ** 31 - 1, -(2 ** 31), 2n ** 53n + 1n, -(2n ** 70n), 2n ** 64n]);
      assert.equal(v.none, null);
      assert.deepEqual(v.tuple, [1, 'two', [3, false]]);
      assert.ok(Buffer.isBuffer(v.bytes), `${name}: bytes as a Buffer`);
      assert.deepEqual(v.bytes, Buffer.from([0, 0xff, 0x61, 0x62]));
      assert.deepEqual(v.no_bytes, Buffer.alloc(0));
      assert.deepEqual(v.int_keys, { 7: 'seven', 1: 'one' });
      assert.deepEqual(v.empty, {});
      assert.equal(v.text, 'unicode é✓');
    }
  });
});

test('torch.load: a pickled Python object (an nn.Module) gives an error naming the global, and leaks no tensor', () => {
  torch.tidy(() => {
    const file = fixture('module_object.pt');
    const before = live();
    assert.throws(() => torch.load(file), (e: unknown) => {
      assert.ok(e instanceof Error);
      assert.ok(e.message.startsWith(`torch.load: ${file}: `), e.message);
      assert.match(e.message, /unsupported Python global 'torch\.nn\.modules\.activation\.ReLU'/);
      assert.match(e.message, /state_dict/, 'suggests saving the state dict');
      return true;
    });
    // 'weight' came before the module in the file: it was made, then released.
    assert.equal(live(), before);
  });
});

// ------------------------------------------------------------------------------------------------
// TorchScript

test('torch.jit.load: forward and an exported method match Python; parameters and buffers by name', () => {
  torch.tidy(() => {
    const exp = expected.module;
    const m = torch.jit.load(fixture('module.ts.pt'));
    assert.ok(m instanceof torch.ScriptModule);
    m.eval();
    assert.equal(m.training, false);
    for (const name of exp.methods) assert.ok(m.methodNames().includes(name), `method ${name}`);

    const x = torch.tensor(Float32Array.from(exp.input.values), { shape: exp.input.shape });
    const out = torch.noGrad(() => m.forward(x));
    assert.ok(Array.isArray(out) && out.length === 2, 'forward returns a (logits, features) pair');
    assertTensor(out[0], exp.forward[0], 'logits', 1e-5);
    assertTensor(out[1], exp.forward[1], 'features', 1e-5);
    assertTensor(torch.noGrad(() => m.call('features', x)), exp.features, 'features()', 1e-5);
    // The same input again gives the same answer (the module is reusable).
    assertTensor(torch.noGrad(() => m.forward(x))[0], exp.forward[0], 'logits again', 1e-5);

    const params = m.namedParameters();
    assert.deepEqual(Object.keys(params), Object.keys(exp.parameters));
    assert.deepEqual(Object.keys(params), ['conv.weight', 'conv.bias', 'head.weight', 'head.bias']);
    for (const [name, e] of Object.entries(exp.parameters as Record<string, Expected>)) assertTensor(params[name], e, name);
    const buffers = m.namedBuffers();
    assert.deepEqual(Object.keys(buffers), ['shift']);
    assertTensor(buffers.shift, exp.buffers.shift, 'shift');

    assert.throws(() => m.call('noSuchMethod', x), /noSuchMethod/);
    assert.throws(() => m.forward(), Error, 'forward without its input');
    // Still usable after those errors.
    assertTensor(torch.noGrad(() => m.call('features', x)), exp.features, 'features() after errors', 1e-5);
  });
});

// ------------------------------------------------------------------------------------------------
// torch.save from TypeScript

test('torch.save then torch.load: tensors of every kind, nested objects and lists', () => {
  withTmp((dir) => torch.tidy(() => {
    const i64 = new BigInt64Array([1n, -(2n ** 62n), 2n ** 63n - 1n]);
    const value = {
      f32: torch.tensor([[1.5, -0], [NaN, 3e38]]),
      f64: torch.tensor([Math.PI, 1e-300], { dtype: 'float64' }),
      i64: torch.tensor(i64),
      i32: torch.tensor(new Int32Array([-5, 6])),
      u8: torch.tensor(new Uint8Array([0, 200, 255])),
      bool: torch.tensor([true, false, true]),
      f16: torch.tensor([0.5, -2, 65504], { dtype: 'float16' }),
      bf16: torch.tensor([1, -1.5], { dtype: 'bfloat16' }),
      scalar: torch.tensor(4.5),
      empty: torch.tensor(new Float32Array(0), { shape: [0, 2] }),
      transposed: torch.tensor([[1, 2, 3], [4, 5, 6]]).t(),
      nested: { inner: torch.tensor([9, 8, 7], { dtype: 'int16' }) },
      list: [torch.tensor([1, 2]), torch.tensor([3], { dtype: 'int8' })],
    };
    const file = path.join(dir, 'from-ts.pt');
    torch.save(file, value);
    assert.deepEqual(fs.readdirSync(dir), ['from-ts.pt'], 'no temporary file is left behind');
    assert.deepEqual(fs.readFileSync(file).subarray(0, 4), Buffer.from('PK\x03\x04', 'latin1'), 'a zip archive, like torch.save');

    const back = torch.load(file);
    assert.deepEqual(Object.keys(back), Object.keys(value));
    const same = (got: unknown, want: torch.Tensor, what: string): void => {
      assert.ok(got instanceof torch.Tensor, `${what}: a Tensor`);
      assert.equal(got.dtype, want.dtype, `${what}: dtype`);
      assert.deepEqual(got.shape, want.shape, `${what}: shape`);
      assert.deepEqual(got.bytes(), want.bytes(), `${what}: bytes`);
    };
    for (const key of ['f32', 'f64', 'i64', 'i32', 'u8', 'bool', 'f16', 'bf16', 'scalar', 'empty', 'transposed'] as const) {
      same(back[key], value[key], key);
    }
    assert.deepEqual(Array.from(back.i64.data() as BigInt64Array), Array.from(i64));
    assert.deepEqual(Array.from(back.f32.data() as Float32Array), [1.5, -0, NaN, Math.fround(3e38)]);
    assert.deepEqual(back.transposed.toArray(), [[1, 4], [2, 5], [3, 6]]);
    assert.equal(back.scalar.item(), 4.5);
    same(back.nested?.inner, value.nested.inner, 'nested.inner');
    assert.ok(Array.isArray(back.list) && back.list.length === 2, 'list: an array of two');
    same(back.list[0], value.list[0], 'list[0]');
    same(back.list[1], value.list[1], 'list[1]');
    // The loaded tensors are independent copies.
    back.f64.mul_(2);
    assert.deepEqual(Array.from(value.f64.data() as Float64Array), [Math.PI, 1e-300]);

    // A lone tensor and a list of tensors.
    const single = path.join(dir, 'single.pt');
    torch.save(single, torch.tensor([[1, 2], [3, 4]], { dtype: 'int32' }));
    const t = torch.load(single);
    assert.ok(t instanceof torch.Tensor);
    assert.equal(t.dtype, 'int32');
    assert.deepEqual(t.toArray(), [[1, 2], [3, 4]]);
    const listFile = path.join(dir, 'list.pt');
    torch.save(listFile, [torch.tensor([1]), torch.tensor([2], { dtype: 'float64' })]);
    const l = torch.load(listFile);
    assert.ok(Array.isArray(l) && l.length === 2);
    assert.deepEqual([l[0].dtype, l[1].dtype], ['float32', 'float64']);
    assert.deepEqual([l[0].item(), l[1].item()], [1, 2]);
  }));
});

// ------------------------------------------------------------------------------------------------
// Files that are missing or not what they should be

test('torch.load and torch.jit.load: missing and broken files throw readable errors naming the file; the process keeps working', () => {
  withTmp((dir) => torch.tidy(() => {
    const missing = path.join(dir, 'missing.pt');
    const notZip = path.join(dir, 'not-a-zip.pt');
    fs.writeFileSync(notZip, 'this is not a zip archive\n'.repeat(20));
    const empty = path.join(dir, 'empty.pt');
    fs.writeFileSync(empty, '');
    const truncated = path.join(dir, 'truncated.pt');
    const whole = fs.readFileSync(fixture('tensors.pt'));
    fs.writeFileSync(truncated, whole.subarray(0, whole.length >> 1));

    const throwsNaming = (fn: () => unknown, file: string, prefix: RegExp, what: string): void => {
      const before = live();
      assert.throws(fn, (e: unknown) => {
        assert.ok(e instanceof Error, `${what}: an Error`);
        assert.ok(e.message.includes(file), `${what}: message names the file: ${e.message}`);
        assert.equal(e.message.split(file).length - 1, 1, `${what}: message names the file once: ${e.message}`);
        assert.match(e.message, prefix, `${what}: message says which function failed`);
        assert.ok(e.message.length < 500, `${what}: a short message, not a stack dump (${e.message.length} chars)`);
        return true;
      });
      assert.equal(live(), before, `${what}: no tensor left alive`);
    };
    for (const file of [missing, notZip, empty, truncated]) {
      throwsNaming(() => torch.load(file), file, /^torch\.load: /, `torch.load(${path.basename(file)})`);
      throwsNaming(() => torch.jit.load(file), file, /^torch\.jit\.load: /, `torch.jit.load(${path.basename(file)})`);
    }
    assert.throws(() => torch.load(missing), /ENOENT|no such file/i);
    // Zip archives of the other kind.
    throwsNaming(() => torch.jit.load(fixture('tensors.pt')), fixture('tensors.pt'), /^torch\.jit\.load: /, 'torch.jit.load of a torch.save file');
    throwsNaming(() => torch.load(fixture('module.ts.pt')), fixture('module.ts.pt'), /^torch\.load: /, 'torch.load of a TorchScript file');

    // Everything still works.
    const a = torch.tensor([1, 2, 3]);
    assert.deepEqual(a.mul(a).toArray(), [1, 4, 9]);
    const v = torch.load(fixture('tensors.pt'));
    assertTensor(v.float64, expected.tensors.float64, 'float64 after errors');
    const m = torch.jit.load(fixture('module.ts.pt'));
    assert.deepEqual(Object.keys(m.namedParameters()), Object.keys(expected.module.parameters));
  }));
});

// ------------------------------------------------------------------------------------------------
// torch.save archives built by hand: what the reader must refuse, and how

/** A zip archive of stored entries (deflated for names in `deflate`), built by hand. */
function makeZip(entries: Record<string, Buffer | string>, deflate: string[] = []): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, content] of Object.entries(entries)) {
    const raw = Buffer.from(content);
    const method = deflate.includes(name) ? 8 : 0;
    const data = method ? zlib.deflateRawSync(raw) : raw;
    const n = Buffer.from(name, 'utf8');
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(zlib.crc32(raw), 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(raw.length, 22);
    local.writeUInt16LE(n.length, 26);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(20, 4);
    c.writeUInt16LE(20, 6);
    c.writeUInt16LE(method, 10);
    c.writeUInt32LE(zlib.crc32(raw), 16);
    c.writeUInt32LE(data.length, 20);
    c.writeUInt32LE(raw.length, 24);
    c.writeUInt16LE(n.length, 28);
    c.writeUInt32LE(offset, 42);
    parts.push(local, n, data);
    central.push(c, n);
    offset += 30 + n.length + data.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(central.length / 2, 8);
  end.writeUInt16LE(central.length / 2, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cd, end]);
}

/** Pickle pieces: protocol 2 header, BINUNICODE strings, GLOBAL names. */
const P = {
  proto: Buffer.from([0x80, 0x02]),
  str: (s: string): Buffer => {
    const b = Buffer.from(s, 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32LE(b.length);
    return Buffer.concat([Buffer.from('X'), len, b]);
  },
  global: (module: string, name: string): Buffer => Buffer.from(`c${module}\n${name}\n`, 'latin1'),
  op: (s: string): Buffer => Buffer.from(s, 'latin1'),
};

/** The pickle of _rebuild_tensor_v2(('storage', FloatStorage, key, 'cpu', numel), 0, (numel,), (1,), False, {}). */
function tensorPickle(key: string, numel: number): Buffer {
  return Buffer.concat([
    P.global('torch._utils', '_rebuild_tensor_v2'), P.op('(('), P.str('storage'), P.global('torch', 'FloatStorage'), P.str(key),
    P.str('cpu'), P.op(`K${String.fromCharCode(numel)}tQK\x00K${String.fromCharCode(numel)}\x85K\x01\x85\x89}tR`),
  ]);
}

test('torch.load: hand-built archives: a valid one loads; broken ones throw errors naming the file and the problem, leaking nothing', () => {
  withTmp((dir) => torch.tidy(() => {
    const twoFloats = bytesOf(new Float32Array([1.5, -2]));
    const file = (name: string, content: Buffer): string => {
      const p = path.join(dir, name);
      fs.writeFileSync(p, content);
      return p;
    };
    // { 'a': tensor([1.5, -2.]), 'n': None } in a folder named differently from the file.
    const goodPickle = Buffer.concat([P.proto, P.op('}('), P.str('a'), tensorPickle('0', 2), P.str('n'), P.op('Nu.')]);
    const good = file('good.pt', makeZip({ 'some_name/data.pkl': goodPickle, 'some_name/data/0': twoFloats, 'some_name/version': '3\n', 'some_name/byteorder': 'little' }));
    const v = torch.load(good);
    assert.deepEqual(Object.keys(v), ['a', 'n']);
    assert.deepEqual(v.a.toArray(), [1.5, -2]);
    assert.equal(v.n, null);

    const crcBroken = makeZip({ 'x/data.pkl': goodPickle, 'x/data/0': twoFloats });
    crcBroken[crcBroken.indexOf(twoFloats) + 1] ^= 0xff;
    const cases: [string, Buffer, RegExp][] = [
      ['unknown-opcode.pt', makeZip({ 'x/data.pkl': Buffer.concat([P.proto, P.op('I42\n.')]) }), /x\/data\.pkl, offset 2: unsupported pickle opcode 0x49 \('I'\)/],
      ['os-system.pt', makeZip({ 'x/data.pkl': Buffer.concat([P.proto, P.global('os', 'system'), P.str('echo hi'), P.op('\x85R.')]) }), /unsupported Python global 'os\.system'/],
      ['global-after-tensor.pt', makeZip({ 'x/data.pkl': Buffer.concat([P.proto, P.op('('), tensorPickle('0', 2), P.global('subprocess', 'run'), P.op('t.')]), 'x/data/0': twoFloats }), /'subprocess\.run'/],
      ['big-endian.pt', makeZip({ 'x/data.pkl': goodPickle, 'x/data/0': twoFloats, 'x/byteorder': 'big' }), /big-endian/],
      ['deflated.pt', makeZip({ 'x/data.pkl': goodPickle, 'x/data/0': twoFloats }, ['x/data.pkl']), /compressed \(method 8\)/],
      ['crc.pt', crcBroken, /CRC mismatch in 'x\/data\/0'/],
      ['no-data-pkl.pt', makeZip({ 'x/other.pkl': goodPickle }), /no <folder>\/data\.pkl/],
      ['missing-storage.pt', makeZip({ 'x/data.pkl': goodPickle }), /no entry 'x\/data\/0'/],
      ['short-storage.pt', makeZip({ 'x/data.pkl': goodPickle, 'x/data/0': twoFloats.subarray(0, 4) }), /storage '0' has 4 bytes, expected 8/],
      ['no-stop.pt', makeZip({ 'x/data.pkl': Buffer.concat([P.proto, P.op('N')]) }), /without a STOP/],
      ['cut-pickle.pt', makeZip({ 'x/data.pkl': goodPickle.subarray(0, 40) }), /ends unexpectedly/],
      ['torchscript.pt', makeZip({ 'x/data.pkl': goodPickle, 'x/constants.pkl': P.op('\x80\x02).'), 'x/code/__torch__.py': 'x' }), /torch\.jit\.load/],
      ['legacy.pt', Buffer.concat([P.proto, P.op('\x8a\x0a'), Buffer.alloc(40)]), /legacy torch\.save format/],
    ];
    for (const [name, content, reason] of cases) {
      const p = file(name, content);
      const before = live();
      assert.throws(() => torch.load(p), (e: unknown) => {
        assert.ok(e instanceof Error, `${name}: an Error`);
        assert.ok(e.message.startsWith(`torch.load: ${p}: `), `${name}: names the file: ${e.message}`);
        assert.match(e.message, reason, `${name}: says why`);
        assert.ok(e.message.length < 500, `${name}: short message`);
        return true;
      }, `${name}: torch.load throws`);
      assert.equal(live(), before, `${name}: no tensor left alive`);
    }
  }));
});
