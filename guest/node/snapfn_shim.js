'use strict';
// Snapfn's Node.js shim: serves a function folder's index.js over the invocation channel on fd 3.
//
// Run as `node /snapfn/node/snapfn_shim.js /function`. It requires index.js, runs exports.init() once (awaiting it
// when it returns a Promise), then answers request frames with exports.handle(request) (a Buffer in, a Buffer or a
// Promise of one out). Its first read of fd 3 is the snapshot point: the VMM stops the VM there, so everything
// before it is done once, and every restored copy starts just after it. The frame formats are in
// ../python/README.md (one protocol for every language); the error texts and what differs for Node are in
// README.md beside this file.
//
// It requires fs and path (loaded by Node itself at start) and crypto (to reseed it, see installReseeding); the
// channel is read and written with synchronous calls, so that the first read happens on the main thread at a point
// the shim chooses.

const fs = require('fs');
const path = require('path');

const CHANNEL = 3;
const FIRST_IN_VM = 1;
const STATUS_OK = 0;
const STATUS_HANDLER_FAILED = 1;
const STATUS_INIT_FAILED = 2;
const STACK_LINES = 5;
const MAX_FRAME_BODY = 0xffffffff;
const MAIN_FILE = 'index.js';

class ChannelClosed extends Error {}

// Reads exactly n bytes from fd 3; an empty Buffer if it is at end of file before the first byte.
function readExact(n) {
  const buffer = Buffer.allocUnsafe(n);
  // The first call of a process is the snapshot point, so nothing may run between it and the caller's check.
  let got = readSome(buffer, 0);
  if (got === 0 || got === n) return got === n ? buffer : Buffer.alloc(0);
  while (got < n) {
    const more = readSome(buffer, got);
    if (more === 0) throw new ChannelClosed(`fd 3 ended in the middle of a request frame (${got} of ${n} bytes)`);
    got += more;
  }
  return buffer;
}

function readSome(buffer, offset) {
  for (;;) {
    try {
      return fs.readSync(CHANNEL, buffer, offset, buffer.length - offset, null);
    } catch (e) {
      if (e.code !== 'EINTR' && e.code !== 'EAGAIN') throw new ChannelClosed(`reading fd 3 failed: ${e.message}`);
    }
  }
}

// Writes one response frame, header and body in one write when the channel takes it all.
function writeFrame(status, body) {
  const header = Buffer.allocUnsafe(8);
  header.writeUInt32LE(status, 0);
  header.writeUInt32LE(body.length, 4);
  const frame = Buffer.concat([header, body]);
  try {
    let written = 0;
    while (written < frame.length) written += fs.writeSync(CHANNEL, frame, written, frame.length - written);
  } catch (e) {
    throw new ChannelClosed(`writing a response to fd 3 failed: ${e.message}`);
  }
}

function writeError(status, text) {
  writeFrame(status, Buffer.from(text, 'utf8'));
}

// "Type: message" for anything thrown, robust to a getter or toString that fails.
function describe(e) {
  try {
    if (e instanceof Error || (e !== null && typeof e === 'object' && typeof e.message === 'string')) {
      const name = e.name || (e.constructor && e.constructor.name) || 'Error';
      return e.message ? `${name}: ${e.message}` : name;
    }
    return `${e === null ? 'null' : typeof e} thrown: ${String(e)}`;
  } catch (_) {
    return '(the exception could not be formatted)';
  }
}

function stackOf(e) {
  try {
    return e !== null && typeof e === 'object' && typeof e.stack === 'string' ? e.stack : '';
  } catch (_) {
    return '';
  }
}

// ' (index.js line N)': the innermost place in the function's own files that the error points at, or ''.
function userLocation(e, folder) {
  const prefix = folder.endsWith(path.sep) ? folder : folder + path.sep;
  const stack = stackOf(e);
  // A SyntaxError from require() starts its stack with "FILE:LINE" and the offending source line.
  const first = /^(\/[^\n:]+):(\d+)\n/.exec(stack);
  if (first && first[1].startsWith(prefix)) return ` (${first[1].slice(prefix.length)} line ${first[2]})`;
  for (const line of stack.split('\n')) {
    const frame = /\(?(\/[^():\s]+):(\d+):\d+\)?$/.exec(line.trim());
    if (frame && line.trim().startsWith('at ') && frame[1].startsWith(prefix)) {
      return ` (${frame[1].slice(prefix.length)} line ${frame[2]})`;
    }
  }
  return '';
}

