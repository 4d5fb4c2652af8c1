// The architectures by name: one line each (the definition lives in its folder under decoders/).
import type { ArchitectureDefinition } from './architecture.js';
import { deeplabv3, deeplabv3plus } from './decoders/deeplab/index.js';
import { deeplabv1 } from './decoders/deeplab-v1/index.js';
import { deeplabv2 } from './decoders/deeplab-v2/index.js';
import { fcn16s, fcn32s, fcn8s } from './decoders/fcn/index.js';
import { pspnet } from './decoders/pspnet/index.js';
import { hrnet } from './decoders/hrnet/index.js';
import { hrnet_ocr } from './decoders/hrnet-ocr/index.js';
import { attention_unet, unet } from './decoders/unet/index.js';
import { ocrnet } from './decoders/ocrnet/index.js';
import { bisenet } from './decoders/bisenet/index.js';
import { danet } from './decoders/danet/index.js';
import { ccnet } from './decoders/ccnet/index.js';
import { nonlocal } from './decoders/nonlocal/index.js';
import { fpn } from './decoders/fpn/index.js';
import { farseg } from './decoders/farseg/index.js';
import { factseg } from './decoders/factseg/index.js';
import { unetpp } from './decoders/unetpp/index.js';
import { denseaspp } from './decoders/denseaspp/index.js';
import { fastfcn } from './decoders/fastfcn/index.js';
import { refinenet } from './decoders/refinenet/index.js';
import { pointrend } from './decoders/pointrend/index.js';

export const ARCHITECTURES = {
  unet,
  fcn32s,
  fcn16s,
  fcn8s,
  deeplabv1,
  deeplabv2,
  deeplabv3,
  deeplabv3plus,
  pspnet,
  hrnet,
  hrnet_ocr,
  ocrnet,
  bisenet,
  danet,
  ccnet,
  nonlocal,
  fpn,
  farseg,
  factseg,
  unetpp,
  attention_unet,
  denseaspp,
  fastfcn,
  refinenet,
  pointrend,
} satisfies Record<string, ArchitectureDefinition>;

export type ArchitectureName = keyof typeof ARCHITECTURES;
export const ARCHITECTURE_NAMES = Object.keys(ARCHITECTURES) as ArchitectureName[];

export function isArchitectureName(name: string): name is ArchitectureName {
  return Object.prototype.hasOwnProperty.call(ARCHITECTURES, name);
}
