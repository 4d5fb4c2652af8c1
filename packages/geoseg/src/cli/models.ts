// geoseg models: the architectures (with their options) and encoders that exist, with parameter counts.
import * as torch from '@geoseg/torch';
import { ENCODERS, createEncoder, createModel, describeArchitectures } from '../models/index.js';
import { table, UsageError, type Command } from './command.js';

function countParameters(make: () => torch.nn.Module): number {
  const m = make();
  const n = m.numParameters();
  m.dispose();
  return n;
}

export const modelsCommand: Command = {
  name: 'models',
  summary: 'list architectures (with their options) and encoders, with parameter counts',
  usage: 'geoseg models [--encoder resnet50] [--classes 6] [--in-channels 3] [--json]',
  options: {
    encoder: { type: 'string', default: 'resnet50' },
    classes: { type: 'string', default: '6' },
    'in-channels': { type: 'string', default: '3' },
  },
  async run(values) {
    const encoder = String(values.encoder);
    if (!ENCODERS[encoder]) throw new UsageError(`--encoder: unknown encoder '${encoder}' (known: ${Object.keys(ENCODERS).join(', ')})`);
    const classes = Number(values.classes);
    const inChannels = Number(values['in-channels']);
    return torch.tidy(() => {
      const encoders = Object.keys(ENCODERS).map((name) => {
        const e = createEncoder(name, { inChannels });
        const row = { name, parameters: e.numParameters(), channels: [...e.channels], outputStrides: [...ENCODERS[name]!.outputStrides] };
        e.dispose();
        return row;
      });
      // counted with --encoder, or an architecture's first encoder when it does not take that one
      const architectures = describeArchitectures().map((a) => {
        const withEncoder = a.encoders.includes(encoder) ? encoder : a.encoders[0];
        return { ...a, defaultOutputStride: a.outputStride, parametersEncoder: withEncoder, parameters: countParameters(() => createModel({ arch: a.name, encoder: withEncoder, classes, inChannels })) };
      });
      // the valid pairs (the registry's): every encoder, all but a few, or the few
      const encodersText = (a: (typeof architectures)[number]) => {
        const others = encoders.map((e) => e.name).filter((n) => !a.encoders.includes(n));
        if (others.length === 0) return 'all';
        return others.length < a.encoders.length ? `all but ${others.join(', ')}` : a.encoders.join(', ');
      };
      const optionsText = (a: (typeof architectures)[number]) => a.options.map((o) => `${o.name}${o.default === null ? '' : ` (${o.default})`}`).join(', ') || '-';
      return {
        result: { encoders, architectures, parametersFor: { encoder, classes, inChannels } },
        text: [
          'Encoders',
          table(['name', 'parameters', 'channels (strides 2..32)', 'output strides'], encoders.map((e) => [e.name, e.parameters, e.channels.join(' '), e.outputStrides.join(' ')])),
          '',
          `Architectures (parameters with encoder ${encoder}, ${classes} classes, ${inChannels} bands)`,
          table(['name', 'parameters', 'output stride', 'encoders', 'options (default)', 'training outputs', 'description'],
            architectures.map((a) => [a.name, a.parametersEncoder === encoder ? a.parameters : `${a.parameters} (${a.parametersEncoder})`, a.defaultOutputStride, encodersText(a), optionsText(a), a.objective, a.description])),
        ].join('\n'),
      };
    });
  },
};
