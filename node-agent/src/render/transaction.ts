/**
 * A transaction builder over the object model. Calls never throw: the first invalid
 * object is remembered and reported by `validate()`, and `toScript()` refuses to print a
 * script from an invalid transaction. The validation is deliberately strict — names and
 * element tokens come from natplan's own renderer, so anything odd is a bug, never input
 * to pass through.
 */
import type { NftObject } from './model.js';
import { TABLE_NAME, nftFamily } from './model.js';

type Verb = 'add' | 'flush' | 'delete';
interface Operation { verb: Verb; object: NftObject }

const OBJECT_NAME = /^[a-z][a-z0-9-]{0,63}$/;
// Element keys and values: addresses, CIDRs, protocol names, ports, ` . `, ` : `, verdicts.
const ELEMENT_TEXT = /^[0-9a-z.:/ -]{1,200}$/;
// A map element's value may end in a comment (a Service label), printed where nft wants
// it: `key comment "..." : value`.
const VALUE_COMMENT = / comment "([a-z0-9][a-z0-9./:-]{0,127})"$/;
// Rules are assembled by natplan from validated parts. This only guards the script's
// framing: one line, no statement separator, no script comment, quotes balanced.
const RULE_TEXT = /^[^\n\r;#]{1,2000}$/;
const TYPE_TEXT = /^[a-z0-9_ .:]{1,200}$/;

// Priorities are printed as numbers: nft 1.0.6 accepts the `dstnat`/`srcnat` keywords
// only in some hooks (e.g. not `dstnat` in output), and numbers read the same everywhere.
const priorityText = (priority: number): string => String(priority);

function validateObject(object: NftObject, verb: Verb): string | undefined {
  switch (object.kind) {
    case 'table':
      return undefined;
    case 'chain':
      if (!OBJECT_NAME.test(object.name)) return `invalid chain name ${JSON.stringify(object.name)}`;
      if (object.base && !Number.isInteger(object.base.priority)) return `invalid priority for chain ${object.name}`;
      return undefined;
    case 'rule':
      if (verb !== 'add') return `rules can only be added (chain ${object.chain})`;
      if (!OBJECT_NAME.test(object.chain)) return `invalid chain name ${JSON.stringify(object.chain)}`;
      if (!RULE_TEXT.test(object.rule) || (object.rule.split('"').length - 1) % 2 !== 0) return `invalid rule text in chain ${object.chain}`;
      return undefined;
    case 'set':
    case 'map':
      if (!OBJECT_NAME.test(object.name)) return `invalid ${object.kind} name ${JSON.stringify(object.name)}`;
      if (!TYPE_TEXT.test(object.type) || (object.kind === 'map') !== object.type.includes(' : ')) return `invalid type for ${object.name}`;
      if (object.timeoutSeconds !== undefined && !(Number.isInteger(object.timeoutSeconds) && object.timeoutSeconds > 0)) return `invalid timeout for ${object.name}`;
      return undefined;
    case 'element':
      if (!OBJECT_NAME.test(object.set)) return `invalid set name ${JSON.stringify(object.set)}`;
      if (!ELEMENT_TEXT.test(object.key)) return `invalid element key ${JSON.stringify(object.key)} in ${object.set}`;
      if (object.value !== undefined && !ELEMENT_TEXT.test(object.value.replace(VALUE_COMMENT, ''))) return `invalid element value in ${object.set}`;
      if (verb === 'flush') return 'elements cannot be flushed';
      return undefined;
  }
}

function objectHead(verb: Verb, object: NftObject): string {
  const where = `${nftFamily(object.family)} ${TABLE_NAME}`;
  switch (object.kind) {
    case 'table':
      return `${verb} table ${where}`;
    case 'chain': {
      if (verb !== 'add' || !object.base) return `${verb} chain ${where} ${object.name}`;
      const { type, hook, priority } = object.base;
      return `add chain ${where} ${object.name} { type ${type} hook ${hook} priority ${priorityText(priority)}; policy accept; }`;
    }
    case 'rule':
      return `add rule ${where} ${object.chain} ${object.rule}`;
    case 'set':
    case 'map': {
      if (verb !== 'add') return `${verb} ${object.kind} ${where} ${object.name}`;
      const parts = [`${object.typeOf ? 'typeof' : 'type'} ${object.type};`];
      if (object.flags?.length) parts.push(`flags ${object.flags.join(',')};`);
      if (object.timeoutSeconds !== undefined) parts.push(`timeout ${object.timeoutSeconds}s;`);
      return `add ${object.kind} ${where} ${object.name} { ${parts.join(' ')} }`;
    }
    case 'element':
      return `${verb} element ${where} ${object.set}`;
  }
}

function elementText(key: string, value: string): string {
  const comment = VALUE_COMMENT.exec(value);
  return comment ? `${key}${comment[0]} : ${value.slice(0, comment.index)}` : `${key} : ${value}`;
}

/** Elements per `add element` line: long enough to parse fast, short enough to read. */
const ELEMENTS_PER_LINE = 64;

export class NftTransaction {
  private readonly operations: Operation[] = [];
  private firstError: string | undefined;

  add(object: NftObject): this { return this.push('add', object); }
  flush(object: NftObject): this { return this.push('flush', object); }
  delete(object: NftObject): this { return this.push('delete', object); }

  /** Number of queued operations (elements count one each). */
  get size(): number { return this.operations.length; }

  /** The first validation error, or undefined when every queued operation is valid. */
  validate(): string | undefined { return this.firstError; }

  /** The exact `nft -f` script; consecutive element operations on one set share a line. */
  toScript(): { script: string } | { error: string } {
    if (this.firstError !== undefined) return { error: this.firstError };
    const lines: string[] = [];
    let pending: { head: string; items: string[] } | undefined;
    const flushPending = (): void => {
      if (pending) lines.push(`${pending.head} { ${pending.items.join(', ')} }`);
      pending = undefined;
    };
    for (const { verb, object } of this.operations) {
      const head = objectHead(verb, object);
      if (object.kind !== 'element') {
        flushPending();
        lines.push(head);
        continue;
      }
      const item = object.value !== undefined && verb === 'add' ? elementText(object.key, object.value) : object.key;
      if (pending && (pending.head !== head || pending.items.length >= ELEMENTS_PER_LINE)) flushPending();
      pending ??= { head, items: [] };
      pending.items.push(item);
    }
    flushPending();
    return { script: lines.length ? `${lines.join('\n')}\n` : '' };
  }

  private push(verb: Verb, object: NftObject): this {
    if (this.firstError === undefined) {
      const error = validateObject(object, verb);
      if (error !== undefined) this.firstError = error;
    }
    this.operations.push({ verb, object });
    return this;
  }
}
