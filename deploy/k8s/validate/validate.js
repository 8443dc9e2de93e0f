// Validates Kubernetes objects (a multi-document YAML stream on stdin, as
// `kubectl kustomize` prints it) against the Kubernetes schemas, offline:
//  - values, types, formats and required fields with kubernetes-models
//    (JSON schemas generated from the Kubernetes OpenAPI; the Prometheus
//    Operator's CRDs from @kubernetes-models/prometheus-operator);
//  - unknown fields, which those schemas let through (a misspelt
//    `readinesProbe` would be silently dropped by a real API server), by
//    walking each object along the field lists of @kubernetes/client-node's
//    generated models. The Prometheus Operator's CRDs have no such models:
//    their unknown fields are not caught.
// Prints the objects as one JSON array on stdout (for tests to inspect) and
// exits 1 after listing every problem on stderr.
'use strict';

const fs = require('fs');
const yaml = require('js-yaml');
const client = require('@kubernetes/client-node');

function modelClass(apiVersion, kind) {
  const [group, version] = apiVersion.includes('/')
    ? apiVersion.split('/')
    : ['', apiVersion];
  const candidates =
    group === 'monitoring.coreos.com'
      ? [`@kubernetes-models/prometheus-operator/${group}/${version}`]
      : [`kubernetes-models/${group ? group + '/' : ''}${version}`];
  for (const path of candidates) {
    try {
      const module = require(path);
      if (module[kind]) return module[kind];
    } catch (e) {
      // Not a group/version these packages know.
    }
  }
  return null;
}

// "autoscaling/v2" + "HorizontalPodAutoscaler" -> "V2HorizontalPodAutoscaler"
function clientModelName(apiVersion, kind) {
  const version = apiVersion.split('/').pop();
  return version.charAt(0).toUpperCase() + version.slice(1) + kind;
}

const PRIMITIVES = new Set([
  'string', 'number', 'boolean', 'object', 'any', 'Date', 'IntOrString',
]);

function unknownFields(value, type, path, problems) {
  if (value === null || value === undefined || PRIMITIVES.has(type)) return;
  let m = /^Array<(.+)>$/.exec(type);
  if (m) {
    if (Array.isArray(value)) {
      value.forEach((v, i) => unknownFields(v, m[1], `${path}[${i}]`, problems));
    }
    return;
  }
  m = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (m) {
    for (const [k, v] of Object.entries(value)) {
      unknownFields(v, m[1], `${path}.${k}`, problems);
    }
    return;
  }
  const model = client[type];
  if (!model || typeof model.getAttributeTypeMap !== 'function') return;
  if (typeof value !== 'object' || Array.isArray(value)) return;  // schema's job
  const fields = new Map(model.getAttributeTypeMap().map((a) => [a.baseName, a.type]));
  for (const [k, v] of Object.entries(value)) {
    if (!fields.has(k)) {
      problems.push(`${path}.${k}: unknown field (not in ${type})`);
    } else {
      unknownFields(v, fields.get(k), `${path}.${k}`, problems);
    }
  }
}

function main() {
  const docs = yaml.loadAll(fs.readFileSync(0, 'utf8')).filter((d) => d);
  const problems = [];
  for (const doc of docs) {
    const name = `${doc.kind}/${doc.metadata && doc.metadata.name}`;
    if (!doc.apiVersion || !doc.kind) {
      problems.push(`${name}: no apiVersion or kind`);
      continue;
    }
    const Model = modelClass(doc.apiVersion, doc.kind);
    if (!Model) {
      problems.push(`${name}: unknown apiVersion/kind ${doc.apiVersion} ${doc.kind}`);
      continue;
    }
    try {
      new Model(doc).validate();
    } catch (e) {
      problems.push(`${name}: ${e.message}`);
    }
    const clientType = clientModelName(doc.apiVersion, doc.kind);
    if (client[clientType]) unknownFields(doc, clientType, name, problems);
  }
  process.stdout.write(JSON.stringify(docs) + '\n');
  for (const p of problems) process.stderr.write(p + '\n');
  process.exit(problems.length ? 1 : 0);
}

main();
