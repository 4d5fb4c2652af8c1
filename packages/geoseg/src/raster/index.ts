// raster/: GDAL-backed windowed reading and COG writing.
export { Raster, withRaster, type RasterInfo, type Window, type ReadOptions, type Rgba } from './read.js';
export { writeCog, type WriteOptions } from './write.js';
