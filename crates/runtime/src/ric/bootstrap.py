"""Stratus runtime interface client for Python handlers.

Speaks the Lambda Runtime API at AWS_LAMBDA_RUNTIME_API, loads the handler named by _HANDLER
(`module.function`, the module path relative to LAMBDA_TASK_ROOT) and formats errors and log
lines the way AWS's Python runtime does. Standard library only: it runs on the host's python3.
"""

import importlib
import json
import logging
import os
import socket
import sys
import time

_API = os.environ.get("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001")
_PREFIX = "/2018-06-01/runtime"
_REQUEST_ID = ""
_TASK_ROOT = os.environ.get("LAMBDA_TASK_ROOT", os.getcwd())

# The directory of this file must not shadow the function's modules; the task root comes first.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if p and os.path.abspath(p) != _HERE]
sys.path.insert(0, _TASK_ROOT)


class FaultException(Exception):
    MARSHAL_ERROR = "Runtime.MarshalError"
    UNMARSHAL_ERROR = "Runtime.UnmarshalError"
    CONTEXT_UNMARSHAL_ERROR = "Runtime.LambdaContextUnmarshalError"
    MALFORMED_HANDLER_NAME = "Runtime.MalformedHandlerName"
    IMPORT_MODULE_ERROR = "Runtime.ImportModuleError"
    HANDLER_NOT_FOUND = "Runtime.HandlerNotFound"
    USER_CODE_SYNTAX_ERROR = "Runtime.UserCodeSyntaxError"
    BUILT_IN_MODULE_CONFLICT = "Runtime.BuiltInModuleConflict"

    def __init__(self, exception_type, msg, trace=None):
        super().__init__(msg)
        self.msg = msg
        self.exception_type = exception_type
        self.trace = trace


class _Unbuffered:
    """Every write reaches the pipe at once, so log lines precede the response they belong to."""

    def __init__(self, stream):
        self.stream = stream

    def __getattr__(self, attr):
        return getattr(self.stream, attr)

    def write(self, msg):
        self.stream.write(msg)
        self.stream.flush()

    def writelines(self, msgs):
        self.stream.writelines(msgs)
        self.stream.flush()


class _Client:
    """HTTP/1.1 over one keep-alive socket: the Runtime API needs no more, and http.client would
    add a sixth of a cold start in imports."""

    def __init__(self, address):
        host, _, port = address.rpartition(":")
        self.address = address
        self.host = host or "127.0.0.1"
        self.port = int(port)
        self.sock = None
        self.rfile = None

    def _connect(self):
        self.sock = socket.create_connection((self.host, self.port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.rfile = self.sock.makefile("rb")

    def _close(self):
        for c in (self.rfile, self.sock):
            try:
                c and c.close()
            except OSError:
                pass
        self.sock = self.rfile = None

    def _exchange(self, method, path, body, headers):
        head = "%s %s%s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n" % (
            method, _PREFIX, path, self.address, len(body))
        for k, v in headers.items():
            head += "%s: %s\r\n" % (k, v)
        self.sock.sendall(head.encode("latin-1") + b"\r\n" + body)
        status_line = self.rfile.readline()
        if not status_line:
            raise ConnectionError("connection closed")
        status = int(status_line.split()[1])
        fields = {}
        while True:
            line = self.rfile.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            k, _, v = line.decode("latin-1").partition(":")
            fields[k.strip().lower()] = v.strip()
        n = int(fields.get("content-length") or 0)
        data = self.rfile.read(n) if n else b""
        if fields.get("connection", "").lower() == "close":
            self._close()
        return status, fields, data

    def request(self, method, path, body=b"", headers=None):
        for attempt in (0, 1):
            if self.sock is None:
                self._connect()
            try:
                return self._exchange(method, path, body or b"", headers or {})
            except (ConnectionError, OSError, ValueError, IndexError):
                self._close()
                if attempt:
                    raise

    def next(self):
        status, fields, body = self.request("GET", "/invocation/next")
        if status != 200:
            raise RuntimeError("next invocation failed: %d %r" % (status, body))
        return fields, body

    def post_result(self, request_id, body, content_type):
        self.request(
            "POST", "/invocation/%s/response" % request_id, body, {"Content-Type": content_type}
        )

    def post_error(self, request_id, error):
        self.request(
            "POST",
            "/invocation/%s/error" % request_id,
            _to_json(error),
            {
                "Content-Type": "application/json",
                "Lambda-Runtime-Function-Error-Type": error.get("errorType") or "Unhandled",
            },
        )

    def post_init_error(self, error):
        self.request(
            "POST",
            "/init/error",
            _to_json(error),
            {
                "Content-Type": "application/json",
                "Lambda-Runtime-Function-Error-Type": error.get("errorType") or "Unhandled",
            },
        )


def _decimal(o):
    import decimal

    if isinstance(o, decimal.Decimal):
        return int(o) if o == o.to_integral_value() else float(o)
    raise TypeError("Object of type %s is not JSON serializable" % type(o).__name__)


def _to_json(obj):
    return json.dumps(obj, default=_decimal).encode("utf-8")


def _marshal(response):
    if isinstance(response, (bytes, bytearray)):
        return bytes(response), "application/unknown"
    try:
        return _to_json(response), "application/json"
    except Exception as e:
        raise FaultException(FaultException.MARSHAL_ERROR, "Unable to marshal response: %s" % e)


def _get_handler(handler):
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as e:
        raise FaultException(
            FaultException.MALFORMED_HANDLER_NAME, "Bad handler '%s': %s" % (handler, e)
        )
    try:
        if modname.split(".")[0] in sys.builtin_module_names:
            raise FaultException(
                FaultException.BUILT_IN_MODULE_CONFLICT,
                "Cannot use built-in module %s as a handler module" % modname,
            )
        module = importlib.import_module(modname.replace("/", "."))
    except ImportError as e:
        raise FaultException(
            FaultException.IMPORT_MODULE_ERROR, "Unable to import module '%s': %s" % (modname, e)
        )
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, e.text)]
        raise FaultException(
            FaultException.USER_CODE_SYNTAX_ERROR,
            "Syntax error in module '%s': %s" % (modname, e),
            trace,
        )
    try:
        return getattr(module, fname)
    except AttributeError:
        raise FaultException(
            FaultException.HANDLER_NOT_FOUND, "Handler '%s' missing on module '%s'" % (fname, modname)
        )


