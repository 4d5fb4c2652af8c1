import * as torch from '@geoseg/torch';
import { createEncoder, ENCODERS } from '../src/models/index.js';
let t = performance.now();
for (const name of Object.keys(ENCODERS)) { const t0 = performance.now(); const e = createEncoder(name, { inChannels: 3 }); const n = e.numParameters(); e.dispose?.(); console.log(name, n, (performance.now() - t0).toFixed(0)); }
console.log('total', performance.now() - t);
