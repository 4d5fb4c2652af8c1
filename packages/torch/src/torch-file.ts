// Reading the files Python's torch.save writes (its zip format, PyTorch >= 1.6), in TypeScript.
// libtorch 1.13's own unpickler (torch::jit::pickle_load) cannot read Python state dicts
// (collections.OrderedDict becomes None) nor one-entry dicts (no SETITEM opcode).
//
// Such a file is a zip archive with one folder (named after the file it was first saved to):
//   <folder>/data.pkl    the pickled object; tensors name their storage by a persistent id
//   <folder>/data/<key>  the raw bytes of each storage (little-endian)
//   <folder>/version, <folder>/byteorder (newer PyTorch: 'little' or 'big'), ...
// Tensors are rebuilt as views of one tensor per storage, so tensors that shared memory in
// Python share it here too. Every tensor is loaded onto the CPU, wherever it was saved from.
import { inspect } from 'node:util';
import { fromBuffer } from './factories.js';
import { Tensor } from './tensor.js';
import type { DType } from './types.js';
import { isDict, setDictItem, unpickle } from './unpickle.js';
import { ZipReader } from './zip-reader.js';

/** The `torch.<Name>Storage` classes by dtype (UntypedStorage: plain bytes). */
const STORAGE_DTYPES = new Map<string, DType>([
  ['FloatStorage', 'float32'], ['DoubleStorage', 'float64'], ['HalfStorage', 'float16'], ['BFloat16Storage', 'bfloat16'],
  ['LongStorage', 'int64'], ['IntStorage', 'int32'], ['ShortStorage', 'int16'], ['CharStorage', 'int8'],
  ['ByteStorage', 'uint8'], ['BoolStorage', 'bool'], ['ComplexFloatStorage', 'complex64'], ['ComplexDoubleStorage', 'complex128'],
  ['UntypedStorage', 'uint8'],
]);

const ITEM_SIZE: Record<string, number> = {
  float32: 4, float64: 8, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1, complex64: 8, complex128: 16,
};

/** A `torch.<Name>Storage` class named in the pickle. */
class StorageType {
  constructor(readonly name: string, readonly dtype: DType) {}
}

/** One storage of the file, as a 1-D tensor of its elements; the file's tensors are views of it. */
class Storage {
  constructor(readonly tensor: Tensor) {}
}

/** A list of non-negative integers (a tensor's size or stride). */
function intList(v: unknown, what: string): number[] {
  if (!Array.isArray(v) || !v.every((x) => Number.isSafeInteger(x) && x >= 0)) throw new Error(`tensor ${what} is not a tuple of non-negative integers: ${String(v)}`);
  return v;
}

