// Process-wide settings for streaming a large scene through GDAL and libtorch (geoseg predict and
// geoseg eval set them; a library caller opts in): they change the whole process, not one call.
import gdal from 'gdal-async';
import * as torch from '@geoseg/torch';

export function useStreamingSettings(): void {
  // A small GDAL block cache: rows are read once, in order, and written once (GDAL_CACHEMAX overrides).
  if (!process.env.GDAL_CACHEMAX) gdal.config.set('GDAL_CACHEMAX', '16');
  torch.setMallocArenaMax(1); // threads' malloc arenas each keep a high-water mark of freed activations
  // Rows are written while the next windows are read asynchronously, on purpose (a short wait on
  // GDAL's lock, not a bug): keep gdal-async from warning on every block.
  (gdal as unknown as { eventLoopWarning: boolean }).eventLoopWarning = false;
}

/** The process's peak resident memory so far, in MB. */
export function peakRss(): number {
  return process.resourceUsage().maxRSS / 1024;
}
