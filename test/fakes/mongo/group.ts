import { Double, Int32 } from "bson";
import { canonicalKey, compareValues, isPlainDocument, type Doc } from "./bson-values.js";
import { badValue, notSupported } from "./errors.js";
import { compileExpression, type Expression } from "./expressions.js";
import { addNumbers, isNumeric, toDouble, type NumericValue } from "./numbers.js";

/** Folds the values of one output field over the documents of a group. */
interface Accumulator {
  add(value: unknown): void;
  result(): unknown;
}

function sum(): Accumulator {
  let total: NumericValue = new Int32(0);
  return {
    add: (value) => {
      if (isNumeric(value)) total = addNumbers(total, value);
    },
    result: () => total,
  };
}

function average(): Accumulator {
  let total = 0;
  let count = 0;
  return {
    add: (value) => {
      if (!isNumeric(value)) return;
      total += toDouble(value);
      count += 1;
    },
    result: () => (count > 0 ? new Double(total / count) : null),
  };
}

/** `$min` (direction -1) and `$max` (direction 1), ignoring null and missing values. */
function extreme(direction: 1 | -1): () => Accumulator {
  return () => {
    let best: unknown;
    return {
      add: (value) => {
        if (value === undefined || value === null) return;
        if (best === undefined || compareValues(value, best) * direction > 0) best = value;
      },
      result: () => best ?? null,
    };
  };
}

function first(): Accumulator {
  let seen = false;
  let kept: unknown;
  return {
    add: (value) => {
      if (!seen) [seen, kept] = [true, value];
    },
    result: () => kept ?? null,
  };
}

function last(): Accumulator {
  let kept: unknown;
  return {
    add: (value) => {
      kept = value;
    },
    result: () => kept ?? null,
  };
}

function pushAll(): Accumulator {
  const items: unknown[] = [];
  return {
    add: (value) => {
      if (value !== undefined) items.push(value);
    },
    result: () => items,
  };
}

function addToSet(): Accumulator {
  const items = new Map<string, unknown>();
  return {
    add: (value) => {
      if (value !== undefined && !items.has(canonicalKey(value))) items.set(canonicalKey(value), value);
    },
    result: () => [...items.values()],
  };
}

const ACCUMULATORS: Record<string, () => Accumulator> = {
  $sum: sum,
  $avg: average,
  $min: extreme(-1),
  $max: extreme(1),
  $first: first,
  $last: last,
  $push: pushAll,
  $addToSet: addToSet,
};

interface OutputField {
  name: string;
  createAccumulator: () => Accumulator;
  argument: Expression;
}

/**
 * Compiles a `$group` stage: `_id` is any supported expression (null, a constant, "$field",
 * an object of field paths) and each other field one accumulator. Groups come out in the
 * order their first document was seen.
 */
export function compileGroup(spec: unknown): (docs: Doc[]) => Doc[] {
  if (!isPlainDocument(spec) || !("_id" in spec)) throw badValue("a group specification must include an _id");
  const groupKey = compileExpression(spec._id);
  const fields = Object.entries(spec)
    .filter(([name]) => name !== "_id")
    .map(([name, definition]): OutputField => {
      if (name.includes(".")) throw badValue(`the group aggregate field name '${name}' cannot contain '.'`);
      if (!isPlainDocument(definition) || Object.keys(definition).length !== 1) {
        throw badValue(`the group aggregate field '${name}' must be defined as an expression inside an object`);
      }
      const [[operator, argument]] = Object.entries(definition);
      const createAccumulator = ACCUMULATORS[operator];
      if (!createAccumulator) throw notSupported(`$group accumulator ${operator}`);
      return { name, createAccumulator, argument: compileExpression(argument) };
    });
  return (docs) => {
    const groups = new Map<string, { id: unknown; accumulators: Accumulator[] }>();
    for (const doc of docs) {
      const id = groupKey(doc) ?? null;
      const key = canonicalKey(id);
      let group = groups.get(key);
      if (!group) {
        group = { id, accumulators: fields.map((field) => field.createAccumulator()) };
        groups.set(key, group);
      }
      for (const [i, field] of fields.entries()) group.accumulators[i].add(field.argument(doc));
    }
    return [...groups.values()].map(({ id, accumulators }) => {
      const output: Doc = { _id: id };
      for (const [i, field] of fields.entries()) output[field.name] = accumulators[i].result();
      return output;
    });
  };
}
