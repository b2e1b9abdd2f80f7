#!/usr/bin/env node
// Ferry's launcher for @vercel/cosmosdb-server 1.0.1 (pinned in package.json).
// It fixes the stock CLI's defects that bite Ferry (measured and described in README.md, "How it runs locally"):
//   1. keep-alive instead of `Connection: close` on every response (≈ 25 ms → ≈ 1.5 ms/op);
//   2. reading a missing document answers 404, not 500;
//   3. a query sent with a partition-key header runs over that partition's documents only;
//   4. with --data FILE, data survives a restart (the stock server keeps it in memory only):
//      loaded at start, written every few seconds when changed and at shutdown;
//   5. query results accumulate in place (the query compiler's array spread is O(n²));
//   6. a cross-partition query filtered by a field's equality is served from an index on it;
//   7. a conditional patch's condition is evaluated as written on the addressed document only;
//   8. a transactional batch takes its partition key from the request header;
//   9. a transactional batch may hold patch operations (and marks the data to be saved).
// Handlers must be patched before ./routes is required: the router captures them at load.
"use strict";
const path = require("path");

const lib = path.dirname(require.resolve("@vercel/cosmosdb-server"));

function patchHandler(name, wrap) {
  const mod = require(path.join(lib, "handler", name));
  mod.default = wrap(mod.default);
}

// (2) The stock handler dereferences the missing document and throws → 500.
patchHandler("read-document", (original) => (account, req, res, params) => {
  const collection = account.database(params.dbId).collection(params.collId);
  if (collection.read()) {
    const header = req.headers["x-ms-documentdb-partitionkey"];
    let key;
    try {
      const parsed = header ? JSON.parse(header) : undefined;
      key = Array.isArray(parsed) ? parsed[0] : parsed;
    } catch (err) {
      key = undefined;
    }
    const keyValue = key && typeof key === "object" ? params.docId : key;
    if (!collection.document(params.docId, keyValue).read()) {
      res.statusCode = 404;
      return { code: "NotFound", message: "Entity with the specified id does not exist in the system." };
    }
  }
  return original(account, req, res, params);
});

// (8) A transactional batch (the SDK's `execute_item_batch`) names its partition key once, in
// the request's header; the library reads it from each operation (the bulk format) and failed
// every batch ("Failed to parse x-ms-documentdb-partitionkey headers: undefined"). Operations
// without their own key get the header's. (The library still applies a batch's operations one
// by one, not atomically: Ferry batches only idempotent upserts, retried whole on a failure.)
{
  // The handlers read the body through ../json; a body read here already is handed over.
  const jsonModule = require(path.join(lib, "json"));
  const readJson = jsonModule.default;
  jsonModule.default = async (req) => (req.ferryBody !== undefined ? req.ferryBody : readJson(req));
  patchHandler("batch-documents", (original) => async (account, req, res, params) => {
    const header = req.headers["x-ms-documentdb-partitionkey"];
    if (!header) return original(account, req, res, params);
    const body = await readJson(req);
    req.ferryBody = Array.isArray(body)
      ? body.map((op) => (op && op.partitionKey === undefined ? { ...op, partitionKey: header } : op))
      : body;
    if (Array.isArray(req.ferryBody) && req.ferryBody.some((op) => op && op.operationType === "Patch")) {
      return patchBatch(account, req, res, params, req.ferryBody);
    }
    return original(account, req, res, params);
  });
}

// (9) Patch operations in a transactional batch (Cosmos supports them; the library's batch
// answers 400 "not supported"): applied one by one with the library's own operations (the
// conditional-patch fix (7) included), stopping at the first failure like the library's batch
// (later operations answer 424). Not atomic, as the library's batch is not.
function patchBatch(account, req, res, { dbId, collId }, ops) {
  const documentOperations = require(path.join(lib, "handler", "_document-operations"));
  const patchOps = require(path.join(lib, "handler", "_patch-operations"));
  const collection = account.database(dbId).collection(collId);
  if (!collection.read()) {
    res.statusCode = 404;
    return {};
  }
  const byType = {
    Create: documentOperations.createOperation,
    Upsert: documentOperations.upsertOperation,
    Read: documentOperations.readOperation,
    Delete: documentOperations.deleteOperation,
    Replace: documentOperations.replaceOperation,
    Patch: (coll, input) => patchOps.patchOperation(coll, {
      id: input.id,
      partitionKey: input.partitionKey,
      ifMatch: input.ifMatch,
      operations: (input.resourceBody || {}).operations,
      condition: (input.resourceBody || {}).condition,
    }),
  };
  const out = [];
  let failed = false;
  for (const input of ops) {
    if (failed) {
      out.push({ statusCode: 424, requestCharge: 0 });
      continue;
    }
    const apply = input && byType[input.operationType];
    if (!apply) {
      res.statusCode = 400;
      return { message: `Operation type '${input && input.operationType}' is not supported in Batch.` };
    }
    const result = apply(collection, input);
    failed = result.statusCode >= 400;
    out.push(failed
      ? { statusCode: result.statusCode, requestCharge: 0 }
      : { statusCode: result.statusCode, requestCharge: 1, eTag: result.body ? result.body._etag : undefined,
          resourceBody: result.body });
  }
  return out;
}

