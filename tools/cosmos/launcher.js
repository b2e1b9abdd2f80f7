#!/usr/bin/env node
// Ferry's launcher for @vercel/cosmosdb-server 1.0.1 (pinned in package.json).
// It fixes the stock CLI's defects that bite Ferry (see ../shared/LOCAL-STACK.md):
//   1. keep-alive instead of `Connection: close` on every response (≈ 25 ms → ≈ 1.5 ms/op);
//   2. reading a missing document answers 404, not 500;
//   3. a query sent with a partition-key header only returns documents of that partition;
//   4. with --data FILE, data survives a restart (the stock server keeps it in memory only):
//      loaded at start, written every few seconds when changed and at shutdown.
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

// (3) The stock handler ignores the partition-key header of a single-partition query.
patchHandler("query-documents", (original) => async (account, req, res, params) => {
  const body = await original(account, req, res, params);
  const header = req.headers["x-ms-documentdb-partitionkey"];
  const crossPartition = String(req.headers["x-ms-documentdb-query-enablecrosspartition"]) === "true";
  if (!header || header === "[{}]" || crossPartition || !body || !Array.isArray(body.Documents)) {
    return body;
  }
  let keyValue;
  try {
    const parsed = JSON.parse(header);
    keyValue = Array.isArray(parsed) ? parsed[0] : parsed;
  } catch (err) {
    return body;
  }
  const coll = account.database(params.dbId).collection(params.collId).read() || {};
  const paths = ((coll.partitionKey || {}).paths || []).map((p) => p.slice(1).split("/"));
  if (paths.length !== 1) return body;
  const keyPath = paths[0];
  const valueAt = (doc) => keyPath.reduce((v, k) => (v && typeof v === "object" ? v[k] : undefined), doc);
  // Aggregates and projections that drop the key cannot be filtered here; Ferry always
  // names the partition key in its WHERE clauses as well, which is right in Azure too.
  const docs = body.Documents.filter((d) => !d || typeof d !== "object" || valueAt(d) === undefined || valueAt(d) === keyValue);
  body.Documents = docs;
  body._count = docs.length;
  res.setHeader("x-ms-item-count", String(docs.length));
  return body;
});

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

// (4) The account object lives inside the server; every handler receives it. Capture it.
let account = null;
let dirty = false;
patchHandler("read-meta", (original) => (acc, req, res, params) => {
  account = acc;
  return original(acc, req, res, params);
});
for (const name of ["create-document", "upsert-document", "replace-document", "delete-document",
                    "patch-document", "create-collection", "delete-collection", "create-database",
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
