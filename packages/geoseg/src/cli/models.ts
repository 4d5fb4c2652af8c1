// geoseg models: the architectures (with their options) and encoders that exist, with parameter counts.
import * as torch from '@geoseg/torch';
import { ENCODERS, createEncoder, createModel, describeArchitectures, modelFlops } from '../models/index.js';
import { table, UsageError, type Command } from './command.js';

/** Parameters, and with a size the GFLOPs of one forward of one size² image. */
function measure(make: () => torch.nn.Module, bands: number, size: number | null): { parameters: number; gflops: number | null } {
  // zeros instead of random draws: counts do not depend on the values (several times faster)
  const m = torch.nn.init.withoutRandomInit(make);
  const parameters = m.numParameters();
  const gflops = size === null ? null : modelFlops(m, [1, bands, size, size]).forward / 1e9;
  m.dispose();
  return { parameters, gflops };
}

export const modelsCommand: Command = {
  name: 'models',
  summary: 'list architectures (with their options) and encoders, with parameter counts',
  usage: 'geoseg models [--encoder resnet50] [--classes 6] [--in-channels 3] [--flops 512] [--json]',
  options: {
    encoder: { type: 'string', default: 'resnet50' },
    classes: { type: 'string', default: '6' },
    'in-channels': { type: 'string', default: '3' },
    // GFLOPs of one forward at this size (runs every model once: slower)
    flops: { type: 'string' },
  },
  async run(values) {
    const encoder = String(values.encoder);
    if (!ENCODERS[encoder]) throw new UsageError(`--encoder: unknown encoder '${encoder}' (known: ${Object.keys(ENCODERS).join(', ')})`);
    const classes = Number(values.classes);
    const inChannels = Number(values['in-channels']);
    const size = values.flops === undefined ? null : Number(values.flops);
    if (size !== null && !(Number.isInteger(size) && size >= 32 && size % 32 === 0)) throw new UsageError(`--flops: expected an image size, a multiple of 32 (e.g. 512), got '${values.flops}'`);
    return torch.tidy(() => {
      const encoders = Object.keys(ENCODERS).map((name) => {
        const e = torch.nn.init.withoutRandomInit(() => createEncoder(name, { inChannels }));
        const row = { name, ...measure(() => e, inChannels, size), channels: [...e.channels], outputStrides: [...ENCODERS[name]!.outputStrides] };
        return row;
      });
      // counted with --encoder, or an architecture's first encoder when it does not take that one
      const architectures = describeArchitectures().map((a) => {
        const withEncoder = a.encoders.includes(encoder) ? encoder : a.encoders[0];
        return { ...a, defaultOutputStride: a.outputStride, parametersEncoder: withEncoder, ...measure(() => createModel({ arch: a.name, encoder: withEncoder, classes, inChannels }), inChannels, size) };
      });
      // the valid pairs (the registry's): every encoder, all but a few, or the few
      const encodersText = (a: (typeof architectures)[number]) => {
        const others = encoders.map((e) => e.name).filter((n) => !a.encoders.includes(n));
        if (others.length === 0) return 'all';
        return others.length < a.encoders.length ? `all but ${others.join(', ')}` : a.encoders.join(', ');
      };
      const flopsHeader = size === null ? [] : [`GFLOPs (forward, ${size}²)`];
      const gflopsCell = (g: number | null) => (g === null ? [] : [g.toFixed(1)]);
      const optionsText = (a: (typeof architectures)[number]) => a.options.map((o) => `${o.name}${o.default === null ? '' : ` (${o.default})`}`).join(', ') || '-';
      return {
        result: { encoders, architectures, parametersFor: { encoder, classes, inChannels, flopsSize: size } },
        text: [
          'Encoders',
          table(['name', 'parameters', ...flopsHeader, 'channels (strides 2..32)', 'output strides'], encoders.map((e) => [e.name, e.parameters, ...gflopsCell(e.gflops), e.channels.join(' '), e.outputStrides.join(' ')])),
          '',
          `Architectures (parameters with encoder ${encoder}, ${classes} classes, ${inChannels} bands)`,
          table(['name', 'parameters', ...flopsHeader, 'output stride', 'encoders', 'options (default)', 'training outputs', 'description'],
            architectures.map((a) => [a.name, a.parametersEncoder === encoder ? a.parameters : `${a.parameters} (${a.parametersEncoder})`, ...gflopsCell(a.gflops), a.defaultOutputStride, encodersText(a), optionsText(a), a.objective, a.description])),
        ].join('\n'),
      };
    });
  },
};
