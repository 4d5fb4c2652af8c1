// A horizontal bar chart drawn into an RGB tensor with libtorch and written as PNG by GDAL
// (plot/png.ts). Used by `geoseg stats --plot`.
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import * as torch from '@geoseg/torch';
import type { Tensor } from '@geoseg/torch';
import { GeosegError } from '../errors.js';
import { checkOutputFile } from '../outputs.js';
import { GLYPH_HEIGHT, textBitmap } from './font.js';
import { writePng } from './png.js';

export interface Bar {
  label: string;
  /** Bar length as a fraction of the longest possible bar (0..1). */
  value: number;
  color: [number, number, number];
  /** Text drawn after the bar (e.g. '12.3%'). */
  note: string;
}

const SCALE = 2; // font pixels per glyph pixel
const ROW = 30;
const MARGIN = 16;

/** Ink `text` in `color` into canvas [3, H, W] at (x, y) (top-left). */
function drawText(canvas: Tensor, text: string, x: number, y: number, color: number[] = [0, 0, 0]): void {
  torch.tidy(() => {
    const { width, height, bits } = textBitmap(text);
    const [, H, W] = canvas.shape;
    const w = Math.min(width * SCALE, W - x);
    const h = Math.min(height * SCALE, H - y);
    if (w <= 0 || h <= 0) return;
    const ink = torch.tensor(bits, { shape: [height, width] }).repeatInterleave(SCALE, 0).repeatInterleave(SCALE, 1)
      .narrow(0, 0, h).narrow(1, 0, w).to('bool');
    const region = canvas.narrow(1, y, h).narrow(2, x, w);
    region.copy_(torch.where(ink, torch.tensor(color, { dtype: 'uint8', shape: [3, 1, 1] }), region));
  });
}

function fillRect(canvas: Tensor, x: number, y: number, w: number, h: number, color: number[]): void {
  if (w <= 0 || h <= 0) return;
  torch.tidy(() => canvas.narrow(1, y, h).narrow(2, x, w).copy_(torch.tensor(color, { dtype: 'uint8', shape: [3, 1, 1] }).expand([3, h, w])));
}

/** Draw the chart and write it to `path` (PNG); an existing file is replaced only with `overwrite`. */
export async function writeBarChart(path: string, title: string, bars: Bar[], { overwrite = false } = {}): Promise<void> {
  const folder = dirname(path);
  if (!existsSync(folder)) throw new GeosegError(`${path}: folder ${folder} does not exist`);
  checkOutputFile(path, overwrite);
  const labelWidth = Math.max(...bars.map((b) => b.label.length), 4) * 6 * SCALE + MARGIN;
  const noteWidth = Math.max(...bars.map((b) => b.note.length), 4) * 6 * SCALE + MARGIN;
  const barWidth = 480;
  const width = MARGIN + labelWidth + barWidth + noteWidth;
  const height = MARGIN * 2 + ROW * (bars.length + 1);
  const pixels = torch.tidy(() => {
    const canvas = torch.full([3, height, width], 255, { dtype: 'uint8' });
    drawText(canvas, title, MARGIN, MARGIN);
    bars.forEach((b, i) => {
      const y = MARGIN + ROW * (i + 1);
      const textY = y + Math.floor((ROW - GLYPH_HEIGHT * SCALE) / 2);
      drawText(canvas, b.label, MARGIN, textY);
      const length = Math.max(1, Math.round(Math.min(1, Math.max(0, b.value)) * barWidth));
      fillRect(canvas, MARGIN + labelWidth, y + 4, length, ROW - 8, b.color);
      drawText(canvas, b.note, MARGIN + labelWidth + length + 8, textY);
    });
    fillRect(canvas, MARGIN + labelWidth - 1, MARGIN + ROW, 1, ROW * bars.length, [0, 0, 0]); // axis
    return canvas.contiguous();
  });
  try {
    await writePng(path, pixels, 'the chart');
  } finally {
    pixels.dispose();
  }
}