// Items.query (the library's), over a subset of the container's documents (`subset`: a Map
// of rid → item in container order, or undefined for none).
function execOver(items, subset, params, options) {
  const data = subset ? [...subset.values()].map((item) => item.read()) : [];
  const parent = items._parent.read();
  const compositeIndexes = (parent.indexingPolicy ? parent.indexingPolicy.compositeIndexes : null) || [];
  try {
    return items._getQuery(params.query).exec(data, {
      parameters: params.parameters,
      udf: items._userDefinedFunctions(),
      maxItemCount: options.maxItemCount,
      continuation: options.continuation,
      compositeIndexes,
    });
  } catch (err) {
    err.badRequest = true;
    throw err;
  }
}

// (3) The stock handler ignores the partition-key header of a single-partition query and
// scans the whole container for every query: a query's cost grew with the number of orgs
// (the 10,000-org purge spent most of its time there). Cosmos serves such a query from one
// partition, so the stand-in keeps documents per partition (in the container's own order)
// and runs a single-partition query over that partition's documents only.
{
  const Items = require(path.join(lib, "account", "items")).default;
  const partitions = (items) => {
    if (!items._ferryPartitions) {
      items._ferryPartitions = new Map();
      for (const [rid, item] of items._data) {
        const key = items._getPartition(item.read());
        if (!items._ferryPartitions.has(key)) items._ferryPartitions.set(key, new Map());
        items._ferryPartitions.get(key).set(rid, item);
      }
    }
    return items._ferryPartitions;
  };
  const originalSet = Items.prototype._set;
  Items.prototype._set = function ferrySet(data) {
    const result = originalSet.call(this, data);
    const key = this._getPartition(data);
    const parts = partitions(this);
    if (!parts.has(key)) parts.set(key, new Map());
    parts.get(key).set(data._rid, this._data.get(data._rid));
    return result;
  };
  const originalDelete = Items.prototype.delete;
  Items.prototype.delete = function ferryDelete(idOrRid, partition) {
    const data = this._item("/id", idOrRid, partition).read();
    originalDelete.call(this, idOrRid, partition);
    const key = this._getPartition(data);
    const part = partitions(this).get(key);
    if (part) {
      part.delete(data._rid);
      if (!part.size) partitions(this).delete(key);
    }
  };
  // Same as Items.query, over one partition's documents.
  Items.prototype.ferryQueryPartition = function ferryQueryPartition(key, params, options) {
    if (!this._parent.read()) return null;
    return execOver(this, partitions(this).get(key), params, options);
  };

  const readItems = require(path.join(lib, "handler", "_read-items")).default;
  const readJson = require(path.join(lib, "json")).default;
  const partitionKeyOf = (req) => {
    const header = req.headers["x-ms-documentdb-partitionkey"];
    const crossPartition = String(req.headers["x-ms-documentdb-query-enablecrosspartition"]).toLowerCase() === "true";
    if (!header || header === "[{}]" || crossPartition) return undefined;
    try {
      const parsed = JSON.parse(header);
      const key = Array.isArray(parsed) ? parsed[0] : parsed;
      return key !== null && typeof key === "object" ? undefined : key;
    } catch (err) {
      return undefined;
    }
  };
  patchHandler("query-documents", (original) => async (acc, req, res, params) => {
    const key = partitionKeyOf(req);
    const collection = acc.database(params.dbId).collection(params.collId);
    const paths = ((collection.read() || {}).partitionKey || {}).paths || [];
    if (key === undefined || paths.length !== 1) return original(acc, req, res, params);
    return readItems(req, res, "Documents", async ({ continuation, maxItemCount }) => {
      const body = await readJson(req);
      if (!body.query) {
        res.statusCode = 400;
        return { message: "missing query" };
      }
      try {
        return collection.documents.ferryQueryPartition(key, body, { continuation, maxItemCount });
      } catch (err) {
        if (err.badRequest) {
          res.statusCode = 400;
          return { message: err.message };
        }
        throw err;
      }
    });
  });
}

