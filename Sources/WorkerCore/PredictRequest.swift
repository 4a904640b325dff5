import Foundation
import JSONBytes

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
    /// The body is checked whole (``JSONValidator``), then only the members a request has are
    /// read from its text, with no JSON tree built: this runs for every task of every queue.
    ///
    /// - Throws: ``RequestError`` naming what is wrong with the body.
    public init(json body: [UInt8]) throws(RequestError) {
        if let offset = JSONValidator.firstInvalidByte(in: body) { throw Self.notJSON(body, invalidAt: offset) }
        guard let object = RawJSON.Object(body[...]) else {
            throw RequestError("the request must be a JSON object with one of \"args\", \"url\" or \"cloudpickle\"")
        }
        let inputs = ["args", "url", "cloudpickle"].filter { Self.member($0, of: object) != nil }
        guard inputs.count == 1 else {
            throw RequestError(
                inputs.isEmpty
                    ? "the request has none of \"args\", \"url\" and \"cloudpickle\": give exactly one"
                    : "the request has \(inputs.map { "\"\($0)\"" }.joined(separator: " and ")): give exactly one")
        }
        switch inputs[0] {
        case "args":
            guard let args = object[raw: "args"], args.first == UInt8(ascii: "{") else {
                throw RequestError(
                    "\"args\" must be a JSON object whose keys are the predict function's parameter names")
            }
            input = .args(json: String(decoding: args, as: UTF8.self))
        case let name:
            guard let location = object.string(name), !location.isEmpty else {
                throw RequestError("\"\(name)\" must be a non-empty string: a path or a file:// URL")
            }
            input = name == "url" ? .url(location) : .cloudpickle(location)
        }
        returnPickled = try Self.optional("return_pickled", of: object, expected: "true or false", Self.bool) ?? false
        callbackURL = try Self.optional("callback_url", of: object, expected: "a string", RawJSON.string)
    }

    /// Member `name`'s JSON text, nil when it is absent or `null`.
    private static func member(_ name: String, of object: RawJSON.Object) -> ArraySlice<UInt8>? {
        guard let raw = object[raw: name], !raw.elementsEqual("null".utf8) else { return nil }
        return raw
    }

    /// Member `name` read by `read`, nil when it is absent or `null`.
    ///
    /// - Throws: ``RequestError`` saying what it must be when `read` cannot read it.
    private static func optional<Value>(
        _ name: String, of object: RawJSON.Object, expected: String, _ read: (ArraySlice<UInt8>) -> Value?
    ) throws(RequestError) -> Value? {
        guard let raw = member(name, of: object) else { return nil }
        guard let value = read(raw) else { throw RequestError("\"\(name)\" must be \(expected)") }
        return value
    }

    /// `true` or `false`; and, as requests have always been read, a number that Foundation
    /// bridges to `Bool`: one equal to 0 or 1.
    private static func bool(_ raw: ArraySlice<UInt8>) -> Bool? {
        if raw.elementsEqual("true".utf8) { return true }
        if raw.elementsEqual("false".utf8) { return false }
        let digits = UInt8(ascii: "0")...UInt8(ascii: "9")
        guard let first = raw.first, first == UInt8(ascii: "-") || digits.contains(first) else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(raw), options: .fragmentsAllowed)) as? Bool
    }

    /// The error for a body that is not JSON, in Foundation's words as before the validator; its
    /// own when Foundation takes what the RFC does not (a trailing comma, a byte order mark,
    /// UTF-16).
    private static func notJSON(_ body: [UInt8], invalidAt offset: Int) -> RequestError {
        let reason: String
        do {
            _ = try JSONSerialization.jsonObject(with: Data(body))
            reason = "Invalid value around character \(offset)."
        } catch {
            reason = JSONErrorText.describe(error)
        }
        return RequestError("the request is not valid JSON (\(reason))")
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
