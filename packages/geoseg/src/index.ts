// geoseg: semantic segmentation of remote-sensing imagery, on libtorch.
// The system (raster/, data/, models/, losses/, metrics/, train/, infer/, cli/, server/) grows
// here; see ../../README.md for what exists so far.
export * as torch from '@geoseg/torch';

export * from './models/index.js';
export * from './raster/index.js';
export * from './data/index.js';
export * from './metrics/index.js';
export * from './losses/index.js';
export * from './errors.js';
export { bf16Emulated } from './cpu-features.js';
export { writeMapManifest, MAP_MANIFEST_FILE, type MapManifest, type MapClass } from './map-manifest.js';

export const version = '0.1.0';
export * from './train/index.js';
export * from './evaluation/index.js';
export * from './infer/index.js';
