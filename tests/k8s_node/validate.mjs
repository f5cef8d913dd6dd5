// Validates Kubernetes manifests offline against the Kubernetes OpenAPI
// schemas, as compiled by kubernetes-models (tests/integration/test_k8s.py).
//
//   node validate.mjs FILE...
//
// Prints one JSON array: per YAML document {file, doc, apiVersion, kind, name,
// errors}; exits 0 when every document is valid, 1 when one is not, 2 on a
// usage error. An error is one of:
//   - what the kind's schema says (wrong type, missing required field, a
//     value outside an enum, a malformed quantity, ...)
//   - an unknown field, as the API server's strict field validation (kubectl's
//     default) reports it. The schemas' validators ignore fields they do not
//     know, so every object is handed to them behind a Proxy that records the
//     fields they read: a validator reads each field its schema names (and
//     every key of a map), so a field nobody read is one the schema has not.
//   - an apiVersion/kind with no schema, YAML that does not parse (duplicate
//     keys too), or a document that is not a mapping.
// YAML is read as YAML 1.1, as Kubernetes reads it (`yes`, `on` are booleans).
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

function track(value, path, seen) {
  if (value === null || typeof value !== "object") return value;
  const read = new Set();
  const kids = new Map();
  seen.push({ path, value, read });
  return new Proxy(value, {
    get(target, key, receiver) {
      const v = Reflect.get(target, key, receiver);
      if (typeof key !== "string") return v;
      read.add(key);
      if (v === null || typeof v !== "object") return v;
      if (!kids.has(key)) kids.set(key, track(v, `${path}/${key}`, seen));
      return kids.get(key);
    },
    has(target, key) {
      if (typeof key === "string") read.add(key);
      return Reflect.has(target, key);
    },
  });
}

async function modelFor(apiVersion, kind) {
  if (typeof apiVersion !== "string" || typeof kind !== "string" ||
      !/^(?:[a-z0-9.-]+\/)?v[0-9]+(?:(?:alpha|beta)[0-9]+)?$/.test(apiVersion) ||
      !/^[A-Z][A-Za-z0-9]*$/.test(kind))
    return null;
  let mod;
  try {
    mod = await import(`kubernetes-models/${apiVersion}`);
  } catch {
    return null;
  }
  const cls = mod[kind];
  return cls && cls.apiVersion === apiVersion && cls.kind === kind ? cls : null;
}

async function check(obj) {
  if (obj === null || typeof obj !== "object" || Array.isArray(obj))
    return ["the document is not a mapping"];
  const cls = await modelFor(obj.apiVersion, obj.kind);
  if (!cls) return [`no schema for apiVersion ${JSON.stringify(obj.apiVersion)} kind ${JSON.stringify(obj.kind)}`];
  const errors = [];
  const seen = [];
  try {
    cls.prototype.validate.call(track(obj, "", seen));
  } catch (e) {
    if (Array.isArray(e.errors) && e.errors.length)
      for (const x of e.errors) errors.push(`${x.instancePath || "/"}: ${x.message}`);
    else errors.push(String(e.message || e));
  }
  for (const { path, value, read } of seen) {
    if (Array.isArray(value)) continue;
    for (const key of Object.keys(value))
      if (!read.has(key)) errors.push(`${path}/${key}: unknown field "${key}"`);
  }
  return errors;
}

const files = process.argv.slice(2);
if (!files.length) {
  console.error("usage: node validate.mjs FILE...");
  process.exit(2);
}
const results = [];
for (const file of files) {
  const docs = parseAllDocuments(readFileSync(file, "utf8"), { version: "1.1", uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [docs];
  for (let i = 0; i < list.length; i++) {
    const d = list[i];
    const r = { file, doc: i, apiVersion: null, kind: null, name: null, errors: [] };
    if (d.errors.length) {
      r.errors = d.errors.map((e) => `YAML: ${e.message}`);
    } else {
      const obj = d.toJS();
      if (obj === null || obj === undefined) continue; // an empty document, as kubectl skips it
      if (typeof obj === "object" && !Array.isArray(obj)) {
        r.apiVersion = obj.apiVersion ?? null;
        r.kind = obj.kind ?? null;
        r.name = obj.metadata?.name ?? null;
      }
      r.errors = await check(obj);
    }
    results.push(r);
  }
}
console.log(JSON.stringify(results, null, 1));
process.exit(results.some((r) => r.errors.length) ? 1 : 0);
