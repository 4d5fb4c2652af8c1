// Adversarial fine-tuning (Luc et al. 2016, "Semantic Segmentation using Adversarial Networks";
// the discriminator of Hung et al. 2018): a fully convolutional discriminator D looks at (image,
// label map) pairs, the image's normalized bands concatenated with a class-probability map, and
// scores each of its output cells as ground truth (1) or prediction (0).
//
//   D: five 4×4 convolutions of stride 2 (channels c, 2c, 4c, 8c, 1), LeakyReLU 0.2 between
//      them; the output is a [B, 1, H/32, W/32] map of logits.
//   D's loss          = ½ · (BCE(D(x, onehot(y)), 1) + BCE(D(x, p̂), 0)),  p̂ the prediction, detached
//   segmentation loss += weight · BCE(D(x, p), 1)                       (Luc's "fool D" term)
//
// Ignored pixels carry the prediction in the ground-truth map too, so they tell D nothing. The
// first `pretrain` iterations of a run train only D: the segmentation model predicts in eval
// mode and is not stepped (its learning-rate schedule still runs). D has its own Adam
// (Hung et al.: lr 1e-4, betas 0.9/0.99), checkpointed beside the model for exact resume.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as torch from '@geoseg/torch';
import { nn, optim, type Tensor } from '@geoseg/torch';
import { z } from 'zod';

export const adversarialSchema = z.object({
  weight: z.number().min(0).default(0.01).describe('Weight of the adversarial term in the segmentation loss (Hung et al.: 0.01).'),
  pretrain: z.number().int().min(0).default(0).describe('Iterations at the start of the run that train only the discriminator (the segmentation model frozen, in eval mode).'),
  lr: z.number().positive().default(1e-4).describe('The discriminator\'s Adam learning rate (betas 0.9, 0.99).'),
  channels: z.number().int().positive().default(64).describe('Channels of the discriminator\'s first convolution (doubled in each of the next three).'),
}).strict();

export type AdversarialConfig = z.infer<typeof adversarialSchema>;

export const DISCRIMINATOR_FILE = 'discriminator.safetensors';
export const DISCRIMINATOR_OPTIMIZER_FILE = 'discriminator-optimizer.safetensors';

/** The fully convolutional discriminator over (image, probabilities) pairs. */
export class Discriminator extends nn.Module {
  declare readonly layers: nn.Sequential;

  constructor(inChannels: number, channels: number) {
    super();
    const c = [inChannels, channels, 2 * channels, 4 * channels, 8 * channels];
    const body: nn.Module[] = [];
    for (let i = 0; i < 4; i++) body.push(new nn.Conv2d(c[i], c[i + 1], 4, { stride: 2, padding: 1 }), new nn.LeakyReLU(0.2));
    body.push(new nn.Conv2d(c[4], 1, 4, { stride: 2, padding: 1 }));
    this.registerModule('layers', new nn.Sequential(...body));
  }

  forward(x: Tensor): Tensor {
    return this.layers.forward(x);
  }
}

/** A map of ones or zeros the shape of `logits`, and the mean BCE against it. */
const bce = (logits: Tensor, real: boolean) => torch.binaryCrossEntropyWithLogits(logits, real ? torch.onesLike(logits) : torch.zerosLike(logits));

export class AdversarialTraining {
  readonly discriminator: Discriminator;
  readonly optimizer: optim.Adam;

  constructor(readonly cfg: AdversarialConfig, bands: number, readonly classes: number, readonly ignoreIndex: number, device = 'cpu') {
    this.discriminator = new Discriminator(bands + classes, cfg.channels);
    // moved before the optimizer is built: to() replaces the parameter tensors
    if (device !== 'cpu') this.discriminator.to(device as torch.Device);
    this.optimizer = new optim.Adam(this.discriminator.parameters(), { lr: cfg.lr, betas: [0.9, 0.99] });
  }

  /** Whether iteration k (1-based) trains only the discriminator. */
  pretraining(k: number): boolean {
    return k <= this.cfg.pretrain;
  }

  /** weight · BCE(D(x, p), 1): gradients reach the segmentation model through p. */
  generatorTerm(images: Tensor, probabilities: Tensor): Tensor {
    return bce(this.discriminator.forward(torch.cat([images, probabilities], 1)), true).mul(this.cfg.weight);
  }

  /** One step of D on real (one-hot labels) and fake (the detached prediction) maps; returns D's loss. */
  step(images: Tensor, probabilities: Tensor, masks: Tensor): number {
    return torch.tidy(() => {
      const fake = probabilities.detach().to('float32');
      const ignored = masks.eq(this.ignoreIndex);
      const oneHot = torch.oneHot(masks.maskedFill(ignored, 0), this.classes).permute([0, 3, 1, 2]).to('float32');
      const real = torch.where(ignored.unsqueeze(1), fake, oneHot);
      const x = images.detach().to('float32');
      const loss = bce(this.discriminator.forward(torch.cat([x, real], 1)), true).add(bce(this.discriminator.forward(torch.cat([x, fake], 1)), false)).mul(0.5);
      this.optimizer.zeroGrad();
      loss.backward();
      this.optimizer.step();
      return loss.item();
    });
  }

  /** D's gradients from the segmentation step are not D's to apply. */
  dropGradients(): void {
    this.optimizer.zeroGrad();
  }
}

/** The discriminator's checkpoint files and its optimizer's JSON state (for meta.json). */
export function discriminatorCheckpoint(a: AdversarialTraining): { files: Record<string, Record<string, Tensor>>; optimizer: optim.OptimizerStateDict } {
  const { tensors, json } = optim.optimizerStateToTensors(a.optimizer.stateDict());
  return { files: { [DISCRIMINATOR_FILE]: a.discriminator.stateDict(), [DISCRIMINATOR_OPTIMIZER_FILE]: tensors }, optimizer: json };
}

/** Continue a resumed run's discriminator (a checkpoint without one, from a run without adversarial, starts it fresh). */
export function restoreDiscriminator(a: AdversarialTraining, dir: string, optimizerJson: optim.OptimizerStateDict | undefined): void {
  const weights = join(dir, DISCRIMINATOR_FILE);
  if (!existsSync(weights)) return;
  torch.noGrad(() => a.discriminator.loadStateDict(torch.loadSafetensors(weights)));
  const state = join(dir, DISCRIMINATOR_OPTIMIZER_FILE);
  if (optimizerJson && existsSync(state)) a.optimizer.loadStateDict(optim.optimizerStateFromTensors(torch.loadSafetensors(state), optimizerJson));
}