def _make_error(message, error_type, stack_trace, request_id=None):
    return {
        "errorMessage": message if message else "",
        "errorType": error_type if error_type else "",
        "requestId": request_id if request_id is not None else "",
        "stackTrace": stack_trace if stack_trace else [],
    }


def _user_frames(tb):
    import traceback

    frames = traceback.extract_tb(tb)
    for i, frame in enumerate(frames):
        if frame.filename != __file__:
            return traceback.format_list(frames[i:])
    return traceback.format_list(frames)


def _log_error(error):
    # One log event per error: the lines are joined with carriage returns, as AWS does.
    lines = ["[ERROR] %s: %s" % (error.get("errorType"), error.get("errorMessage"))]
    stack = error.get("stackTrace")
    if stack is not None:
        lines.append("Traceback (most recent call last):")
        for element in stack:
            for line in element.splitlines():
                stripped = line.lstrip(" ")
                lines.append("\u00a0" * (len(line) - len(stripped)) + stripped)
    sys.stdout.write("\r".join(lines) + "\n")


class _ClientContext:
    __slots__ = ["client", "custom", "env"]

    def __init__(self, raw):
        client = raw.get("client")
        self.client = _MobileClient(client) if client else None
        self.custom = raw.get("custom")
        self.env = raw.get("env")

    def __repr__(self):
        return "ClientContext(client=%r, custom=%r, env=%r)" % (self.client, self.custom, self.env)


class _MobileClient:
    __slots__ = ["installation_id", "app_title", "app_version_name", "app_version_code", "app_package_name"]

    def __init__(self, raw):
        self.installation_id = raw.get("installation_id")
        self.app_title = raw.get("app_title")
        self.app_version_name = raw.get("app_version_name")
        self.app_version_code = raw.get("app_version_code")
        self.app_package_name = raw.get("app_package_name")


class _CognitoIdentity:
    __slots__ = ["cognito_identity_id", "cognito_identity_pool_id"]

    def __init__(self, raw):
        self.cognito_identity_id = raw.get("cognitoIdentityId")
        self.cognito_identity_pool_id = raw.get("cognitoIdentityPoolId")


