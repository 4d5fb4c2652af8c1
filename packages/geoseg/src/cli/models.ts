// geoseg models: the architectures and encoders that exist, with parameter counts.
import * as torch from '@geoseg/torch';
import { ARCHITECTURES, ENCODERS, createEncoder, createModel } from '../models/index.js';
import { table, type Command } from './command.js';

function countParameters(make: () => torch.nn.Module): number {
  const m = make();
  const n = m.numParameters();
  m.dispose();
  return n;
}

export const modelsCommand: Command = {
  name: 'models',
  summary: 'list architectures and encoders with parameter counts',
  usage: 'geoseg models [--encoder resnet50] [--classes 6] [--in-channels 3] [--json]',
  options: {
    encoder: { type: 'string', default: 'resnet50' },
    classes: { type: 'string', default: '6' },
    'in-channels': { type: 'string', default: '3' },
  },
  async run(values) {
    const encoder = String(values.encoder);
    const classes = Number(values.classes);
    const inChannels = Number(values['in-channels']);
    return torch.tidy(() => {
      const encoders = Object.keys(ENCODERS).map((name) => {
        const e = createEncoder(name, { inChannels });
        const row = { name, parameters: e.numParameters(), channels: [...e.channels] };
        e.dispose();
        return row;
      });
      const architectures = Object.entries(ARCHITECTURES).map(([name, a]) => ({
        name,
        description: a.description,
        defaultOutputStride: a.outputStride,
        parameters: countParameters(() => createModel({ arch: name, encoder, classes, inChannels })),
      }));
      return {
        result: { encoders, architectures, parametersFor: { encoder, classes, inChannels } },
        text: [
          'Encoders',
          table(['name', 'parameters', 'channels (strides 2..32)'], encoders.map((e) => [e.name, e.parameters, e.channels.join(' ')])),
          '',
          `Architectures (parameters with encoder ${encoder}, ${classes} classes, ${inChannels} bands)`,
          table(['name', 'parameters', 'output stride', 'description'], architectures.map((a) => [a.name, a.parameters, a.defaultOutputStride, a.description])),
        ].join('\n'),
      };
    });
  },
};
