// What an architecture is to the registry: its own options, how it is built on an encoder, and
// how it is trained by default. Adding one is a folder under decoders/ that exports a definition,
// plus its line in registry.ts; createModel, `geoseg models`, the config schema and the reference
// follow from the definition.
import type { z } from 'zod';
import type { LossTerm } from '../losses/spec.js';
import type { Encoder, OutputStride } from './encoders/encoder.js';
import type { SegmentationModel } from './model.js';

/** One named output's share of the training objective; without `loss`, the run's loss. */
export interface OutputObjective {
  weight: number;
  /**
   * A loss spec ('ce + 0.5 * dice', or terms with options) for this output instead of the run's.
   * On `out` it is the default the run's own `loss` replaces (FarSeg's annealing focal loss).
   */
  loss?: string | readonly LossTerm[];
}

/** The training objective: Σ over named outputs of weight · loss(output). */
export type Objective = Record<string, OutputObjective>;

export interface ArchitectureDefinition<S extends z.AnyZodObject = z.AnyZodObject> {
  /** One line for `geoseg models` and the README. */
  description: string;
  /** Its options, strict (an option that does not apply is an error naming it), with defaults. */
  options: S;
  /** A rule across its options the schema cannot say (UNet++: prune needs deepSupervision): the issue, or undefined. */
  check?(options: z.output<S>): { path: string[]; message: string } | undefined;
  /** The encoder's output stride unless the config sets one. */
  outputStride: OutputStride;
  /** Encoders it accepts (absent: every encoder). */
  encoders?: readonly string[];
  // Method syntax on purpose: a definition for one schema is then usable where any schema is.
  build(encoder: Encoder, classes: number, options: z.output<S>): SegmentationModel;
  /** The default objective over its training outputs (a run config may override it per output). */
  objective(options: z.output<S>): Objective;
  /**
   * Outputs besides `out` that its probabilities read (FactSeg's `binary`): they take no loss of
   * their own (weight 0), and a run's loss on `out` must read them (cp), so they are trained.
   */
  predictsWith?: readonly string[];
  /**
   * Outputs that are logits at sampled points, [N, classes, 1, P], each with the output holding
   * the points' (x, y) in [0, 1] ([N, P, 2]): their loss reads the label at those points
   * (PointRend's `points` at `point_coords`).
   */
  sampledOutputs?: Readonly<Record<string, string>>;
}

export const defineArchitecture = <S extends z.AnyZodObject>(d: ArchitectureDefinition<S>) => d;

/** The objective of a model with one output. */
export const outOnly = (): Objective => ({ out: { weight: 1 } });
