import Foundation
import JSONBytes
import WorkerCore

/// The task names a launch-worker answers: the two names llm-engine's gateway sends
/// (`ModelBundle.celery_task_name()` in its `model_bundle_entity.py`), which its Celery forwarder
/// also registers both of.
public enum LaunchTaskNames {
    /// The name sent for cloudpickle and zip bundles (`DEFAULT_CELERY_TASK_NAME`).
    public static let predict = "hosted_model_inference.inference.async_inference.tasks.predict"
    /// The name sent for runnable-image bundles (`LIRA_CELERY_TASK_NAME`), with the same arguments.
    public static let runnableImage = "ml_serve.celery_service.exec_func"
    /// Both.
    public static let all: Set<String> = [predict, runnableImage]
}

/// A Celery protocol v2 task message as kombu's Redis transport stores it, decoded into what the
/// worker must do with it.
public enum CeleryMessage: Sendable, Equatable {
    /// A task to run.
    case run(CeleryTask)
    /// A task that must not run: answer FAILURE with this exception (a bad body, an unknown
    /// task name, bad arguments), then ack.
    case reject(taskID: String, CeleryException)
    /// A task whose `expires` passed before it could start: answer REVOKED, then ack.
    case expired(taskID: String, expires: Date)
    /// A message without a task id: nothing can be answered; ack it and log why.
    case unanswerable(reason: String)

    /// Decodes the envelope `raw` (the JSON text that was on the queue list), reading only the
    /// members a worker needs (scanned, not parsed whole: the envelope is most of a message).
    ///
    /// - Parameters:
    ///   - names: the task names this worker runs.
    ///   - now: the time `expires` is compared with.
    public static func decode(_ raw: [UInt8], names: Set<String> = LaunchTaskNames.all, now: Date) -> CeleryMessage {
        guard let envelope = RawJSON.Object(raw[...]) else {
            return .unanswerable(reason: "the message is not a JSON object (not a kombu envelope)")
        }
        guard let headers = envelope.object("headers"), let id = headers.string("id"), !id.isEmpty else {
            return .unanswerable(reason: "the message has no headers.id: it is not Celery protocol v2")
        }
        guard let name = headers.string("task") else {
            return .reject(taskID: id, .decodeError("the message has no headers.task naming the task"))
        }
        guard names.contains(name) else {
            return .reject(
                taskID: id,
                CeleryException(
                    type: "NotRegistered", module: "celery.exceptions",
                    message: "\(name.debugDescription): this worker runs only \(names.sorted().joined(separator: ", "))"
                ))
        }
        if let expires = headers[raw: "expires"], !RawJSON.text(expires, is: "null") {
            guard let date = KombuTime.date(fromJSON: expires) else {
                let text = String(decoding: expires, as: UTF8.self)
                return .reject(taskID: id, .decodeError("headers.expires is not a time: \(text)"))
            }
            if date <= now { return .expired(taskID: id, expires: date) }
        }
        let properties = envelope.object("properties")
        if !envelope.string("content-type", is: "application/json"), let contentType = envelope.string("content-type") {
            return .reject(
                taskID: id,
                CeleryException(
                    type: "ContentDisallowed", module: "kombu.exceptions",
                    message: "content-type \(contentType) is refused: send JSON (task_serializer='json')"))
        }
        let base64 = properties?.string("body_encoding", is: "base64") == true
        guard let bodyText = envelope[raw: "body"].flatMap(RawJSON.stringBytes) else {
            return .reject(taskID: id, .decodeError("the message has no body string"))
        }
        guard let body = base64 ? Base64Body.decode(bodyText) : Array(bodyText) else {
            return .reject(taskID: id, .decodeError("the body is not valid base64"))
        }
        let redelivered =
            headers.bool("redelivered") == true || properties?.object("delivery_info")?.bool("redelivered") == true
        do {
            let call = try LaunchCall(body: body)
            return .run(
                CeleryTask(
                    id: id, name: name, request: call.request, arrivedAt: call.arrivedAt, redelivered: redelivered,
                    retries: headers.int("retries") ?? 0))
        } catch {
            return .reject(taskID: id, error)
        }
    }
}

/// A task to run: its id and the request in the shape `PredictRequest` reads.
public struct CeleryTask: Sendable, Equatable {
    /// Celery's task id (`headers.id`): the result is stored under it.
    public var id: String
    /// The task name it was sent as.
    public var name: String
    /// The request body: the producer's request object, with `return_pickled` set from the
    /// task's argument.
    public var request: [UInt8]
    /// The gateway's arrival timestamp, when the message carries one.
    public var arrivedAt: Date?
    /// Whether a restore put it back on the queue (its earlier run may have finished).
    public var redelivered: Bool
    /// Celery's retry count.
    public var retries: Int
}

