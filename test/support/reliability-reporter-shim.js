// Jest loads reporters with plain require(), without the ts-jest transform the tests get, so this
// shim transpiles reliability-reporter.ts (and the relative .ts modules it imports) with the
// TypeScript compiler the project already depends on, and exports the reporter class.
"use strict";
const fs = require("fs");
const path = require("path");
const ts = require("typescript");

/** Loads a .ts module: transpiled only (types are checked by `npm run build` and ts-jest). */
function loadTs(file, cache) {
  const cached = cache.get(file);
  if (cached) return cached.exports;
  const mod = { exports: {} };
  cache.set(file, mod);
  const { outputText } = ts.transpileModule(fs.readFileSync(file, "utf8"), {
    fileName: file,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2020, esModuleInterop: true },
  });
  const localRequire = (spec) =>
    spec.startsWith(".") ? loadTs(`${path.resolve(path.dirname(file), spec)}.ts`, cache) : require(spec);
  new Function("exports", "require", "module", "__filename", "__dirname", outputText)(
    mod.exports,
    localRequire,
    mod,
    file,
    path.dirname(file),
  );
  return mod.exports;
}

module.exports = loadTs(path.join(__dirname, "reliability-reporter.ts"), new Map()).ReliabilityReporter;
