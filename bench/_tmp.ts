import { opOverhead } from './op-overhead.js';
console.log(await opOverhead(2));
console.log(await opOverhead(2));