/// The arguments of llm-engine's predict task, from a protocol v2 body `[args, kwargs, embed]`:
/// `args` is `[request, return_pickled]` or `[request, arrival_timestamp, return_pickled]`;
/// keyword arguments of the same names are read too, other ones ignored.
struct LaunchCall {
    var request: [UInt8]
    var arrivedAt: Date?

    /// Reads the body by scanning it: the request's own JSON is checked when the serving loop
    /// decodes it, and the rest is read member by member.
    init(body: [UInt8]) throws(CeleryException) {
        guard let parts = RawJSON.elements(of: body[...]) else {
            let valid = (try? JSONValue.parse(body)) != nil
            throw .decodeError(
                valid ? "the body must be Celery protocol v2's [args, kwargs, embed]" : "the body is not valid JSON")
        }
        guard parts.count == 3, let args = RawJSON.elements(of: body[parts[0]]),
            let kwargs = RawJSON.Object(body[parts[1]])
        else {
            throw .decodeError("the body must be Celery protocol v2's [args, kwargs, embed]")
        }
        guard args.count <= 3 else {
            throw .typeError(
                "predict() takes at most 3 positional arguments ([request, arrival_timestamp, return_pickled]) but \(args.count) were given"
            )
        }
        // The request: args[0], or the keyword request_params.
        guard let requestText = args.first.map({ body[$0] }) ?? kwargs[raw: "request_params"] else {
            throw .typeError("predict() missing 1 required positional argument: 'request_params'")
        }
        guard let requestObject = RawJSON.Object(requestText) else {
            throw .typeError("the request (the task's first argument) must be a JSON object")
        }
        // return_pickled: the last of 2 or 3 positional arguments, else the keyword, else the request's own.
        let pickled =
            args.count >= 2
            ? body[args[args.count - 1]] : kwargs[raw: "return_pickled"] ?? requestObject[raw: "return_pickled"]
        var returnPickled = false
        if let pickled, !RawJSON.text(pickled, is: "null"), !RawJSON.text(pickled, is: "false") {
            guard RawJSON.text(pickled, is: "true") else {
                throw .typeError(
                    "return_pickled must be true or false, not \(String(decoding: pickled, as: UTF8.self))")
            }
            returnPickled = true
        }
        arrivedAt = KombuTime.date(fromJSON: args.count == 3 ? body[args[1]] : kwargs[raw: "arrival_timestamp"])
        var text: [UInt8] = []
        text.reserveCapacity(requestText.count + 24)
        text.append(UInt8(ascii: "{"))
        for member in requestObject.members where member.key != "return_pickled" {
            JSONText.appendQuoted(member.key, to: &text)
            text.append(UInt8(ascii: ":"))
            text.append(contentsOf: member.value)
            text.append(UInt8(ascii: ","))
        }
        text.append(contentsOf: (returnPickled ? #""return_pickled":true}"# : #""return_pickled":false}"#).utf8)
        request = text
    }
}

/// An exception as Celery's result backend stores it: `{"exc_type", "exc_message", "exc_module"}`.
public struct CeleryException: Error, Sendable, Equatable {
    /// The exception's class name (`ValueError`).
    public var type: String
    /// The module defining it (`builtins`).
    public var module: String
    /// `str(exception)`.
    public var message: String

    /// Makes an exception from its parts.
    public init(type: String, module: String, message: String) {
        self.type = type
        self.module = module
        self.message = message
    }

    /// kombu's `DecodeError`: the message could not be decoded.
    static func decodeError(_ message: String) -> CeleryException {
        CeleryException(type: "DecodeError", module: "kombu.exceptions", message: message)
    }

    /// Python's `TypeError`: the task was called with the wrong arguments.
    static func typeError(_ message: String) -> CeleryException {
        CeleryException(type: "TypeError", module: "builtins", message: message)
    }

    /// The exception a Python traceback ends with (`module.Type: message`), or `fallback`'s type
    /// with the whole text as its message when the text is not a traceback.
    public static func from(traceback: String, fallback: CeleryException) -> CeleryException {
        let lines = traceback.split(separator: "\n", omittingEmptySubsequences: false)
        for (index, line) in lines.enumerated().reversed() {
            guard let first = line.first, first.isLetter || first == "_" else { continue }
            let head = line.prefix { $0 != ":" }
            guard head.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." }), !head.isEmpty,
                line.count == head.count || line.dropFirst(head.count).hasPrefix(": ")
            else { continue }
            guard head != "Traceback" else { break }
            var message = String(line.dropFirst(head.count).dropFirst(2))
            if index + 1 < lines.count { message += "\n" + lines[(index + 1)...].joined(separator: "\n") }
            message = message.trimmingCharacters(in: .newlines)
            let parts = head.split(separator: ".")
            let type = String(parts.last ?? head)
            let module = parts.count > 1 ? parts.dropLast().joined(separator: ".") : "builtins"
            return CeleryException(type: type, module: module, message: message)
        }
        var fallback = fallback
        fallback.message = traceback.trimmingCharacters(in: .whitespacesAndNewlines)
        return fallback
    }
}
