#!/usr/bin/env node
// @ts-check
'use strict';
/**
 * node drills/lib/heap-diff.js <earlier.heapsnapshot> <later.heapsnapshot> [--top=N]
 *
 * What grew between two V8 heap snapshots of one process: objects grouped by kind (constructor name
 * for objects, function name for closures, the node type for strings, code and V8's internals), with
 * count and shallow size in each, the kinds that grew most by size first. Prints one JSON object.
 * The snapshot is read as bytes (a snapshot of a busy process is larger than one JavaScript string
 * may be): the metadata and the strings table are JSON, the node table is scanned number by number.
 */
const fs = require('node:fs');

/** Offset just after `"key":[` in buf, searched from `from`. */
function arrayStart(buf, key, from = 0) {
  const at = buf.indexOf(`"${key}":[`, from, 'latin1');
  if (at < 0) throw new Error(`not a heap snapshot: no "${key}" array`);
  return at + key.length + 4;
}

/** Unsigned integers of a JSON array of numbers starting at `start`, up to its `]`. */
function readNumbers(buf, start) {
  const out = [];
  let n = 0;
  let inNumber = false;
  for (let i = start; i < buf.length; i++) {
    const c = buf[i];
    if (c >= 48 && c <= 57) {
      n = n * 10 + (c - 48);
      inNumber = true;
    } else {
      if (inNumber) out.push(n);
      n = 0;
      inNumber = false;
      if (c === 93) return { values: out, end: i + 1 }; // ]
    }
  }
  throw new Error('truncated heap snapshot');
}

/** Kinds whose node name is data (a string's text, a number), not a kind of object. */
const BY_TYPE_ONLY = new Set(['string', 'concatenated string', 'sliced string', 'number', 'heap number', 'code', 'hidden', 'symbol', 'bigint', 'regexp']);

/** @returns {Map<string, { count: number, size: number }>} */
function kinds(file) {
  const buf = fs.readFileSync(file);
  const nodesAt = arrayStart(buf, 'nodes');
  const head = buf.subarray(0, nodesAt - '"nodes":['.length).toString('utf8').replace(/,\s*$/, '');
  const meta = JSON.parse(`${head}}`).snapshot.meta;
  const fields = meta.node_fields;
  const types = meta.node_types[0];
  const width = fields.length;
  const T = fields.indexOf('type');
  const N = fields.indexOf('name');
  const S = fields.indexOf('self_size');
  const { values: nodes, end } = readNumbers(buf, nodesAt);
  const stringsAt = arrayStart(buf, 'strings', end);
  // The strings array runs to the last ']' of the file (after it only '}' and whitespace).
  const close = buf.lastIndexOf(']');
  const strings = JSON.parse(buf.subarray(stringsAt - 1, close + 1).toString('utf8'));
  const out = new Map();
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + T]];
    const key = BY_TYPE_ONLY.has(type) ? `(${type})` : `${type}:${strings[nodes[i + N]]}`.slice(0, 120);
    const k = out.get(key) ?? { count: 0, size: 0 };
    k.count++;
    k.size += nodes[i + S];
    out.set(key, k);
  }
  return out;
}

function main() {
  const args = process.argv.slice(2);
  const files = args.filter((a) => !a.startsWith('--'));
  const top = Number(/^--top=(\d+)$/.exec(args.find((a) => a.startsWith('--top=')) ?? '')?.[1] ?? 20);
  if (files.length !== 2) throw new Error('usage: node drills/lib/heap-diff.js <earlier.heapsnapshot> <later.heapsnapshot> [--top=N]');
  const a = kinds(files[0]);
  const b = kinds(files[1]);
  const kb = (x) => Math.round(x / 102.4) / 10;
  const rows = [];
  let totalA = 0;
  let totalB = 0;
  for (const v of a.values()) totalA += v.size;
  for (const v of b.values()) totalB += v.size;
  for (const key of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(key) ?? { count: 0, size: 0 };
    const y = b.get(key) ?? { count: 0, size: 0 };
    rows.push({ kind: key, count: [x.count, y.count], kb: [kb(x.size), kb(y.size)], growthKb: kb(y.size - x.size) });
  }
  rows.sort((p, q) => q.growthKb - p.growthKb);
  process.stdout.write(
    `${JSON.stringify({ totalMb: [Math.round(totalA / 1e5) / 10, Math.round(totalB / 1e5) / 10], grewMost: rows.slice(0, top), shrankMost: rows.slice(-5).reverse() })}\n`,
  );
}

if (require.main === module) main();

module.exports = { kinds };
