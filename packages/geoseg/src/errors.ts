// Errors a user can act on: each names the thing at fault and what was expected.
export class GeosegError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A model, encoder or option that does not exist or does not fit. */
export class ModelConfigError extends GeosegError {}

/** An input tensor of the wrong shape for a model. */
export class InputShapeError extends GeosegError {}

/** A raster that cannot be opened, read or written (the message names the file). */
export class RasterError extends GeosegError {}

/** A classes file or mask that does not fit the class table (the message names file and field). */
export class ClassTableError extends GeosegError {}
