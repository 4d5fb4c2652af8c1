// FarSeg's foreground-scene relation module (Zheng et al. 2020): a scene embedding u from the
// globally pooled deepest features, per pyramid level a content encoding v_i; the relation
// r_i = σ(⟨u_i, v_i⟩) (one value per pixel) weights the level's re-encoded features, so pixels that
// relate to the scene (foreground in context) are kept and the background is suppressed.
// `scaleAware`: one scene projection per level (the paper's default) or one shared.
import * as torch from '@geoseg/torch';
import { nn, type Tensor } from '@geoseg/torch';

const sceneProjection = (inC: number, outC: number) => new nn.Sequential(new nn.Conv2d(inC, outC, 1), new nn.ReLU(true), new nn.Conv2d(outC, outC, 1));
const encoding = (inC: number, outC: number) => new nn.Sequential(new nn.Conv2d(inC, outC, 1), new nn.BatchNorm2d(outC), new nn.ReLU(true));

export class SceneRelation extends nn.Module {
  declare readonly scene_encoder: nn.ModuleList<nn.Sequential> | nn.Sequential;
  declare readonly content_encoders: nn.ModuleList<nn.Sequential>;
  declare readonly feature_reencoders: nn.ModuleList<nn.Sequential>;

  constructor(sceneChannels: number, levelChannels: readonly number[], outChannels: number, readonly scaleAware = true) {
    super();
    this.registerModule('scene_encoder', scaleAware
      ? new nn.ModuleList(levelChannels.map(() => sceneProjection(sceneChannels, outChannels)))
      : sceneProjection(sceneChannels, outChannels));
    this.registerModule('content_encoders', new nn.ModuleList(levelChannels.map((c) => encoding(c, outChannels))));
    this.registerModule('feature_reencoders', new nn.ModuleList(levelChannels.map((c) => encoding(c, outChannels))));
  }

  /** The deepest features [N, C, h, w] and the pyramid levels → the relation-weighted levels. */
  forward(deepest: Tensor, levels: Tensor[]): Tensor[] {
    const scene = deepest.adaptiveAvgPool2d([1, 1]);
    const shared = this.scene_encoder instanceof nn.Sequential ? this.scene_encoder.forward(scene) : null;
    return levels.map((p, i) => torch.tidy(() => {
      const u = shared ?? (this.scene_encoder as nn.ModuleList<nn.Sequential>).at(i).forward(scene);
      const relation = this.content_encoders.at(i).forward(p).mul(u).sum([1], true).sigmoid();
      return this.feature_reencoders.at(i).forward(p).mul(relation);
    }));
  }
}