class LambdaContext:
    def __init__(self, request_id, client_context, identity, deadline_ms, invoked_function_arn):
        self.aws_request_id = request_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = invoked_function_arn
        self.client_context = _ClientContext(client_context) if client_context else None
        self.identity = _CognitoIdentity(identity or {})
        self.tenant_id = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        return int(max(self._deadline_ms - int(round(time.time() * 1000)), 0))

    def log(self, msg):
        sys.stdout.write(str(msg))

    def __repr__(self):
        return (
            "LambdaContext([aws_request_id=%s,log_group_name=%s,log_stream_name=%s,function_name=%s,"
            "memory_limit_in_mb=%s,function_version=%s,invoked_function_arn=%s,client_context=%s,identity=%s])"
            % (
                self.aws_request_id,
                self.log_group_name,
                self.log_stream_name,
                self.function_name,
                self.memory_limit_in_mb,
                self.function_version,
                self.invoked_function_arn,
                self.client_context,
                self.identity,
            )
        )


class _RequestIdFilter(logging.Filter):
    def filter(self, record):
        record.aws_request_id = _REQUEST_ID
        return True


class _StdoutHandler(logging.Handler):
    def emit(self, record):
        sys.stdout.write(self.format(record).replace("\n", "\r") + "\n")


def _setup_logging():
    logging.Formatter.converter = time.gmtime
    handler = _StdoutHandler()
    handler.setFormatter(
        logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
            "%Y-%m-%dT%H:%M:%S",
        )
    )
    handler.addFilter(_RequestIdFilter())
    logging.getLogger().addHandler(handler)
    level = os.environ.get("AWS_LAMBDA_LOG_LEVEL", "").upper()
    if level in logging._nameToLevel:
        logging.getLogger().setLevel(level)


def _header_json(value, name):
    if not value:
        return None
    try:
        # Header fields travel as latin-1; the JSON in them is UTF-8.
        return json.loads(value.encode("latin-1").decode("utf-8", "replace"))
    except Exception as e:
        raise FaultException(
            FaultException.CONTEXT_UNMARSHAL_ERROR,
            "Unable to parse %s JSON: %s" % (name, e),
        )


def _handle(client, handler, fields, body):
    global _REQUEST_ID
    request_id = fields.get("lambda-runtime-aws-request-id", "")
    _REQUEST_ID = request_id
    trace_id = fields.get("lambda-runtime-trace-id")
    if trace_id:
        os.environ["_X_AMZN_TRACE_ID"] = trace_id
    else:
        os.environ.pop("_X_AMZN_TRACE_ID", None)
    error = None
    try:
        context = LambdaContext(
            request_id,
            _header_json(fields.get("lambda-runtime-client-context"), "Client Context"),
            _header_json(fields.get("lambda-runtime-cognito-identity"), "Cognito Identity"),
            int(fields.get("lambda-runtime-deadline-ms") or "0"),
            fields.get("lambda-runtime-invoked-function-arn"),
        )
        try:
            event = json.loads(body) if body else {}
        except Exception as e:
            raise FaultException(FaultException.UNMARSHAL_ERROR, "Unable to unmarshal input: %s" % e)
        result, content_type = _marshal(handler(event, context))
    except FaultException as e:
        error = _make_error(e.msg, e.exception_type, e.trace, request_id)
    except Exception:
        etype, value, tb = sys.exc_info()
        error = _make_error(str(value), etype.__name__, _user_frames(tb), request_id)
    try:
        if error is not None:
            _log_error(error)
            client.post_error(request_id, error)
        else:
            client.post_result(request_id, result, content_type)
    except (ConnectionError, OSError):
        # The API refused the answer and closed the connection before reading it all (an
        # oversized response): the event has its outcome; the next request reconnects.
        client._close()


def main():
    sys.stdout = _Unbuffered(sys.stdout)
    sys.stderr = _Unbuffered(sys.stderr)
    client = _Client(_API)
    _setup_logging()
    try:
        handler = _get_handler(os.environ.get("_HANDLER", ""))
    except FaultException as e:
        error = _make_error(e.msg, e.exception_type, e.trace)
        _log_error(error)
        client.post_init_error(error)
        sys.exit(1)
    except Exception:
        etype, value, tb = sys.exc_info()
        error = _make_error(str(value), etype.__name__, _user_frames(tb))
        _log_error(error)
        client.post_init_error(error)
        sys.exit(1)
    while True:
        fields, body = client.next()
        _handle(client, handler, fields, body)


if __name__ == "__main__":
    main()
