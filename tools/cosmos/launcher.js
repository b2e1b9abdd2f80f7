#!/usr/bin/env node
// Ferry's launcher for @vercel/cosmosdb-server 1.0.1 (pinned in package.json).
// It fixes the stock CLI's defects that bite Ferry (see ../shared/LOCAL-STACK.md):
//   1. keep-alive instead of `Connection: close` on every response (≈ 25 ms → ≈ 1.5 ms/op);
//   2. reading a missing document answers 404, not 500;
//   3. a query sent with a partition-key header only returns documents of that partition.
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

const { createHttpsServer } = require("@vercel/cosmosdb-server");

const args = process.argv.slice(2);
let port = 0;
let host = "127.0.0.1";
for (let i = 0; i < args.length; i += 1) {
  if (args[i] === "--port" || args[i] === "-p") port = parseInt(args[++i], 10);
  else if (args[i] === "--host") host = args[++i];
}

// (1) keep-alive: the library supports it, the stock CLI does not pass it.
const server = createHttpsServer({ keepAlive: true });
server.keepAliveTimeout = 65000;
server.listen(port, host, () => {
  const addr = server.address();
  console.log(`cosmos-ready https://${host}:${addr.port}`);
});
const stop = () => server.close(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
