// A small pickle virtual machine: the opcodes Python's pickler emits for protocols 2 to 4
// (torch.save uses 2), without executing anything. Globals (classes and functions named in the
// pickle) and persistent ids are resolved by the caller, so only what it allows can be built.
//
// Python values become: None → null, bool → boolean, int → number (bigint beyond 2^53),
// float → number, str → string, bytes → Buffer, tuple and list → array, dict → plain object.

export interface UnpickleHooks {
  /** What `module.name` stands for: usually a function, called by REDUCE / NEWOBJ with its arguments. */
  findGlobal(module: string, name: string): unknown;
  /** The object a persistent id (BINPERSID) refers to. */
  persistentLoad(pid: unknown): unknown;
  /** BUILD: give obj its pickled state (`__setstate__`). */
  build(obj: unknown, state: unknown): void;
}

/** A dict is a plain object (arrays, tensors and the hooks' own objects are not). */
export function isDict(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;
}

/** d[key] = value, for str and int keys (int keys become strings). */
export function setDictItem(d: Record<string, unknown>, key: unknown, value: unknown): void {
  if (typeof key !== 'string' && typeof key !== 'number' && typeof key !== 'bigint') {
    throw new Error(`dict key of type ${describe(key)} is not supported (only str and int keys)`);
  }
  // defineProperty, not assignment, so that a '__proto__' key is an ordinary key.
  Object.defineProperty(d, String(key), { value, writable: true, enumerable: true, configurable: true });
}

function describe(v: unknown): string {
  if (v === null) return 'None';
  if (Array.isArray(v)) return 'tuple/list';
  return typeof v === 'object' ? (v.constructor?.name ?? 'object') : typeof v;
}

