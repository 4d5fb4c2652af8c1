// PyTorch's own files: torch.save archives and TorchScript modules.
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from './files.js';
import { native, type NativeScriptModule } from './native.js';
import type { Tensor } from './tensor.js';
import type { Device } from './types.js';

/**
 * Load a file written by Python's `torch.save` (zip format): a tensor, a dict / state dict
 * (an object by key), a list or tuple (an array), numbers and strings.
 */
export function load(path: string): any {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new Error(`torch.load: cannot read ${path}: ${(e as Error).message}`);
  }
  try {
    return native.pickleLoad(bytes);
  } catch (e) {
    throw new Error(`torch.load: ${path}: ${(e as Error).message.replace(/^torch\.load: /, '')}`);
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
    try {
      return new ScriptModule(new native.ScriptModule(path, device));
    } catch (e) {
      throw new Error(`torch.jit.load: ${(e as Error).message.replace(/^torch\.jit\.load\([^)]*\): /, '')} (file ${path})`);
    }
  },
};