/** The object stored by torch.save in the zip archive bytes. */
export function readTorchFile(bytes: Buffer): unknown {
  if (bytes.length > 1 && bytes[0] === 0x80 && bytes[1] <= 5) {
    throw new Error('this is the legacy torch.save format (PyTorch < 1.6 or _use_new_zipfile_serialization=False), which is not supported; save it again with a newer PyTorch');
  }
  const zip = new ZipReader(bytes);
  const pkl = zip.names.find((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (!pkl) throw new Error('not a torch.save file (the zip archive has no <folder>/data.pkl)');
  const dir = pkl.slice(0, -'data.pkl'.length);
  if (zip.has(`${dir}constants.pkl`) || zip.names.some((n) => n.startsWith(`${dir}code/`))) {
    throw new Error('this is a TorchScript module (torch.jit.save), not a torch.save file: load it with torch.jit.load');
  }
  if (zip.has(`${dir}byteorder`) && zip.read(`${dir}byteorder`).toString('latin1').trim() === 'big') {
    throw new Error('the tensors were saved big-endian, which is not supported');
  }

  const storages = new Map<string, Storage>();
  const views: Tensor[] = [];

  // BINPERSID ('storage', storage_type, key, location, numel): the storage's bytes from data/<key>.
  const loadStorage = (pid: unknown): Storage => {
    if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length !== 5) throw new Error(`unsupported persistent id ${inspect(pid)}`);
    const [, type, key, , numel] = pid;
    if (!(type instanceof StorageType)) throw new Error(`persistent id: ${String(type)} is not a storage type`);
    if (typeof key !== 'string' || !Number.isSafeInteger(numel) || numel < 0) throw new Error(`malformed persistent id ${inspect(pid)}`);
    // Keyed by dtype too: newer PyTorch can view one storage as several dtypes.
    const cacheKey = `${key}:${type.dtype}`;
    let storage = storages.get(cacheKey);
    if (!storage) {
      const data = zip.read(`${dir}data/${key}`);
      const size = numel * ITEM_SIZE[type.dtype];
      if (data.length < size) throw new Error(`storage '${key}' has ${data.length} bytes, expected ${size} (${numel} × ${type.name})`);
      storage = new Storage(fromBuffer(data.subarray(0, size), type.dtype, [numel]));
      storages.set(cacheKey, storage);
    }
    return storage;
  };

  const rebuildTensor = (storage: unknown, offset: unknown, size: unknown, stride: unknown, requiresGrad: unknown = false): Tensor => {
    if (!(storage instanceof Storage)) throw new Error('_rebuild_tensor: the first argument is not a storage');
    if (!Number.isSafeInteger(offset) || (offset as number) < 0) throw new Error(`_rebuild_tensor: bad storage offset ${String(offset)}`);
    const t = storage.tensor.asStrided(intList(size, 'size'), intList(stride, 'stride'), offset as number);
    views.push(t);
    if (requiresGrad === true) t.requiresGrad = true;
    return t;
  };

  const rebuildParameter = (data: unknown, requiresGrad: unknown): Tensor => {
    if (!(data instanceof Tensor)) throw new Error('_rebuild_parameter: the data is not a tensor');
    data.requiresGrad = requiresGrad === true;
    return data;
  };

  const identity = (v: unknown): unknown => v;
  const emptyBytes = (...args: unknown[]): Buffer => {
    if (args.length > 0) throw new Error('bytes(...) with arguments is not supported');
    return Buffer.alloc(0);
  };
  const globals = new Map<string, unknown>([
    ['collections.OrderedDict', (items: unknown = []) => {
      const d = {};
      if (!Array.isArray(items)) throw new Error('OrderedDict: expected a list of pairs');
      for (const pair of items) setDictItem(d, (pair as unknown[])[0], (pair as unknown[])[1]);
      return d;
    }],
    ['torch._utils._rebuild_tensor_v2', rebuildTensor], // (storage, offset, size, stride, requires_grad, hooks[, metadata])
    ['torch._utils._rebuild_tensor', (s: unknown, o: unknown, size: unknown, stride: unknown) => rebuildTensor(s, o, size, stride)],
    ['torch._utils._rebuild_parameter', rebuildParameter], // (data, requires_grad, hooks)
    ['torch._utils._rebuild_parameter_with_state', rebuildParameter], // (data, requires_grad, hooks, state)
    // Pickle protocol 2 has no opcode for bytes: Python writes them as
    // _codecs.encode(<the bytes as latin-1 text>, 'latin1'), and empty ones as bytes().
    ['_codecs.encode', (text: unknown, encoding: unknown) => {
      if (typeof text !== 'string' || typeof encoding !== 'string' || !/^latin[-_]?1$/i.test(encoding)) throw new Error(`_codecs.encode: unsupported arguments (${typeof text}, ${String(encoding)})`);
      return Buffer.from(text, 'latin1');
    }],
    ['__builtin__.bytes', emptyBytes],
    ['builtins.bytes', emptyBytes],
    // What libtorch's own pickler (our torch.save) adds: type tags and typed lists.
    ['torch.jit._pickle.restore_type_tag', identity],
    ['torch.jit._pickle.build_tensorlist', identity],
    ['torch.jit._pickle.build_intlist', identity],
    ['torch.jit._pickle.build_doublelist', identity],
    ['torch.jit._pickle.build_boollist', identity],
  ]);

  const findGlobal = (module: string, name: string): unknown => {
    const full = `${module}.${name}`;
    if (globals.has(full)) return globals.get(full);
    const dtype = STORAGE_DTYPES.get(name);
    if (dtype && (module === 'torch' || module === 'torch.storage')) return new StorageType(name, dtype);
    // A dtype as a value (e.g. torch.save({'dtype': torch.float16})) becomes its name.
    if (module === 'torch' && Object.hasOwn(ITEM_SIZE, name)) return name;
    throw new Error(`unsupported Python global '${full}': torch.load reads tensors, and dicts, lists and tuples of them, numbers and strings, not other pickled objects (to load a model, save its state_dict() in Python)`);
  };

  // BUILD sets an object's state. The only one expected: the `_metadata` attribute (module
  // versions) of a state dict, an OrderedDict; it is ignored.
  const build = (obj: unknown): void => {
    if (!isDict(obj)) throw new Error('BUILD (setting the state of a pickled object) is only supported on OrderedDicts');
  };

  let result: unknown;
  const kept = new Set<Storage>();
  try {
    result = unwrapStorages(unpickle(zip.read(pkl), pkl, { findGlobal, persistentLoad: loadStorage, build }), kept);
  } catch (e) {
    for (const t of views) t.dispose();
    for (const s of storages.values()) s.tensor.dispose();
    throw e;
  }
  // The views keep their storage alive inside libtorch: the storages' own handles can go.
  for (const s of storages.values()) if (!kept.has(s)) s.tensor.dispose();
  return result;
}

/** A bare storage in the result (torch.save of a storage itself) becomes its 1-D tensor. */
function unwrapStorages(v: unknown, kept: Set<Storage>, seen = new Set<unknown>()): unknown {
  if (v instanceof Storage) {
    kept.add(v);
    return v.tensor;
  }
  if (typeof v !== 'object' || v === null || seen.has(v)) return v;
  seen.add(v);
  if (Array.isArray(v)) for (let i = 0; i < v.length; i++) v[i] = unwrapStorages(v[i], kept, seen);
  else if (isDict(v)) for (const k of Object.keys(v)) v[k] = unwrapStorages(v[k], kept, seen);
  return v;
}
