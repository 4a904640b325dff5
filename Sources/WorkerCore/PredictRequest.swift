import Foundation

/// A decoded, checked inference request (llm-engine's `EndpointPredictV1Request`).
public struct PredictRequest: Sendable, Equatable {
    /// What predict is called with.
    public enum Input: Sendable, Equatable {
        /// `args`: the JSON text of an object; predict gets its members as keyword arguments.
        case args(json: String)
        /// `url`: a file whose bytes are predict's single positional argument.
        case url(String)
        /// `cloudpickle`: a file holding a cloudpickled `{"args": [...], "kwargs": {...}}`.
        case cloudpickle(String)
    }

    /// What predict is called with.
    public var input: Input
    /// `return_pickled`: store `cloudpickle.dumps(output)` and answer with its URL.
    public var returnPickled: Bool
    /// `callback_url`, when given.
    public var callbackURL: String?

    /// Whether the result is pickled: asked for, or forced by a `cloudpickle` input.
    public var resultIsPickled: Bool {
        if case .cloudpickle = input { return true }
        return returnPickled
    }

    /// Makes a request from its parts.
    public init(input: Input, returnPickled: Bool = false, callbackURL: String? = nil) {
        self.input = input
        self.returnPickled = returnPickled
        self.callbackURL = callbackURL
    }

    /// Decodes a request body; a `null` member counts as absent, and unknown members are ignored,
    /// as llm-engine does.
    ///
    /// - Throws: ``RequestError`` naming what is wrong with the body.
    public init(json body: [UInt8]) throws(RequestError) {
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: Data(body))
        } catch {
            throw RequestError("the request is not valid JSON (\(JSONErrorText.describe(error)))")
        }
        guard let object = parsed as? [String: Any] else {
            throw RequestError("the request must be a JSON object with one of \"args\", \"url\" or \"cloudpickle\"")
        }
        let inputs = ["args", "url", "cloudpickle"].filter { object[$0] != nil && !(object[$0] is NSNull) }
        guard inputs.count == 1 else {
            throw RequestError(
                inputs.isEmpty
                    ? "the request has none of \"args\", \"url\" and \"cloudpickle\": give exactly one"
                    : "the request has \(inputs.map { "\"\($0)\"" }.joined(separator: " and ")): give exactly one")
        }
        switch inputs[0] {
        case "args":
            guard object["args"] is [String: Any], let span = RawJSON.member("args", of: body) else {
                throw RequestError(
                    "\"args\" must be a JSON object whose keys are the predict function's parameter names")
            }
            input = .args(json: String(decoding: body[span], as: UTF8.self))
        case let name:
            guard let location = object[name] as? String, !location.isEmpty else {
                throw RequestError("\"\(name)\" must be a non-empty string: a path or a file:// URL")
            }
            input = name == "url" ? .url(location) : .cloudpickle(location)
        }
        returnPickled = try Self.optional("return_pickled", in: object, expected: "true or false") ?? false
        callbackURL = try Self.optional("callback_url", in: object, expected: "a string")
    }

    private static func optional<Value>(
        _ name: String, in object: [String: Any], expected: String
    ) throws(RequestError) -> Value? {
        guard let raw = object[name], !(raw is NSNull) else { return nil }
        guard let value = raw as? Value else { throw RequestError("\"\(name)\" must be \(expected)") }
        return value
    }
}

/// Foundation's words for a JSON parse error: its debug description says where the text went
/// wrong, where `localizedDescription` says only that it did.
enum JSONErrorText {
    static func describe(_ error: any Error) -> String {
        let nsError = error as NSError
        return (nsError.userInfo[NSDebugDescriptionErrorKey] as? String) ?? nsError.localizedDescription
    }
}

/// A request that cannot be run, with what is wrong with it.
public struct RequestError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong with the request.
    public var reason: String

    /// Makes an error with a reason that names the problem.
    public init(_ reason: String) {
        self.reason = reason
    }

    public var description: String { "bad request: \(reason)" }
}
