import Foundation
import JSONBytes
import Testing

@testable import WorkerCore

@Suite("Decoding requests")
struct PredictRequestTests {
    private func decode(_ json: String) throws(RequestError) -> PredictRequest {
        try PredictRequest(json: Array(json.utf8))
    }

    @Test("args keep their original JSON text: floats stay floats, big integers keep every digit")
    func argsKeepText() throws {
        let request = try decode(#"{"return_pickled": true, "args": {"x": 1.0, "n": 123456789012345678901234567890}}"#)
        #expect(request.input == .args(json: #"{"x": 1.0, "n": 123456789012345678901234567890}"#))
        #expect(request.returnPickled)
    }

    @Test("url and cloudpickle inputs; a cloudpickle input always gives a pickled result")
    func locations() throws {
        #expect(try decode(#"{"url": "file:///tmp/x"}"#).input == .url("file:///tmp/x"))
        let pickled = try decode(#"{"cloudpickle": "/tmp/call.pkl", "return_pickled": false}"#)
        #expect(pickled.input == .cloudpickle("/tmp/call.pkl"))
        #expect(pickled.resultIsPickled)
    }

    @Test("null members count as absent, unknown members are ignored")
    func nullsAndExtras() throws {
        let request = try decode(#"{"args": {"a": 1}, "url": null, "callback_url": "http://cb", "extra": 3}"#)
        #expect(request.input == .args(json: #"{"a": 1}"#))
        #expect(request.callbackURL == "http://cb")
        #expect(!request.returnPickled)
    }

    @Test(
        "bad requests are errors that name the problem",
        arguments: [
            (#"{"args": {"a": 1}, "url": "x"}"#, #""args" and "url""#),
            (#"{}"#, "none of"),
            (#"{"return_pickled": true}"#, "none of"),
            (#"{"args": "#, "not valid JSON"),
            (#"[1, 2]"#, "must be a JSON object"),
            (#"{"args": [1, 2]}"#, "parameter names"),
            (#"{"url": 7}"#, #""url" must be a non-empty string"#),
            (#"{"args": {}, "return_pickled": "yes"}"#, #""return_pickled" must be true or false"#),
        ])
    func badRequests(json: String, expected: String) throws {
        let error = #expect(throws: RequestError.self) { try decode(json) }
        #expect(error?.reason.contains(expected) == true, "\(error?.reason ?? "")")
    }

    @Test("bodies that are not JSON, or not an object, keep Foundation's words")
    func notJSONMessages() {
        let cases = [
            (#"{"args": "#, "the request is not valid JSON (Unexpected end of file during JSON parse.)"),
            (
                #"{"args": {"x": 01}}"#,
                "the request is not valid JSON (Number with leading zero around character 16.)"
            ),
            (
                "7",
                "the request is not valid JSON (JSON text did not start with array or object and option to allow "
                    + "fragments not set.)"
            ),
            (#"[{"args": {}}]"#, #"the request must be a JSON object with one of "args", "url" or "cloudpickle""#),
            // Foundation takes a trailing comma; the RFC, Python and llm-engine do not.
            (#"{"args": {"x": 1},}"#, "the request is not valid JSON (Invalid value around character 18.)"),
        ]
        for (json, reason) in cases {
            #expect(throws: RequestError(reason)) { try decode(json) }
        }
    }

    @Test("escaped keys and locations are decoded; the last of duplicate members wins")
    func escapesAndDuplicates() throws {
        #expect(try decode(#"{"\u0075rl": "\/tmp\/caf\u00e9"}"#).input == .url("/tmp/café"))
        #expect(try decode(#"{"url": "a", "url": null, "args": {"y": 2}}"#).input == .args(json: #"{"y": 2}"#))
        let request = try decode(#"{"args": [1], "args": {"x": "}"}, "callback_url": "a\"b", "return_pickled": 1}"#)
        #expect(request.input == .args(json: #"{"x": "}"}"#))
        #expect(request.callbackURL == "a\"b")
        #expect(request.returnPickled)
    }

    @Test(
        "return_pickled takes true, false, null, and the numbers Foundation reads as Bool",
        arguments: [
            ("true", true), ("false", false), ("null", false), ("1", true), ("0", false), ("1.0", true), ("-0", false),
            ("1e0", true),
        ])
    func returnPickledValues(json: String, expected: Bool) throws {
        #expect(try decode(#"{"args": {}, "return_pickled": \#(json)}"#).returnPickled == expected)
    }

    @Test(
        "the decoder answers as the Foundation decoder it replaced",
        arguments: [
            #"{"args": {"x": 1}}"#, #"{"args": {"x": 1.0, "n": [1, {"a": null}]}, "extra": {"deep": [[[]]]}}"#,
            #"{"url": "file:///x", "return_pickled": true, "callback_url": "http://cb"}"#,
            #"{"cloudpickle": "/c.pkl"}"#, #"{"url": ""}"#, #"{"cloudpickle": 3}"#, #"{"url": ["x"]}"#,
            #"{"args": null, "url": null}"#, #"{"args": {}, "url": "x", "cloudpickle": "y"}"#, #"{"args": "x"}"#,
            #"{"args": true}"#, #"{"args": {}, "return_pickled": 2}"#, #"{"args": {}, "return_pickled": "true"}"#,
            #"{"args": {}, "return_pickled": [true]}"#, #"{"args": {}, "return_pickled": 0.5}"#,
            #"{"args": {}, "callback_url": 5}"#, #"{"args": {}, "callback_url": null}"#,
            #"{"args": {}, "callback_url": ""}"#,
            #"{"args": {}, "return_pickled": 1e400}"#, #"{"args": {"x": "\ud800"}}"#, #"{"args": {"x": 1,}"#,
            #"{"url": "a\u0000b"}"#, #" {"args" : { } } "#, "[]", "{}", "", "null", #""args""#,
            "{\"url\": \"tab\there\"}",
            #"{"args": {}} {}"#, #"{"args": {"x": NaN}}"#, #"{"args": {'x': 1}}"#,
        ])
    func sameAsFoundationDecoder(json: String) {
        let body = Array(json.utf8)
        let new = Result { () throws(RequestError) in try PredictRequest(json: body) }
        #expect(new == FoundationDecodedRequest.decode(body), "\(json)")
    }
}

/// The decoder before ``JSONValidator``: Foundation's `JSONSerialization`, then casts. The tests
/// hold the new one to its answers.
private enum FoundationDecodedRequest {
    static func decode(_ body: [UInt8]) -> Result<PredictRequest, RequestError> {
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: Data(body))
        } catch {
            return .failure(RequestError("the request is not valid JSON (\(JSONErrorText.describe(error)))"))
        }
        guard let object = parsed as? [String: Any] else {
            return .failure(
                RequestError("the request must be a JSON object with one of \"args\", \"url\" or \"cloudpickle\""))
        }
        let given = { (name: String) in object[name].flatMap { $0 is NSNull ? nil : $0 } }
        let inputs = ["args", "url", "cloudpickle"].filter { given($0) != nil }
        guard inputs.count == 1 else {
            return .failure(
                RequestError(
                    inputs.isEmpty
                        ? "the request has none of \"args\", \"url\" and \"cloudpickle\": give exactly one"
                        : "the request has \(inputs.map { "\"\($0)\"" }.joined(separator: " and ")): give exactly one"))
        }
        let input: PredictRequest.Input
        switch inputs[0] {
        case "args":
            guard given("args") is [String: Any], let span = RawJSON.member("args", of: body) else {
                return .failure(
                    RequestError("\"args\" must be a JSON object whose keys are the predict function's parameter names")
                )
            }
            input = .args(json: String(decoding: body[span], as: UTF8.self))
        case let name:
            guard let location = given(name) as? String, !location.isEmpty else {
                return .failure(RequestError("\"\(name)\" must be a non-empty string: a path or a file:// URL"))
            }
            input = name == "url" ? .url(location) : .cloudpickle(location)
        }
        let returnPickled = given("return_pickled")
        guard returnPickled == nil || returnPickled is Bool else {
            return .failure(RequestError("\"return_pickled\" must be true or false"))
        }
        let callbackURL = given("callback_url")
        guard callbackURL == nil || callbackURL is String else {
            return .failure(RequestError("\"callback_url\" must be a string"))
        }
        return .success(
            PredictRequest(
                input: input, returnPickled: returnPickled as? Bool ?? false, callbackURL: callbackURL as? String))
    }
}
