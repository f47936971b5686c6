'use strict';
// Stratus runtime interface client for Node.js handlers.
//
// Speaks the Lambda Runtime API at AWS_LAMBDA_RUNTIME_API, loads the handler named by _HANDLER
// (`path/file.export`, file relative to LAMBDA_TASK_ROOT; .js, .mjs or .cjs; CommonJS or ES
// modules) and behaves like AWS's Node.js runtime: async and callback handlers,
// callbackWaitsForEmptyEventLoop, console lines with timestamp, request id and level, errors as
// {errorType, errorMessage, trace}. Node's standard library only.

const http = require('http');
const fs = require('fs');
const path = require('path');
const util = require('util');
const { pathToFileURL } = require('url');

const API = process.env.AWS_LAMBDA_RUNTIME_API || '127.0.0.1:9001';
const HOST = API.slice(0, API.lastIndexOf(':')) || '127.0.0.1';
const PORT = Number(API.slice(API.lastIndexOf(':') + 1));
const PREFIX = '/2018-06-01/runtime';
const TASK_ROOT = process.env.LAMBDA_TASK_ROOT || process.cwd();
// keepAlive sockets are unref'd while idle, so an idle connection does not keep the event loop
// alive: 'beforeExit' still tells when a callback handler's event loop is empty.
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

let currentRequestId;
let inFlight = null;

function request(method, p, body, headers) {
  return new Promise((resolve, reject) => {
    const h = Object.assign({}, headers || {});
    if (body != null) h['Content-Length'] = Buffer.byteLength(body);
    const req = http.request({ host: HOST, port: PORT, method, path: PREFIX + p, agent, headers: h }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body != null) req.write(body);
    req.end();
  });
}

// --- logging ---------------------------------------------------------------------------------
function logLine(level, args) {
  const line = `${new Date().toISOString()}\t${currentRequestId}\t${level}\t${util.format(...args)}`;
  process.stdout.write(line.replace(/\n/g, '\r') + '\n');
}
console.log = (...a) => logLine('INFO', a);
console.info = (...a) => logLine('INFO', a);
console.warn = (...a) => logLine('WARN', a);
console.error = (...a) => logLine('ERROR', a);
console.debug = (...a) => logLine('DEBUG', a);
console.trace = (...a) => logLine('TRACE', a);
console.fatal = (...a) => logLine('FATAL', a);

// --- errors ----------------------------------------------------------------------------------
class RuntimeFault extends Error {
  constructor(name, message, cause) {
    super(message);
    this.name = name;
    if (cause && cause.stack) this.stack = `${name}: ${message}\n${cause.stack.split('\n').slice(1).join('\n')}`;
  }
}

function toRapid(err) {
  try {
    if (err instanceof Error) {
      return {
        errorType: err.name || 'Error',
        errorMessage: err.message === undefined ? '' : String(err.message),
        trace: String(err.stack || '').split('\n'),
      };
    }
    return { errorType: typeof err, errorMessage: String(err), trace: [] };
  } catch (e) {
    return { errorType: 'handled', errorMessage: 'callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack', trace: [] };
  }
}

function postError(path, err) {
  const body = JSON.stringify(toRapid(err));
  const type = JSON.parse(body).errorType;
  return request('POST', path, body, { 'Content-Type': 'application/json', 'Lambda-Runtime-Function-Error-Type': type });
}

// --- handler loading -------------------------------------------------------------------------
function nearestPackageType(dir) {
  for (let d = dir; ; d = path.dirname(d)) {
    const pj = path.join(d, 'package.json');
    if (fs.existsSync(pj)) {
      try {
        return JSON.parse(fs.readFileSync(pj, 'utf8')).type;
      } catch (e) {
        return undefined;
      }
    }
    if (d === path.dirname(d) || d === path.dirname(TASK_ROOT)) return undefined;
  }
}

async function loadModule(base, moduleName) {
  for (const ext of ['.js', '.mjs', '.cjs']) {
    const file = base + ext;
    if (!fs.existsSync(file)) continue;
    if (ext === '.mjs') return import(pathToFileURL(file).href);
    if (ext === '.cjs') return require(file);
    if (nearestPackageType(path.dirname(file)) === 'module') return import(pathToFileURL(file).href);
    try {
      return require(file);
    } catch (e) {
      if (e && e.code === 'ERR_REQUIRE_ESM') return import(pathToFileURL(file).href);
      throw e;
    }
  }
  // Not a file beside the task root: a directory or package the function ships.
  const resolved = require.resolve(moduleName, { paths: [path.dirname(base), TASK_ROOT] });
  return require(resolved);
}

async function loadHandler(fullHandler) {
  const slash = fullHandler.lastIndexOf('/');
  const moduleRoot = fullHandler.slice(0, slash + 1);
  const match = fullHandler.slice(slash + 1).match(/^([^.]*)\.(.*)$/);
  if (!match) throw new RuntimeFault('Runtime.MalformedHandlerName', 'Bad handler');
  const [, moduleName, handlerPath] = match;
  let mod;
  try {
    mod = await loadModule(path.resolve(TASK_ROOT, moduleRoot, moduleName), moduleName);
  } catch (e) {
    if (e instanceof SyntaxError) throw new RuntimeFault('Runtime.UserCodeSyntaxError', String(e), e);
    if (e && (e.code === 'MODULE_NOT_FOUND' || e.code === 'ERR_MODULE_NOT_FOUND')) {
      throw new RuntimeFault('Runtime.ImportModuleError', String(e), e);
    }
    throw e;
  }
  let fn = handlerPath.split('.').reduce((o, k) => (o == null ? undefined : o[k]), mod);
  if (fn === undefined && mod && mod.default) {
    fn = handlerPath.split('.').reduce((o, k) => (o == null ? undefined : o[k]), mod.default);
  }
  if (fn === undefined) {
    throw new RuntimeFault('Runtime.HandlerNotFound', `${moduleRoot}${moduleName}.${handlerPath} is undefined or not exported`);
  }
  if (typeof fn !== 'function') {
    throw new RuntimeFault('Runtime.HandlerNotFound', `${moduleRoot}${moduleName}.${handlerPath} is not a function`);
  }
  return fn;
}