/** A Python int from little-endian two's complement bytes (LONG1 / LONG4). */
function decodeLong(bytes: Buffer): number | bigint {
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]);
  if (bytes.length > 0 && bytes[bytes.length - 1] & 0x80) v -= 1n << BigInt(8 * bytes.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/**
 * Run the pickle in data and return the object it builds. `what` names the data in errors (they
 * also give the offset of the failing opcode).
 */
export function unpickle(data: Buffer, what: string, hooks: UnpickleHooks): unknown {
  let pos = 0;
  const stack: unknown[] = [];
  const marks: number[] = []; // stack lengths at each MARK
  const memo = new Map<number, unknown>();

  const take = (n: number): Buffer => {
    if (pos + n > data.length) throw new Error(`the pickle ends unexpectedly (needs ${n} more bytes, ${data.length - pos} left)`);
    const b = data.subarray(pos, pos + n);
    pos += n;
    return b;
  };
  const u8 = (): number => take(1)[0];
  const u16 = (): number => take(2).readUInt16LE(0);
  const u32 = (): number => take(4).readUInt32LE(0);
  const u64 = (): number => {
    const v = take(8).readBigUInt64LE(0);
    if (v > BigInt(data.length)) throw new Error(`length ${v} exceeds the pickle's size`);
    return Number(v);
  };
  const line = (): string => {
    const end = data.indexOf(0x0a, pos);
    if (end < 0) throw new Error('the pickle ends unexpectedly (inside a GLOBAL name)');
    const s = data.toString('utf8', pos, end);
    pos = end + 1;
    return s;
  };
  const pop = (): unknown => {
    if (stack.length === 0 || stack.length === marks[marks.length - 1]) throw new Error('pickle stack underflow');
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) throw new Error('pickle stack underflow');
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const m = marks.pop();
    if (m === undefined) throw new Error('pickle MARK missing');
    return stack.splice(m);
  };
  const get = (i: number): unknown => {
    if (!memo.has(i)) throw new Error(`pickle memo has no entry ${i}`);
    return memo.get(i);
  };
  const call = (f: unknown, args: unknown): unknown => {
    if (typeof f !== 'function') throw new Error(`cannot call a ${describe(f)} (the pickle's REDUCE / NEWOBJ expects a class or function)`);
    if (!Array.isArray(args)) throw new Error(`call arguments are a ${describe(args)}, not a tuple`);
    return f(...args);
  };
  const setItems = (d: unknown, items: unknown[]): void => {
    if (!isDict(d)) throw new Error(`SETITEM(S) on a ${describe(d)}, not a dict`);
    for (let i = 0; i + 1 < items.length; i += 2) setDictItem(d, items[i], items[i + 1]);
  };
  const appendAll = (list: unknown, items: unknown[]): void => {
    if (!Array.isArray(list)) throw new Error(`APPEND(S) on a ${describe(list)}, not a list`);
    for (const v of items) list.push(v); // not push(...items): a huge batch would overflow the call stack
  };

  while (pos < data.length) {
    const start = pos;
    const op = data[pos++];
    try {
      switch (op) {
        case 0x80: { // PROTO
          const proto = u8();
          if (proto > 5) throw new Error(`pickle protocol ${proto} is not supported`);
          break;
        }
        case 0x95: take(8); break; // FRAME: a length hint only
        case 0x2e: return pop(); // STOP '.'
        case 0x28: marks.push(stack.length); break; // MARK '('
        case 0x30: pop(); break; // POP '0'
        case 0x31: popMark(); break; // POP_MARK '1'
        case 0x32: stack.push(top()); break; // DUP '2'
        case 0x4e: stack.push(null); break; // NONE 'N'
        case 0x88: stack.push(true); break; // NEWTRUE
        case 0x89: stack.push(false); break; // NEWFALSE
        case 0x4a: stack.push(take(4).readInt32LE(0)); break; // BININT 'J'
        case 0x4b: stack.push(u8()); break; // BININT1 'K'
        case 0x4d: stack.push(u16()); break; // BININT2 'M'
        case 0x8a: stack.push(decodeLong(take(u8()))); break; // LONG1
        case 0x8b: { // LONG4
          const n = take(4).readInt32LE(0);
          if (n < 0) throw new Error('LONG4 with a negative length');
          stack.push(decodeLong(take(n)));
          break;
        }
        case 0x47: stack.push(take(8).readDoubleBE(0)); break; // BINFLOAT 'G'
        case 0x58: stack.push(take(u32()).toString('utf8')); break; // BINUNICODE 'X'
        case 0x8c: stack.push(take(u8()).toString('utf8')); break; // SHORT_BINUNICODE
        case 0x8d: stack.push(take(u64()).toString('utf8')); break; // BINUNICODE8
        // Python 2 str: torch.load decodes it as UTF-8 (its default encoding='utf-8').
        case 0x54: stack.push(take(u32()).toString('utf8')); break; // BINSTRING 'T'
        case 0x55: stack.push(take(u8()).toString('utf8')); break; // SHORT_BINSTRING 'U'
        // bytes: copied, so that they do not keep the whole file in memory.
        case 0x42: stack.push(Buffer.from(take(u32()))); break; // BINBYTES 'B'
        case 0x43: stack.push(Buffer.from(take(u8()))); break; // SHORT_BINBYTES 'C'
        case 0x8e: stack.push(Buffer.from(take(u64()))); break; // BINBYTES8
        case 0x7d: stack.push({}); break; // EMPTY_DICT '}'
        case 0x5d: stack.push([]); break; // EMPTY_LIST ']'
        case 0x29: stack.push([]); break; // EMPTY_TUPLE ')'
        case 0x74: stack.push(popMark()); break; // TUPLE 't'
        case 0x85: stack.push([pop()]); break; // TUPLE1
        case 0x86: { const b = pop(); stack.push([pop(), b]); break; } // TUPLE2
        case 0x87: { const c = pop(); const b = pop(); stack.push([pop(), b, c]); break; } // TUPLE3
        case 0x6c: stack.push(popMark()); break; // LIST 'l'
        case 0x64: { const d = {}; setItems(d, popMark()); stack.push(d); break; } // DICT 'd'
        case 0x61: { const v = pop(); appendAll(top(), [v]); break; } // APPEND 'a'
        case 0x65: { const items = popMark(); appendAll(top(), items); break; } // APPENDS 'e'
        case 0x73: { const v = pop(); const k = pop(); setItems(top(), [k, v]); break; } // SETITEM 's'
        case 0x75: { const items = popMark(); setItems(top(), items); break; } // SETITEMS 'u'
        case 0x63: { const module = line(); stack.push(hooks.findGlobal(module, line())); break; } // GLOBAL 'c'
        case 0x93: { // STACK_GLOBAL
          const name = pop();
          const module = pop();
          if (typeof module !== 'string' || typeof name !== 'string') throw new Error('STACK_GLOBAL needs two strings');
          stack.push(hooks.findGlobal(module, name));
          break;
        }
        case 0x52: { const args = pop(); stack.push(call(pop(), args)); break; } // REDUCE 'R'
        case 0x81: { const args = pop(); stack.push(call(pop(), args)); break; } // NEWOBJ: cls.__new__(cls, *args)
        case 0x62: { const state = pop(); hooks.build(top(), state); break; } // BUILD 'b'
        case 0x51: stack.push(hooks.persistentLoad(pop())); break; // BINPERSID 'Q'
        case 0x71: memo.set(u8(), top()); break; // BINPUT 'q'
        case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT 'r'
        case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
        case 0x68: stack.push(get(u8())); break; // BINGET 'h'
        case 0x6a: stack.push(get(u32())); break; // LONG_BINGET 'j'
        default: {
          const ch = op >= 0x20 && op < 0x7f ? ` ('${String.fromCharCode(op)}')` : '';
          throw new Error(`unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')}${ch}`);
        }
      }
    } catch (e) {
      throw new Error(`${what}, offset ${start}: ${(e as Error).message}`);
    }
  }
  throw new Error(`${what}: the pickle ends without a STOP opcode`);
}
