// The viewer's server (geoseg serve): HTTP API + files with Range + the built web app.
export { serve, type ServeOptions, type RunningServer } from './serve.js';
export { HttpError } from './http-error.js';
export { parseRange, type ByteRange } from './ranges.js';
export { resolveRoots, resolveInRoot, resolveFileUrl, fileUrl } from './paths.js';
export { listRuns, listMaps, runDetail, readLog, runStatus, type RunSummary, type RunDetail, type RunStatus, type MapEntry, type ClassInfo } from './runs.js';
export { describeRaster, type RasterDescription } from './rasters.js';
