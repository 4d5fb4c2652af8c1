// TorchScript segmentation models exported from Python PyTorch (`torch.jit.script(model).save`,
// or `torch.jit.trace`): images [N, bands, H, W], already normalised, in; logits [N, classes, h, w]
// out, or a dict holding them under 'out' (torchvision's segmentation models). Logits smaller than
// the input are upsampled bilinearly. What a checkpoint's meta.json says (classes, normalisation)
// comes from a model card beside the file: `<model>.json`.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import { z } from 'zod';
import { GeosegError } from '../errors.js';
import type { ModelOutputs } from './model.js';
import type { WindowModel } from './window-model.js';

const cardSchema = z.object({
  classes: z.array(z.string().min(1)).min(2).describe('Class names, in the order of the logits\' channels.'),
  colors: z.array(z.tuple([z.number().int().min(0).max(255), z.number().int().min(0).max(255), z.number().int().min(0).max(255)])).optional(),
  normalization: z.object({ mean: z.array(z.number()).min(1), std: z.array(z.number().positive()).min(1) }).strict()
    .describe('Per band, in the raster\'s units: the model sees (value − mean) / std.'),
}).strict();

export type ModelCard = z.infer<typeof cardSchema>;

/** The model card of a TorchScript file: `<file>.json`. */
export function readModelCard(modelPath: string): ModelCard & { bands: number } {
  const file = `${modelPath}.json`;
  if (!existsSync(file)) {
    throw new GeosegError(`${file}: missing: a TorchScript model needs a model card beside it ({"classes": [...], "normalization": {"mean": [...], "std": [...]}})`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new GeosegError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  const parsed = cardSchema.safeParse(doc);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new GeosegError(`${file}: ${issue.path.join('.') || '(card)'}: ${issue.message}`);
  }
  const card = parsed.data;
  if (card.normalization.mean.length !== card.normalization.std.length) throw new GeosegError(`${file}: normalization: mean has ${card.normalization.mean.length} bands, std ${card.normalization.std.length}`);
  if (card.colors && card.colors.length !== card.classes.length) throw new GeosegError(`${file}: colors: ${card.colors.length} colours for ${card.classes.length} classes`);
  return { ...card, bands: card.normalization.mean.length };
}

export class ScriptedModel implements WindowModel {
  readonly #module: torch.ScriptModule;
  // its code may view activations as contiguous: batches come in the default layout
  readonly channelsLastInputs = false;

  constructor(readonly path: string, readonly classes: number, device?: string) {
    try {
      this.#module = torch.jit.load(resolve(path), device as torch.Device | undefined);
    } catch (e) {
      throw new GeosegError(`${path}: cannot load as a TorchScript model (${(e as Error).message.split('\n')[0]})`);
    }
    this.#module.eval();
  }

  parameters(): Tensor[] {
    return Object.values(this.#module.namedParameters());
  }

  forwardOutputs(x: Tensor): ModelOutputs {
    let out: unknown;
    try {
      out = this.#module.forward(x);
    } catch (e) {
      throw new GeosegError(`${this.path}: forward failed on a [${x.shape.join(', ')}] batch (${(e as Error).message.split('\n')[0]})`);
    }
    const logits = out instanceof torch.Tensor ? out : (out as Record<string, unknown> | null)?.out;
    if (!(logits instanceof torch.Tensor)) throw new GeosegError(`${this.path}: forward returned neither a tensor nor a dict with 'out'`);
    const [n, k] = logits.shape;
    if (logits.dim() !== 4 || n !== x.shape[0] || k !== this.classes) {
      throw new GeosegError(`${this.path}: forward returned logits [${logits.shape.join(', ')}], expected [${x.shape[0]}, ${this.classes} (the card's classes), h, w]`);
    }
    const size = x.shape.slice(2);
    const resized = logits.shape[2] === size[0] && logits.shape[3] === size[1] ? logits : torch.upsampleBilinear2d(logits, size, false);
    return { out: resized.float() };
  }

  probabilities(outputs: ModelOutputs): Tensor {
    return outputs.out.softmax(1);
  }

  predictProbabilities(x: Tensor): Tensor {
    return this.probabilities(this.forwardOutputs(x));
  }

  /** The module's tensors are the native module's own: freed with it by the garbage collector. */
  dispose(): void {}
}
