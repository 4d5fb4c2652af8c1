// raster/: GDAL-backed windowed reading, COG writing, vector rasterization and resampling.
export { Raster, withRaster, type RasterInfo, type Window, type ReadOptions, type Rgba } from './read.js';
export { writeCog, CLASSES_METADATA_KEY, type WriteOptions } from './write.js';
export { StripWriter } from './strip-writer.js';
export { rasterizeVector, type Grid, type RasterizeOptions, type RasterizeResult } from './vector.js';
export { resampleToGsd, pixelSize, type ResampleKind } from './warp.js';