// The stack's frames (at most STACK_LINES), without the shim's own and Node's internal ones.
function stackTail(e) {
  const frames = stackOf(e).split('\n').filter((line) => line.trim().startsWith('at '))
    .filter((line) => !line.includes(__filename) && !line.includes('node:internal'));
  return frames.slice(0, STACK_LINES).join('\n');
}

function errorText(headline, e, folder) {
  const text = headline + describe(e) + userLocation(e, folder);
  const tail = stackTail(e);
  return tail ? `${text}\n${tail}` : text;
}

function typeName(value) {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  return (value.constructor && value.constructor.name) || 'Object';
}

// The status-1 text for a handle() result that is not bytes.
function resultError(result) {
  if (typeof result === 'string') return "handle() returned string, not a Buffer: encode it (e.g. Buffer.from(text))";
  if (result === undefined || result === null) {
    return `handle() returned ${result}, not a Buffer: is a return statement missing? (return Buffer.alloc(0) for an empty response)`;
  }
  return `handle() returned ${typeName(result)}, not a Buffer: return a Buffer, a Uint8Array or an ArrayBuffer`;
}

// The bytes of a result, or null when it is not bytes.
function bytesOf(result) {
  if (Buffer.isBuffer(result)) return result;
  if (result instanceof ArrayBuffer) return Buffer.from(result);
  if (ArrayBuffer.isView(result)) return Buffer.from(result.buffer, result.byteOffset, result.byteLength);
  return null;
}

function isThenable(value) {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof value.then === 'function';
}

// Requires index.js and runs init(); returns handle, or null after sending the status-2 frame.
async function load(folder) {
  const main = path.join(folder, MAIN_FILE);
  if (!fs.existsSync(main)) {
    writeError(STATUS_INIT_FAILED, `init failed: ${folder} holds no ${MAIN_FILE}`);
    return null;
  }
  let module;
  try {
    module = require(main);
    const init = module.init;
    if (init !== undefined) {
      if (typeof init !== 'function') {
        writeError(STATUS_INIT_FAILED, `init failed: exports.init is a ${typeName(init)}, not a function`);
        return null;
      }
      const started = init.call(module);
      if (isThenable(started)) await started;
    }
  } catch (e) {
    writeError(STATUS_INIT_FAILED, errorText('init failed: ', e, folder));
    return null;
  }
  // Looked up after init(), which may set exports.handle itself.
  const handle = module.handle;
  if (typeof handle !== 'function') {
    let text = `init failed: ${MAIN_FILE} exports no handle(request) function`;
    if (handle !== undefined) text += ` (handle is a ${typeName(handle)})`;
    writeError(STATUS_INIT_FAILED, text);
    return null;
  }
  return (request) => handle.call(module, request);
}

// State that every copy restored from one snapshot would share, and that must differ between them:
// - Math.random's state is V8's, taken at the snapshot point. The shim puts a generator of its own in its place
//   (xoshiro128**, two outputs per double), seeded from the kernel (/dev/urandom) at start and again in each VM.
// - OpenSSL's generators, behind crypto.randomBytes, randomUUID, randomInt, webcrypto and key generation. Node has
//   no call that reseeds them, so the shim loads a Node-API module of its own (native/openssl_reseed.c, built by
//   `make -C guest`) that does, with fresh kernel bytes as additional input.
// - crypto.randomUUID's cache (uncacheRandomUuid).
// All are set up before the snapshot point; the returned function runs on FIRST_IN_VM, before the VM's first
// request. Math.random is not seeded through crypto: OpenSSL's state is the snapshot's until the reseed.
function installReseeding() {
  const reseedOpenSsl = loadOpenSslReseed();
  const state = new Uint32Array(4);
  const rotl = (x, k) => (x << k) | (x >>> (32 - k));
  const fromKernel = (target) => {
    const fd = fs.openSync('/dev/urandom', 'r');
    try {
      let got = 0;
      while (got < target.byteLength) got += fs.readSync(fd, target, got, target.byteLength - got, null);
    } finally {
      fs.closeSync(fd);
    }
  };
  const seedMath = () => {
    do fromKernel(state); while ((state[0] | state[1] | state[2] | state[3]) === 0);
  };
  const next = () => {
    const result = Math.imul(rotl(Math.imul(state[1], 5), 7), 9) >>> 0;
    const t = state[1] << 9;
    state[2] ^= state[0];
    state[3] ^= state[1];
    state[1] ^= state[2];
    state[0] ^= state[3];
    state[2] ^= t;
    state[3] = rotl(state[3], 11);
    return result;
  };
  seedMath();
  Math.random = function random() {
    return ((next() >>> 5) * 67108864 + (next() >>> 6)) / 9007199254740992;
  };
  uncacheRandomUuid();
  const additional = Buffer.alloc(32);
  return () => {
    seedMath();
    fromKernel(additional);
    reseedOpenSsl(additional);
  };
}

