'use strict';
// A Snapfn function in JavaScript (Node.js 18, Debian's).
//
// init() runs once, before the snapshot is taken: do the expensive set-up there (requires, tables, models), and
// every invocation starts with it done. handle() runs once per request: it gets the request body as a Buffer and
// returns the response body as a Buffer (or a Promise of one; a string is refused: Buffer.from(text)). An error it
// throws fails that request only. console.log() goes to the function's log, never into the response.
//
// Register: `snapfn deploy .` (there is nothing to build). Then `snapfn snapshot NAME` and
// `snapfn invoke NAME --input-text '{"name":"Ada"}'`.

let greeting = '';

exports.init = function init() {
  // Everything done here is in the snapshot.
  greeting = 'Hello';
};

exports.handle = function handle(request) {
  let name = 'world';
  if (request.toString().trim()) name = JSON.parse(request).name ?? name;
  return Buffer.from(`${greeting}, ${name}!`);
};
