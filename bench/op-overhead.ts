// Op-call overhead: microseconds per `a.add(b)` on 8-element tensors through the TS API, against
// the same loop in Python PyTorch (same libtorch). TS and Python rounds alternate, and each side
// reports its best round, so drifts in machine speed hit both alike.
import * as torch from '@geoseg/torch';
import { PythonServer } from './python.js';

export interface OpOverheadResult {
  tsTidyUs: number;
  tsDisposeUs: number;
  pythonUs: number;
  ratio: number;
}

function timeUs(n: number, body: (n: number) => void): number {
  const t = process.hrtime.bigint();
  body(n);
  return Number(process.hrtime.bigint() - t) / n / 1000;
}

export async function opOverhead(threads: number, rounds = 9): Promise<OpOverheadResult> {
  torch.setNumThreads(threads);
  const a = torch.zeros([8]);
  const b = torch.ones([8]);
  // The idiomatic loop: results freed by tidy() in blocks, as a training step does.
  const tidyLoop = (count: number) => {
    for (let k = 0; k < count; k += 1000) torch.tidy(() => { for (let i = 0; i < 1000; i++) a.add(b); });
  };
  const disposeLoop = (count: number) => { for (let i = 0; i < count; i++) a.add(b).dispose(); };
  const py = new PythonServer('op_overhead.py', [String(threads)]);
  await py.read();
  tidyLoop(20_000);
  disposeLoop(20_000);
  const n = 100_000;
  let tsTidyUs = Infinity, tsDisposeUs = Infinity, pythonUs = Infinity;
  for (let r = 0; r < rounds; r++) {
    tsTidyUs = Math.min(tsTidyUs, timeUs(n, tidyLoop));
    pythonUs = Math.min(pythonUs, Number(await py.ask(String(n))));
    tsDisposeUs = Math.min(tsDisposeUs, timeUs(n, disposeLoop));
  }
  py.close();
  a.dispose();
  b.dispose();
  return { tsTidyUs, tsDisposeUs, pythonUs, ratio: tsTidyUs / pythonUs };
}
