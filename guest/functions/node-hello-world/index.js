'use strict';
// node-hello-world: the built-in Node.js function. Greets {"name": ...}; an empty request greets the World.
//
// Run by guest/node/snapfn_shim.js: init() once before the snapshot, handle() once per request.

exports.init = function init() {};

exports.handle = function handle(request) {
  let name = 'World';
  if (request.toString('utf8').trim()) {
    const fields = JSON.parse(request);
    if (fields === null || typeof fields !== 'object' || Array.isArray(fields)) {
      throw new TypeError('the request must be a JSON object such as {"name": "Ada"}, or empty');
    }
    name = fields.name ?? name;
  }
  return Buffer.from(`Hello, ${name}!`);
};