// --- invocations -----------------------------------------------------------------------------
function parseHeaderJson(value) {
  if (!value) return undefined;
  return JSON.parse(value);
}

function makeContext(h, inv) {
  const deadline = Number(h['lambda-runtime-deadline-ms'] || 0);
  const identity = parseHeaderJson(h['lambda-runtime-cognito-identity']);
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: h['lambda-runtime-invoked-function-arn'],
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: inv.id,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    identity: identity
      ? { cognitoIdentityId: identity.cognitoIdentityId, cognitoIdentityPoolId: identity.cognitoIdentityPoolId }
      : undefined,
    clientContext: parseHeaderJson(h['lambda-runtime-client-context']),
    getRemainingTimeInMillis: () => Math.max(deadline - Date.now(), 0),
    // The legacy completion methods answer at once, without waiting for the event loop.
    succeed: (result) => inv.complete(null, result),
    fail: (err) => inv.complete(err == null ? new Error('handled') : err),
    done: (err, result) => inv.complete(err, result),
  };
  return context;
}

function fatal(e) {
  process.stderr.write(`runtime client failed: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
}

function handle(res, handler) {
  const h = res.headers;
  const inv = { id: h['lambda-runtime-aws-request-id'], settled: false, callbackResult: null };
  inFlight = inv;
  currentRequestId = inv.id;
  if (h['lambda-runtime-trace-id']) process.env._X_AMZN_TRACE_ID = h['lambda-runtime-trace-id'];
  else delete process.env._X_AMZN_TRACE_ID;

  inv.complete = (err, result) => {
    if (inv.settled) return;
    inv.settled = true;
    inFlight = null;
    let posted;
    if (err != null) {
      const rapid = toRapid(err);
      console.error('Invoke Error', JSON.stringify({ errorType: rapid.errorType, errorMessage: rapid.errorMessage, stack: rapid.trace }));
      posted = postError(`/invocation/${inv.id}/error`, err);
    } else {
      let body;
      try {
        body = JSON.stringify(result === undefined ? null : result);
      } catch (e) {
        posted = postError(`/invocation/${inv.id}/error`, new RuntimeFault('Runtime.MarshalError', `Unable to stringify response body: ${e.message}`));
      }
      if (!posted) posted = request('POST', `/invocation/${inv.id}/response`, body, { 'Content-Type': 'application/json' });
    }
    // A refused answer (an oversized response closes the connection before it is read) still
    // settled the event; the environment goes on. An API that is gone fails the next request.
    posted.then(() => setImmediate(next), () => setImmediate(next));
  };

  try {
    const event = res.body.length ? JSON.parse(res.body.toString('utf8')) : {};
    const context = makeContext(h, inv);
    const callback = (err, result) => {
      if (inv.settled) return;
      if (context.callbackWaitsForEmptyEventLoop) inv.callbackResult = [err, result];
      else inv.complete(err, result);
    };
    const ret = handler(event, context, callback);
    if (ret && typeof ret.then === 'function') {
      ret.then(
        (value) => inv.complete(null, value),
        (err) => inv.complete(err == null ? new Error(String(err)) : err),
      );
    }
  } catch (e) {
    inv.complete(e);
  }
}

let theHandler;

function next() {
  request('GET', '/invocation/next')
    .then((res) => {
      if (res.status !== 200) fatal(`next invocation answered ${res.status}: ${res.body}`);
      handle(res, theHandler);
    })
    .catch(fatal);
}

// A callback handler answers when its event loop is empty, as on AWS.
process.on('beforeExit', () => {
  const inv = inFlight;
  if (inv && !inv.settled) {
    if (inv.callbackResult) inv.complete(inv.callbackResult[0], inv.callbackResult[1]);
    else inv.complete(null, undefined);
  }
});

function dieWith(err, code, label) {
  const rapid = toRapid(err);
  console.error(label, JSON.stringify({ errorType: rapid.errorType, errorMessage: rapid.errorMessage, stack: rapid.trace }));
  const inv = inFlight;
  const p = inv && !inv.settled
    ? ((inv.settled = true), postError(`/invocation/${inv.id}/error`, err))
    : postError('/init/error', err);
  p.then(() => process.exit(code), () => process.exit(code));
}

process.on('uncaughtException', (err) => dieWith(err, 129, 'Uncaught Exception'));
process.on('unhandledRejection', (reason) => {
  const err = new RuntimeFault('Runtime.UnhandledPromiseRejection', String(reason), reason instanceof Error ? reason : undefined);
  dieWith(err, 128, 'Unhandled Promise Rejection');
});

(async () => {
  try {
    theHandler = await loadHandler(process.env._HANDLER || '');
  } catch (e) {
    const rapid = toRapid(e);
    console.error(`${rapid.errorType}: ${rapid.errorMessage}`);
    await postError('/init/error', e).catch(() => {});
    process.exit(129);
  }
  next();
})();
