// An error that becomes an HTTP answer: a status, a short message for the client, and any
// headers the status calls for (e.g. Content-Range on a 416).
export class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
    this.name = 'HttpError';
  }
}
