// Swipe: draw one layer only left of a vertical line and another only right of it, by a WebGL
// scissor rectangle set before the layer renders and cleared after.
import type WebGLTileLayer from 'ol/layer/WebGLTile.js';
import type RenderEvent from 'ol/render/Event.js';

/** Clip `layer` to one side of the line at `position()` (0..1 of the map width; null: no clip). */
export function clipToSide(layer: WebGLTileLayer, side: 'left' | 'right', position: () => number | null): void {
  layer.on('prerender', (event: RenderEvent) => {
    const f = position();
    if (f === null) return;
    const gl = event.context as WebGLRenderingContext;
    const { size, pixelRatio } = event.frameState!;
    const width = Math.round(size[0] * pixelRatio), height = Math.round(size[1] * pixelRatio);
    const x = Math.round(width * f);
    gl.enable(gl.SCISSOR_TEST);
    if (side === 'left') gl.scissor(0, 0, x, height);
    else gl.scissor(x, 0, width - x, height);
  });
  layer.on('postrender', (event: RenderEvent) => {
    const gl = event.context as WebGLRenderingContext;
    gl.disable(gl.SCISSOR_TEST);
  });
}