// crypto.randomUUID() hands out UUIDs from a cache of random bytes for 128 of them, filled at once: a cache filled
// before the snapshot would hand the same UUIDs out again in every restored copy. The shim's randomUUID draws each
// one from OpenSSL, which is reseeded in every VM. An invalid argument still reaches Node's check.
function uncacheRandomUuid() {
  const crypto = require('crypto');
  const randomUUID = crypto.randomUUID;
  const uncached = (options) => (options === undefined || (typeof options === 'object' && options !== null)
    ? randomUUID({ ...options, disableEntropyCache: true }) : randomUUID(options));
  crypto.randomUUID = function randomUuid(options) { return uncached(options); };
  crypto.webcrypto.randomUUID = function randomUuid() { return uncached(undefined); };
}

class ShimIncomplete extends Error {}

function loadOpenSslReseed() {
  const file = path.join(__dirname, 'native', 'openssl_reseed.node');
  const module = { exports: {} };
  try {
    process.dlopen(module, file);
  } catch (e) {
    throw new ShimIncomplete(`the shim's OpenSSL re-seeding module ${file} cannot be loaded (${describe(e)}): ` +
      'build it with `make -C guest` in the Snapfn checkout');
  }
  return module.exports.reseed;
}

async function serve(handle, folder, reseed) {
  let reseedPending = false;
  for (;;) {
    const header = readExact(8);
    if (header.length === 0) return;
    const length = header.readUInt32LE(0);
    const flags = header.readUInt32LE(4);
    let request = length ? readExact(length) : Buffer.alloc(0);
    if (length && request.length < length) {
      throw new ChannelClosed(`fd 3 ended in the middle of a request frame (0 of ${length} body bytes)`);
    }
    if (flags & FIRST_IN_VM) reseedPending = true;
    if (reseedPending) {
      try {
        reseed();
        reseedPending = false;
      } catch (e) {
        // Kept pending: no request in this VM may run on the snapshot's shared state.
        writeError(STATUS_HANDLER_FAILED, `re-seeding Math.random and OpenSSL from the kernel failed: ${describe(e)}`);
        continue;
      }
    }
    let status;
    let body;
    try {
      let result = handle(request);
      if (isThenable(result)) result = await result;
      body = bytesOf(result);
      status = STATUS_OK;
      if (body === null) {
        status = STATUS_HANDLER_FAILED;
        body = Buffer.from(resultError(result), 'utf8');
      } else if (body.length > MAX_FRAME_BODY) {
        status = STATUS_HANDLER_FAILED;
        body = Buffer.from(`handle() returned ${body.length} bytes, more than a frame can carry (4 GiB - 1)`, 'utf8');
      }
    } catch (e) {
      status = STATUS_HANDLER_FAILED;
      body = Buffer.from(errorText('handle() raised ', e, folder), 'utf8');
    }
    // Do not keep this request alive (5 MB, say) while waiting for the next one.
    request = null;
    writeFrame(status, body);
  }
}

async function main() {
  if (process.argv.length !== 3) {
    process.stderr.write(`usage: node snapfn_shim.js FUNCTION_FOLDER (the folder that holds ${MAIN_FILE})\n`);
    return 2;
  }
  const folder = path.resolve(process.argv[2]);
  let reseed;
  try {
    reseed = installReseeding();
  } catch (e) {
    if (!(e instanceof ShimIncomplete)) throw e;
    writeError(STATUS_INIT_FAILED, `init failed: ${e.message}`);
    return 1;
  }
  try {
    const handle = await load(folder);
    if (handle === null) return 1;
    await serve(handle, folder, reseed);
    return 0;
  } catch (e) {
    if (!(e instanceof ChannelClosed)) throw e;
    process.stderr.write(`snapfn shim: ${e.message}\n`);
    return 1;
  }
}

// Exits at once: a timer or socket the function left open must not keep the program alive after its last request.
main().then((code) => process.exit(code), (e) => {
  process.stderr.write(`snapfn shim: ${describe(e)}\n${stackOf(e)}\n`);
  process.exit(1);
});
