// torch.amp: loss scaling for float16 mixed precision (autocast itself is torch.autocast).
export { GradScaler, type GradScalerOptions, type GradScalerState } from './grad-scaler.js';
