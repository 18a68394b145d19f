'use strict';
// node-json: the FunctionBench json workload in JavaScript. Every request parses a JSON document with
// JSON.parse and writes it back compact with JSON.stringify.
//
// Input: one JSON document in UTF-8. Output: the compact document in UTF-8 (README.md gives the exact form).

exports.init = function init() {
  // JSON is built into V8: nothing to load. A warm-up parse compiles the parser's paths before the snapshot.
  JSON.stringify(JSON.parse('{"warm":[1,2.5,"x",true,null]}'));
};

exports.handle = function handle(request) {
  return Buffer.from(JSON.stringify(JSON.parse(request.toString('utf8'))), 'utf8');
};
