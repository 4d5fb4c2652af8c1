// torch.nn
export { Module, StateDictError, type LoadResult } from './module.js';
export * from './layers.js';
export { Sequential, ModuleList, ModuleDict } from './containers.js';
export * as init from './init.js';
export * as functional from './functional.js';
export * as utils from './clip-grad.js';
