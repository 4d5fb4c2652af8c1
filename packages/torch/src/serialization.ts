// PyTorch's own files: torch.save archives and TorchScript modules.
import { readFileSync, statSync } from 'node:fs';
import { writeFileAtomic } from './files.js';
import { native, type NativeScriptModule } from './native.js';
import type { Tensor } from './tensor.js';
import { readTorchFile } from './torch-file.js';
import type { Device } from './types.js';

/** `<fn>: cannot read <path>: ENOENT: no such file or directory` (Node's message names the path again: dropped). */
function unreadable(fn: string, path: string, e: unknown): Error {
  const reason = (e as Error).message.replace(/, \w+ '.*'$/s, '');
  return new Error(`${fn}: cannot read ${path}: ${reason}`);
}

/**
 * Load a file written by Python's `torch.save` (zip format, PyTorch >= 1.6) or by `save`: a
 * tensor, a dict or state dict (a plain object by key, in the file's order, except that
 * integer-like keys come first as in any JS object), a list or tuple (an array), None (null),
 * numbers (bigint beyond 2^53), strings and bytes (Buffer). Tensors load onto the CPU; tensors
 * that shared a storage in Python share memory here too. Pickled Python objects other than
 * these (e.g. a whole nn.Module) are refused with an error.
 */
export function load(path: string): any {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw unreadable('torch.load', path, e);
  }
  try {
    return readTorchFile(bytes);
  } catch (e) {
    throw new Error(`torch.load: ${path}: ${(e as Error).message}`);
  }
}

/** Save a tensor, an object of tensors or a list in `torch.save`'s format (atomic write). */
export function save(path: string, value: Tensor | Record<string, unknown> | unknown[]): void {
  writeFileAtomic(path, [native.pickleSave(value)]);
}

/** A TorchScript module loaded with `torch.jit.load`. */
export class ScriptModule {
  readonly #module: NativeScriptModule;

  constructor(module: NativeScriptModule) {
    this.#module = module;
  }

  forward(...inputs: unknown[]): any {
    return this.#module.runMethod('forward', ...inputs);
  }

  /** Call any method of the module by name. */
  call(method: string, ...inputs: unknown[]): any {
    return this.#module.runMethod(method, ...inputs);
  }

  train(on = true): this {
    this.#module.train(on);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  get training(): boolean {
    return this.#module.isTraining();
  }

  namedParameters(): Record<string, Tensor> {
    return this.#module.namedParameters() as Record<string, Tensor>;
  }

  namedBuffers(): Record<string, Tensor> {
    return this.#module.namedBuffers() as Record<string, Tensor>;
  }

  methodNames(): string[] {
    return this.#module.methodNames();
  }
}

export const jit = {
  /** Load a TorchScript file (`torch.jit.save` / `torch.jit.trace(...).save`), optionally onto a device. */
  load(path: string, device?: Device): ScriptModule {
    // Checked here for a clear message: libtorch's says "errno 2 on fopen: , file path: ...".
    try {
      statSync(path);
    } catch (e) {
      throw unreadable('torch.jit.load', path, e);
    }
    try {
      return new ScriptModule(new native.ScriptModule(path, device));
    } catch (e) {
      // The addon prefixes `torch.jit.load(<path>): ` (or `torch.jit.load: ` for a bad device),
      // and libtorch may add ", file path: <path>": name the path once, in front.
      let reason = (e as Error).message;
      for (const prefix of [`torch.jit.load(${path}): `, 'torch.jit.load: ']) {
        if (reason.startsWith(prefix)) reason = reason.slice(prefix.length);
      }
      reason = reason.replace(`, file path: ${path}`, '');
      if (/constants\.pkl/.test(reason)) reason += ' (a torch.save file? load it with torch.load)';
      throw new Error(`torch.jit.load: ${path}: ${reason}`);
    }
  },
};
