// Polygons of a class raster (GDAL polygonize): one feature per connected region, with the class
// id, name and area, optionally simplified, in the raster's CRS. Written to a temporary file and
// renamed (GeoJSON or GeoPackage by extension).
import gdal from 'gdal-async';
import { existsSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { existsMessage } from '../outputs.js';
import { GeosegError } from '../errors.js';

const DRIVERS: Record<string, string> = { '.geojson': 'GeoJSON', '.json': 'GeoJSON', '.gpkg': 'GPKG' };

export async function vectorize(raster: string, out: string, classes: { id: number; name: string }[],
  opts: { simplify: number; nodata: number | null; overwrite: boolean }): Promise<number> {
  const driver = DRIVERS[extname(out).toLowerCase()];
  if (!driver) throw new GeosegError(`${out}: vector output must end in .geojson or .gpkg`);
  if (existsSync(out) && !opts.overwrite) throw new GeosegError(existsMessage(out));
  const src = await gdal.openAsync(raster);
  const tmp = join(dirname(out), `.${process.pid}.${basename(out)}`);
  rmSync(tmp, { force: true });
  try {
    const band = src.bands.get(1);
    // Polygonize into memory first, then copy with names, areas and simplified geometry.
    const mem = gdal.open('', 'w', 'Memory');
    const raw = mem.layers.create('raw', src.srs, gdal.wkbPolygon);
    raw.fields.add(new gdal.FieldDefn('class', gdal.OFTInteger));
    await gdal.polygonizeAsync({ src: band, dst: raw, mask: opts.nodata === null ? undefined : band.getMaskBand() ?? undefined, pixValField: 0, connectedness: 8 });
    const ds = gdal.drivers.get(driver).create(tmp);
    // A GeoPackage layer created without an SRS is declared "undefined geographic" (srs_id 0:
    // degrees); pixel coordinates of a scene without georeference get the spec's undefined
    // Cartesian SRS (srs_id -1) instead.
    const srs = src.srs ?? (driver === 'GPKG' ? gdal.SpatialReference.fromWKT('LOCAL_CS["Undefined Cartesian SRS"]') : null);
    const layer = ds.layers.create('classes', srs, gdal.wkbPolygon);
    layer.fields.add(new gdal.FieldDefn('class', gdal.OFTInteger));
    layer.fields.add(new gdal.FieldDefn('name', gdal.OFTString));
    layer.fields.add(new gdal.FieldDefn('area', gdal.OFTReal));
    const names = new Map(classes.map((c) => [c.id, c.name]));
    let n = 0;
    for (const f of raw.features) {
      const id = f.fields.get('class') as number;
      if (opts.nodata !== null && id === opts.nodata) continue;
      let geom = f.getGeometry();
      if (!geom) continue;
      if (opts.simplify > 0) geom = geom.simplifyPreserveTopology(opts.simplify);
      const g = new gdal.Feature(layer);
      g.setGeometry(geom);
      g.fields.set('class', id);
      g.fields.set('name', names.get(id) ?? `class ${id}`);
      g.fields.set('area', (geom as gdal.Polygon).getArea());
      layer.features.add(g);
      n++;
    }
    ds.close();
    mem.close();
    renameSync(tmp, out);
    return n;
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e instanceof GeosegError ? e : new GeosegError(`${out}: cannot write polygons (${(e as Error).message})`);
  } finally {
    src.close();
  }
}