// (6) A cross-partition query filtered by `c.<field> = @param` (first term of its WHERE, no OR)
// is answered from an index on that field: Cosmos indexes every property and serves such a
// filter from the index, while the stand-in scanned the whole container — so purging one org
// (`WHERE c.tenantId = @t` in the lookup-keyed containers) cost time in the number of orgs.
{
  const Items = require(path.join(lib, "account", "items")).default;
  const EQ_FIRST = /^\s*SELECT\s[\s\S]*?\sFROM\s+c\s+WHERE\s+c\.([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(@[A-Za-z_][A-Za-z0-9_]*)(\s+(?:AND|ORDER\s+BY)\s[\s\S]*)?$/i;
  const indexable = (v) => typeof v === "string" || typeof v === "number" || typeof v === "boolean";
  const fieldIndexes = (items) => items._ferryFieldIndexes || (items._ferryFieldIndexes = new Map());
  const fieldIndex = (items, field) => {
    const indexes = fieldIndexes(items);
    if (!indexes.has(field)) {
      const index = new Map();
      for (const [rid, item] of items._data) {
        const value = (item.read() || {})[field];
        if (!indexable(value)) continue;
        if (!index.has(value)) index.set(value, new Map());
        index.get(value).set(rid, item);
      }
      indexes.set(field, index);
    }
    return indexes.get(field);
  };
  const originalSet = Items.prototype._set;
  Items.prototype._set = function ferryIndexedSet(data) {
    const result = originalSet.call(this, data);
    for (const [field, index] of fieldIndexes(this)) {
      const value = data[field];
      if (!indexable(value)) continue;
      if (!index.has(value)) index.set(value, new Map());
      index.get(value).set(data._rid, this._data.get(data._rid));
    }
    return result;
  };
  const originalDelete = Items.prototype.delete;
  Items.prototype.delete = function ferryIndexedDelete(idOrRid, partition) {
    const data = this._item("/id", idOrRid, partition).read();
    originalDelete.call(this, idOrRid, partition);
    for (const [field, index] of fieldIndexes(this)) {
      const bucket = index.get(data[field]);
      if (bucket) {
        bucket.delete(data._rid);
        if (!bucket.size) index.delete(data[field]);
      }
    }
  };
  const originalQuery = Items.prototype.query;
  Items.prototype.query = function ferryIndexedQuery(params, options) {
    const match = typeof params.query === "string" ? EQ_FIRST.exec(params.query) : null;
    const param = match && !/\bOR\b/i.test(params.query)
      ? (params.parameters || []).find((p) => p && p.name === match[2]) : undefined;
    if (!param || !indexable(param.value) || !this._parent.read()) return originalQuery.call(this, params, options);
    return execOver(this, fieldIndex(this, match[1]).get(param.value), params, options);
  };
}

// (5) @zeit/cosmosdb-query compiles a query into JS that accumulates matches with an array
// spread inside `reduce` (`[...$, { c }]`): O(n²) in the container size (6.8 s for one
// filtered query over 20,000 documents). Appending in place gives the same result in O(n).
{
  const queryLib = require(require.resolve("@zeit/cosmosdb-query", { paths: [lib] }));
  const sample = queryLib.default("SELECT * FROM c");
  const proto = Object.getPrototypeOf(sample);
  const original = Object.getOwnPropertyDescriptor(proto, "code").get;
  Object.defineProperty(proto, "code", {
    configurable: true,
    get() {
      if (!this._ferryCode) {
        const code = original.call(this);
        this._ferryCode = code && code.replace(/\[\.\.\.\$, (\{[^{}\[\]]*\})\]/g, "($$.push($1), $$)");
      }
      return this._ferryCode;
    },
  });
}

// (7) A conditional patch (`filter_predicate`, "FROM c WHERE …") was checked (a) after the
// whole condition had been lower-cased — field names and string literals too — so a condition
// on a camelCase field (c.leaseToken) or a mixed-case value was never true, and (b) over every
// document of the container with that id, in any partition, so another tenant's document with
// the same id could satisfy it. Cosmos evaluates it, as written, on the addressed document.
{
  const patchOps = require(path.join(lib, "handler", "_patch-operations"));
  const { parsePartitionKey } = require(path.join(lib, "utils", "get-partition-from-header"));
  const queryLib = require(require.resolve("@zeit/cosmosdb-query", { paths: [lib] }));
  const originalPatch = patchOps.patchOperation;
  const unmet = { statusCode: 412, body: { code: "PreconditionFailed",
    message: "Condition specified in the patch request is not satisfied." } };
  patchOps.patchOperation = (collection, input) => {
    const condition = input && typeof input.condition === "string" ? input.condition.trim() : "";
    if (!condition) return originalPatch(collection, input);
    let data;
    try {
      data = collection.document(input.id, parsePartitionKey(input.partitionKey, input.id)).read();
    } catch (err) {
      return originalPatch(collection, input); // the library answers a malformed request
    }
    if (!data) return originalPatch(collection, { ...input, condition: undefined }); // its 404
    const clause = /^(?:from\s+c\s+)?where\s+/i.exec(condition);
    const query = clause ? `SELECT * FROM c WHERE ${condition.slice(clause[0].length)}` : condition;
    let matched;
    try {
      matched = queryLib.default(query).exec([data], { parameters: [] }).result.length > 0;
    } catch (err) {
      return { statusCode: 400, body: { code: "BadRequest", message: String((err && err.message) || err) } };
    }
    return matched ? originalPatch(collection, { ...input, condition: undefined }) : unmet;
  };
}

// (4) The account object lives inside the server; every handler receives it. Capture it.
let account = null;
let dirty = false;
patchHandler("read-meta", (original) => (acc, req, res, params) => {
  account = acc;
  return original(acc, req, res, params);
});
for (const name of ["create-document", "upsert-document", "replace-document", "delete-document",
                    "patch-document", "batch-documents", "create-collection", "delete-collection", "create-database",
                    "delete-database", "replace-collection"]) {
  patchHandler(name, (original) => (acc, req, res, params) => {
    account = acc;
    dirty = true;
    return original(acc, req, res, params);
  });
}

const SYSTEM = new Set(["_rid", "_self", "_etag", "_ts", "_attachments", "_docs", "_colls", "_users",
                        "_sprocs", "_triggers", "_udfs", "_conflicts"]);
const strip = (obj) => Object.fromEntries(Object.entries(obj).filter(([k]) => !SYSTEM.has(k)));
const values = (items) => [...items._data.values()].map((i) => i.read()).filter(Boolean);

function snapshot() {
  const dbs = [];
  for (const db of values(account.databases)) {
    const dbObj = account.database(db.id);
    const colls = [];
    for (const coll of values(dbObj.collections)) {
      colls.push({ def: strip(coll), docs: values(dbObj.collection(coll.id).documents).map(strip) });
    }
    dbs.push({ id: db.id, colls });
  }
  return { version: 1, dbs };
}

function restore(data) {
  for (const db of data.dbs || []) {
    account.databases.create({ id: db.id });
    const dbObj = account.database(db.id);
    for (const coll of db.colls) {
      dbObj.collections.create(coll.def);
      const docs = dbObj.collection(coll.def.id).documents;
      for (const doc of coll.docs) docs.create(doc);
    }
  }
}

function save(file) {
  if (!file || !account || !dirty) return;
  dirty = false;
  const tmp = `${file}.tmp`;
  require("fs").writeFileSync(tmp, JSON.stringify(snapshot()));
  require("fs").renameSync(tmp, file);
}

const { createHttpsServer } = require("@vercel/cosmosdb-server");

const args = process.argv.slice(2);
let port = 0;
let host = "127.0.0.1";
let dataFile = null;
for (let i = 0; i < args.length; i += 1) {
  if (args[i] === "--port" || args[i] === "-p") port = parseInt(args[++i], 10);
  else if (args[i] === "--host") host = args[++i];
  else if (args[i] === "--data") dataFile = args[++i];
}

// (1) keep-alive: the library supports it, the stock CLI does not pass it.
const server = createHttpsServer({ keepAlive: true });
server.keepAliveTimeout = 65000;
server.listen(port, host, () => {
  const addr = server.address();
  // One request to ourselves hands us the account (see read-meta above) before anyone else.
  require("https").get({ host, port: addr.port, path: "/", rejectUnauthorized: false, agent: false }, (res) => {
    res.resume();
    res.on("end", () => {
      const fs = require("fs");
      if (dataFile && fs.existsSync(dataFile)) {
        restore(JSON.parse(fs.readFileSync(dataFile, "utf8")));
      }
      dirty = false;
      if (dataFile) setInterval(() => save(dataFile), 3000).unref();
      console.log(`cosmos-ready https://${host}:${addr.port}`);
    });
  });
});
const stop = () => {
  try {
    save(dataFile);
  } finally {
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 2000).unref();
  }
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
