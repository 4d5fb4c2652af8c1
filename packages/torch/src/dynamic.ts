// Calling operators by their full schema name, including ones without a generated wrapper
// (other namespaces, dunder names): torch.ops.call('aten::add.Tensor', a, b).
import { native } from './native.js';
import { result } from './tensor.js';

const ids = new Map<string, number>();

export const ops = {
  /**
   * Call an operator by name: 'aten::add' picks the overload that fits the arguments,
   * 'aten::add.Tensor' names one overload. A trailing plain object gives arguments by name.
   */
  call(name: string, ...args: unknown[]): any {
    let id = ids.get(name);
    if (id === undefined) {
      id = native.opGroup(name);
      ids.set(name, id);
    }
    return result(native.callGroup(id, ...args));
  },
  /** Every operator schema the running libtorch knows. */
  schemas() {
    return native.listSchemas();
  },
};
