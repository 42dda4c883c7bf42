/**
 * Deep immutability for parsed metadata. Object.freeze is shallow, and it cannot stop
 * Map.prototype.set: a Map keeps its entries in internal slots, not properties. So a frozen
 * Map here also gets own `set`, `delete` and `clear` that throw. What stays possible is only a
 * deliberate bypass (`Map.prototype.set.call(map, ...)`), which no ordinary code does.
 */
function refuseEdit(): never {
  throw new TypeError('parsed metadata is read-only: edit a copy made with editable()');
}

const READ_ONLY = { value: refuseEdit, enumerable: false, writable: false, configurable: false };

/** Freezes `value` and everything reachable from it (objects, arrays, Maps, Sets); returns it. */
export function deepFreeze<T>(value: T): T {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const v = pending.pop();
    if (typeof v !== 'object' || v === null || Object.isFrozen(v) || ArrayBuffer.isView(v)) continue;
    if (v instanceof Map || v instanceof Set) {
      Object.defineProperties(v, { add: READ_ONLY, set: READ_ONLY, delete: READ_ONLY, clear: READ_ONLY });
      for (const entry of v.entries()) pending.push(entry[0], entry[1]);
    }
    Object.freeze(v);
    for (const field of Object.values(v)) {
      if (typeof field === 'object' && field !== null) pending.push(field);
    }
  }
  return value;
}
