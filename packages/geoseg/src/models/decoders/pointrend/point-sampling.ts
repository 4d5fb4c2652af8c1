// Choosing PointRend's points (Kirillov et al. 2020) as mmsegmentation's point head does.
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import { pointSample } from '../../point-sample.js';

/** Uncertainty of logits [N, C, …]: minus the gap between the two highest (0 where they tie). */
export function uncertainty(logits: Tensor): Tensor {
  return torch.tidy(() => {
    const [top] = logits.topk(2, 1);
    return top.select(1, 1).sub(top.select(1, 0)).unsqueeze(1);
  });
}

export interface TrainingPointOptions {
  points: number;
  /** Candidates drawn per point (k ≥ 1). */
  oversampleRatio: number;
  /** Share of the points taken as the most uncertain candidates (β); the rest are uniform. */
  importanceSampleRatio: number;
}

/**
 * Training points [N, P, 2]: kP uniform candidates, the βP most uncertain of them under the coarse
 * logits, and (1 − β)P uniform points (draws in the reference's order, so a seed gives its points).
 */
export function trainingPoints(coarse: Tensor, { points, oversampleRatio, importanceSampleRatio }: TrainingPointOptions): Tensor {
  return torch.noGrad(() => torch.tidy(() => {
    const n = coarse.shape[0]!;
    const candidates = Math.trunc(points * oversampleRatio);
    const uncertainCount = Math.trunc(importanceSampleRatio * points);
    const drawn = torch.rand([n, candidates, 2], { device: coarse.device });
    const scores = uncertainty(pointSample(coarse, drawn)).select(1, 0); // [N, kP]
    const [, index] = scores.topk(uncertainCount, 1);
    const chosen = drawn.gather(1, index.unsqueeze(2).expand([n, uncertainCount, 2]));
    const random = points - uncertainCount;
    return random > 0 ? torch.cat([chosen, torch.rand([n, random, 2], { device: coarse.device })], 1) : chosen;
  }));
}

/**
 * The `count` most uncertain cells of a [N, 1, H, W] uncertainty map: their flat indices [N, P]
 * and their centres [N, P, 2] as points.
 */
export function uncertainGridPoints(map: Tensor, count: number): { index: Tensor; points: Tensor } {
  return torch.tidy(() => {
    const [n, , h, w] = map.shape as [number, number, number, number];
    const k = Math.min(h * w, count);
    const [, index] = map.reshape([n, h * w]).topk(k, 1);
    // the reference's arithmetic (step · i + step / 2), so the points agree to the bit
    const x = index.remainder(w).float().mul(1 / w).add(1 / w / 2);
    const y = index.div(w, { roundingMode: 'floor' }).float().mul(1 / h).add(1 / h / 2);
    return { index, points: torch.stack([x, y], 2) };
  });
}
