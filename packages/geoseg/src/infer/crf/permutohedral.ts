// The permutohedral lattice (Adams, Baek & Davis 2010), the fast Gaussian filter of the fully
// connected CRF (Krähenbühl & Koltun 2011): each point is splatted onto the d+1 vertices of the
// lattice simplex that encloses it, the lattice is blurred with [1 2 1]/… along each of its d+1
// axes, and the result sliced back at the points. Built from tensor ops (sorting, index_add,
// index_select), so it runs in libtorch on any device. It follows the layout and constants of
// Krähenbühl's reference implementation (scale factors, ranks with its tie rule, the alpha
// correction), so its kernel is the one DenseCRF users tuned their parameters for.
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';

/** A lattice over N points of d features: filter() applies the Gaussian of unit std in feature space. */
export interface Lattice {
  /** [N, C] values → [N, C]: Σ_j k(f_i, f_j) v_j (approximately, including j = i). */
  filter(values: Tensor): Tensor;
  /** Vertices of the lattice (without the zero slot). */
  readonly vertices: number;
  dispose(): void;
}

/** Builds the lattice of features [N, d] (already divided by their standard deviations). */
export function buildLattice(features: Tensor): Lattice {
  const [N, d] = features.shape;
  if (d < 1) throw new Error('crf: a lattice needs at least one feature');
  const kept: Tensor[] = [];
  const built = torch.tidy(() => {
    const f = features.to('float32');
    // Elevate onto the plane x·1 = 0 of R^{d+1}, scaled so the lattice blur approximates a
    // Gaussian of unit std: elevated = E · (f ⊙ scale).
    const invStd = Math.sqrt(2 / 3) * (d + 1);
    const scale = torch.tensor(Array.from({ length: d }, (_, i) => invStd / Math.sqrt((i + 1) * (i + 2))));
    const E: number[] = [];
    for (let j = 0; j <= d; j++) for (let k = 0; k < d; k++) E.push(j === 0 || k >= j ? 1 : k === j - 1 ? -j : 0);
    const elevated = f.mul(scale).matmul(torch.tensor(E, { shape: [d + 1, d] }).t()); // [N, d+1]
    // The nearest point of the 0-coloured sublattice (multiples of d+1), and how far it is off the plane.
    const rounded = elevated.div(d + 1).round();
    let rem0 = rounded.mul(d + 1);
    const sum = rounded.sum(1, true).to('int64'); // [N, 1]
    // rank[a]: the position of coordinate a in decreasing order of elevated − rem0 (the
    // reference's pairwise rule: on a tie the later coordinate ranks first); then the point is
    // brought back onto the plane.
    const { rank, rem0: onPlane } = torch.tidy(() => {
      const v = elevated.sub(rem0);
      const a = torch.arange(d + 1).view([1, d + 1]);
      const rank = torch.zeros([N, d + 1], { dtype: 'int64' });
      for (let b = 0; b <= d; b++) {
        const vb = v.narrow(1, b, 1);
        // a < b: a ranks behind when v_a < v_b; a > b: when v_b >= v_a.
        const behind = v.lt(vb).logicalAnd(a.lt(b)).logicalOr_(vb.ge(v).logicalAnd_(a.gt(b)));
        rank.add_(behind);
      }
      rank.add_(sum);
      const low = rank.lt(0).to('int64').mul_(d + 1), high = rank.gt(d).to('int64').mul_(d + 1);
      rank.add_(low).sub_(high);
      return { rank, rem0: rem0.add(low).sub_(high) };
    });
    rem0 = onPlane;
    // Barycentric coordinates: (elevated − rem0)/(d+1) at d − rank, minus at d − rank + 1.
    const w = elevated.sub(rem0).div(d + 1);
    const at = rank.neg().add(d);
    const bary = torch.zeros([N, d + 2]).scatterAdd_(1, at, w).scatterAdd_(1, at.add(1), w.neg());
    bary.select(1, 0).add_(bary.select(1, d + 1).add(1));
    const weights = bary.narrow(1, 0, d + 1).contiguous(); // [N, d+1], vertex r's weight

    // Vertex r of the simplex: key_i = rem0_i + r − (d+1)·[rank_i > d − r], for i < d; each key
    // as one int64 code (mixed radix over a box with room for every blur neighbour, ± d per axis),
    // summed axis by axis so no [N, d+1, d] tensor is ever held.
    const base = rem0.narrow(1, 0, d).to('int64');
    const lo = base.amin(0).sub(2 * (d + 1)).toArray() as number[];
    const hi = base.amax(0).add(2 * (d + 1)).toArray() as number[];
    const mult: number[] = [];
    let m = 1;
    for (let i = 0; i < d; i++) {
      mult.push(m);
      m *= hi[i] - lo[i] + 1;
      if (!Number.isSafeInteger(m) || m > 2 ** 62) throw new Error('crf: the features span too wide a lattice (are the standard deviations in the image\'s units?)');
    }
    const codes = torch.tidy(() => {
      const r = torch.arange(d + 1).view([1, d + 1]);
      const limit = r.neg().add(d); // d − r
      const codes = r.mul(mult.reduce((a, b) => a + b, 0)).expand([N, d + 1]).contiguous(); // [N, d+1]
      for (let i = 0; i < d; i++) {
        torch.tidy(() => {
          codes.add_(base.select(1, i).sub(lo[i]).mul_(mult[i]).unsqueeze(1));
          codes.sub_(rank.select(1, i).unsqueeze(1).gt(limit).to('int64').mul_((d + 1) * mult[i]));
        });
      }
      return codes;
    });
    const [vertexCodes, inverse] = torch._unique(codes.flatten(), true, true);
    const M = vertexCodes.shape[0];
    // Blur neighbours along axis j: key − 1 on every coordinate, key_j + d (j < d); and the opposite.
    const neighbours: Tensor[] = [];
    for (let j = 0; j <= d; j++) {
      const delta = mult.reduce((s, mi, i) => s - mi + (i === j ? (d + 1) * mi : 0), 0);
      for (const sign of [1, -1]) {
        const target = vertexCodes.add(sign * delta);
        const pos = torch.searchsorted(vertexCodes, target).clampMax(M - 1);
        const found = vertexCodes.indexSelect(0, pos).eq(target);
        // Missing neighbours read the zero slot M (the zero slot's own neighbours are itself).
        neighbours.push(torch.cat([pos.maskedFill(found.logicalNot(), M), torch.tensor([M], { dtype: 'int64' })]).keep());
      }
    }
    const offsets = inverse.view([N, d + 1]).keep();
    weights.keep();
    return { M, offsets, weights, neighbours };
  });
  kept.push(built.offsets, built.weights, ...built.neighbours);
  const { M, offsets, weights, neighbours } = built;
  // The reference's correction of the blur's scale.
  const alpha = 1 / (1 + 2 ** -d);

  return {
    vertices: M,
    filter(values: Tensor): Tensor {
      return torch.tidy(() => {
        const C = values.shape[1];
        const vals = values.to('float32');
        // Splat: each point adds weight × value at its d+1 vertices (slot M stays zero).
        const contributions = weights.unsqueeze(2).mul(vals.unsqueeze(1)).view([N * (d + 1), C]);
        let lattice = torch.zeros([M + 1, C]).indexAdd_(0, offsets.flatten(), contributions);
        for (let j = 0; j <= d; j++) {
          const n1 = lattice.indexSelect(0, neighbours[2 * j]), n2 = lattice.indexSelect(0, neighbours[2 * j + 1]);
          lattice = lattice.add(n1.add_(n2).mul_(0.5));
        }
        // Slice: the weighted sum of the point's vertices.
        const sliced = lattice.indexSelect(0, offsets.flatten()).view([N, d + 1, C]).mul(weights.unsqueeze(2)).sum(1);
        return sliced.mul_(alpha).to(values.dtype);
      });
    },
    dispose: () => torch.dispose(kept),
  };
}
