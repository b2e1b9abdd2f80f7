#!/usr/bin/env node
// Ferry's launcher for Azurite (pinned in package.json): the same server, with one fix to the
// query planning of LokiJS, the in-memory database Azurite keeps its metadata in.
//
// Azurite finds a blob or a queue message with `findOne({accountName, containerName, name,
// snapshot})` (or `{accountName, queueName, messageId}`). LokiJS uses a binary index only for
// the first term of such a conjunction; the first term is the account, which every item
// shares, so each lookup walked the whole collection: deleting one blob among 10,000 took
// ≈ 15 ms and every upload, read and delete grew with the number of blobs (the 10,000-org
// purge benchmark spent most of its time there). Azure serves these by key.
//
// Two fixes, neither changes a result, only the work:
//   1. the terms of an equality conjunction are reordered so the one whose index range is the
//      narrowest is applied first (a conjunction does not depend on order);
//   2. removing a few documents updates the binary indexes in place, as removing one does,
//      instead of flagging all of them dirty: LokiJS then re-sorted every index of the
//      collection (4 sorts of 10,000 entries) on the next lookup after each blob delete.
// Everything else is the stock Azurite CLI (same arguments).
"use strict";
const path = require("path");

const azuriteMain = require.resolve("azurite/dist/src/azurite.js");
const loki = require(require.resolve("lokijs", { paths: [path.dirname(azuriteMain)] }));

const INDEXED_EQ = (value) => value === null || typeof value !== "object" || value instanceof Date;

function narrowestFirst(resultset, query) {
  const keys = Object.keys(query);
  if (keys.length < 2 || resultset.filterInitialized) return query;
  const coll = resultset.collection;
  if (!coll.binaryIndices || coll.adaptiveBinaryIndices !== true) return query;
  let best = null;
  let bestSize = Infinity;
  for (const key of keys) {
    if (key.startsWith("$") || key.includes(".") || !coll.binaryIndices[key] || !INDEXED_EQ(query[key])) continue;
    const [lo, hi] = coll.calculateRange("$eq", key, query[key]);
    const size = hi >= lo ? hi - lo + 1 : 0;
    if (size < bestSize) {
      best = key;
      bestSize = size;
    }
  }
  if (best === null || best === keys[0]) return query;
  const reordered = { [best]: query[best] };
  for (const key of keys) if (key !== best) reordered[key] = query[key];
  return reordered;
}

const originalFind = loki.Resultset.prototype.find;
loki.Resultset.prototype.find = function ferryFind(query, firstOnly) {
  const planned = query && typeof query === "object" && !Array.isArray(query) ? narrowestFirst(this, query) : query;
  return originalFind.call(this, planned, firstOnly);
};

// LokiJS's own per-document path (`remove(doc)`) keeps adaptive indexes exact; past a few
// documents its batch path (one rebuild) is the cheaper one, so it keeps those.
const SMALL_BATCH = 8;
const originalRemoveBatch = loki.Collection.prototype.removeBatchByPositions;
loki.Collection.prototype.removeBatchByPositions = function ferryRemoveBatch(positions) {
  if (this.adaptiveBinaryIndices !== true || positions.length > SMALL_BATCH) {
    return originalRemoveBatch.call(this, positions);
  }
  const docs = positions.map((position) => this.data[position]);
  for (const doc of docs) this.remove(doc);
  return undefined;
};

require(azuriteMain);
