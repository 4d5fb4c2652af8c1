// The fully connected CRF of DeepLab (Krähenbühl & Koltun 2011) as post-processing of a window's
// class probabilities: Potts pairwise terms under a Gaussian (smoothness) kernel over pixel
// positions and a bilateral (appearance) kernel over positions and band values, minimised by
// mean-field iterations. Parameters and normalisation as DenseCRF users know them
// (pydensecrf's addPairwiseGaussian / addPairwiseBilateral, symmetric normalisation, unary
// −log p clipped at 1e-5). The bilateral kernel is filtered on the permutohedral lattice; the
// Gaussian one, being separable, by exact convolution.
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import { buildLattice } from './permutohedral.js';

export interface CrfOptions {
  /** Mean-field iterations (DeepLab and pydensecrf's examples: 5). */
  iterations: number;
  /** Smoothness kernel: std `sxy` in pixels, Potts weight `compat`. */
  gaussian: { sxy: number; compat: number };
  /** Appearance kernel: std `sxy` in pixels and `srgb` in the image's units (0–255 bytes), Potts weight `compat`. */
  bilateral: { sxy: number; srgb: number; compat: number };
}

/** pydensecrf's example values (and DeepLab's order of magnitude). */
export const CRF_DEFAULTS: CrfOptions = { iterations: 5, gaussian: { sxy: 3, compat: 3 }, bilateral: { sxy: 80, srgb: 13, compat: 10 } };

/** The CRF's probabilities [K, H, W] of probabilities [K, H, W] over an image [bands, H, W] (raw units). */
export function denseCrf(probabilities: Tensor, image: Tensor, opts: CrfOptions): Tensor {
  const [K, H, W] = probabilities.shape;
  return torch.tidy(() => {
    const logits = probabilities.to('float32').clamp(1e-5, 1).log().view([K, H * W]).t(); // [N, K]
    const smooth = gaussianKernel(H, W, opts.gaussian.sxy);
    const appearance = bilateralKernel(image, opts.bilateral.sxy, opts.bilateral.srgb);
    let q = logits.softmax(1);
    for (let it = 0; it < opts.iterations; it++) {
      const next = torch.tidy(() => {
        // Potts: a label's energy falls by compat × the kernel-weighted mass of that label nearby.
        const energy = logits.add(smooth.message(q).mul_(opts.gaussian.compat)).add_(appearance.message(q).mul_(opts.bilateral.compat));
        return energy.softmax(1);
      });
      q.dispose();
      q = next;
    }
    smooth.dispose();
    appearance.dispose();
    return q.t().reshape([K, H, W]);
  });
}

/** denseCrf of each window of a batch: probabilities [N, K, H, W] over images [N, bands, H, W]. */
export function denseCrfWindows(probabilities: Tensor, images: Tensor, opts: CrfOptions): Tensor {
  return torch.stack(Array.from({ length: probabilities.shape[0] }, (_, j) => denseCrf(probabilities.select(0, j), images.select(0, j), opts)));
}

/** A pairwise kernel's normalised message; dispose() frees what it holds. */
interface Kernel {
  message(q: Tensor): Tensor;
  dispose(): void;
}

/** message(Q) = n ⊙ Σ_j k_ij (n ⊙ Q)_j with n = 1/√(Σ_j k_ij): the symmetric normalisation. */
function normalised(filter: (v: Tensor) => Tensor, N: number, held: { dispose(): void }): Kernel {
  const norm = torch.tidy(() => filter(torch.ones([N, 1])).add_(1e-20).rsqrt()).keep();
  return {
    message: (q) => torch.tidy(() => filter(q.mul(norm)).mul_(norm)),
    dispose: () => { norm.dispose(); held.dispose(); },
  };
}

/** The Gaussian kernel exp(−|p_i − p_j|²/2sxy²) over positions, by separable convolution (±4 std, zero outside). */
function gaussianKernel(H: number, W: number, sxy: number): Kernel {
  const radius = Math.ceil(4 * sxy);
  const taps = torch.tidy(() => torch.arange(-radius, radius + 1).to('float32').div(sxy).pow(2).mul(-0.5).exp()).keep();
  const filter = (v: Tensor) => torch.tidy(() => {
    const C = v.shape[1];
    const planes = v.t().reshape([1, C, H, W]);
    const vertical = torch.conv2d(planes, taps.view([1, 1, -1, 1]).expand([C, 1, 2 * radius + 1, 1]), null, 1, [radius, 0], 1, C);
    const both = torch.conv2d(vertical, taps.view([1, 1, 1, -1]).expand([C, 1, 1, 2 * radius + 1]), null, 1, [0, radius], 1, C);
    return both.view([C, H * W]).t();
  });
  return normalised(filter, H * W, taps);
}

/** The bilateral kernel over (x/sxy, y/sxy, band/srgb …) on the permutohedral lattice. */
function bilateralKernel(image: Tensor, sxy: number, srgb: number): Kernel {
  const [B, H, W] = image.shape;
  const features = torch.tidy(() => {
    const ys = torch.arange(H).to('float32').div(sxy).view([H, 1]).expand([H, W]);
    const xs = torch.arange(W).to('float32').div(sxy).view([1, W]).expand([H, W]);
    // Non-finite values (nodata) would poison the lattice's integer keys.
    const bands = image.to('float32').nanToNum(0, 0, 0).div(srgb).view([B, H * W]);
    return torch.cat([xs.reshape([1, -1]), ys.reshape([1, -1]), bands]).t().contiguous();
  });
  const lattice = buildLattice(features);
  features.dispose();
  return normalised((v) => lattice.filter(v), H * W, lattice);
}
