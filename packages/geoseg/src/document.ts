// Reading a YAML or JSON document (config and class files), with errors naming the file.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { GeosegError } from './errors.js';

/** The parsed document at `path` (.json as JSON, anything else as YAML); `Err` is the error class thrown. */
export function readDocument(path: string, Err: new (message: string) => GeosegError = GeosegError): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Err(`${path}: cannot read (${(e as Error).message})`);
  }
  try {
    return path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    throw new Err(`${path}: not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'} (${(e as Error).message.split('\n')[0]})`);
  }
}
