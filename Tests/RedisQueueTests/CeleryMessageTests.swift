import Foundation
import Testing

@testable import RedisQueue

@Suite struct CeleryMessageTests {
    let now = Date(timeIntervalSince1970: 1_700_000_000)

    /// An envelope as kombu's Redis transport writes it.
    private func envelope(
        body: String, task: String = LaunchTaskNames.predict, expires: String = "null", redelivered: Bool = false,
        bodyEncoding: String = "base64", contentType: String = "application/json"
    ) -> [UInt8] {
        let encoded = bodyEncoding == "base64" ? Data(body.utf8).base64EncodedString() : body
        return Array(
            """
            {"body": \(JSONValue.quote(encoded)), "content-encoding": "utf-8", "content-type": "\(contentType)",
             "headers": {"lang": "py", "task": "\(task)", "id": "task-1", "root_id": "task-1", "parent_id": null,
                         "eta": null, "expires": \(expires), "retries": 0, "timelimit": [null, null]\(redelivered ? ", \"redelivered\": true" : "")},
             "properties": {"correlation_id": "task-1", "reply_to": "r", "delivery_mode": 2,
                            "delivery_info": {"exchange": "q", "routing_key": "q"}, "priority": 0,
                            "body_encoding": "\(bodyEncoding)", "delivery_tag": "tag-1"}}
            """.utf8)
    }

    private func task(_ message: CeleryMessage) throws -> CeleryTask {
        guard case .run(let task) = message else { throw Failure("expected a task to run, got \(message)") }
        return task
    }

    private struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    @Test func readsTheTwoArgumentShape() throws {
        let body = #"[[{"args": {"x": 1.0, "y": [1, 2]}, "return_pickled": true}, false], {}, {"callbacks": null}]"#
        let task = try task(CeleryMessage.decode(envelope(body: body), now: now))
        #expect(task.id == "task-1")
        #expect(task.name == LaunchTaskNames.predict)
        #expect(
            String(decoding: task.request, as: UTF8.self) == #"{"args":{"x": 1.0, "y": [1, 2]},"return_pickled":false}"#
        )
        #expect(task.arrivedAt == nil)
        #expect(!task.redelivered)
    }

    @Test func readsTheThreeArgumentShapeWithATaggedArrivalTime() throws {
        let body = """
            [[{"url": "file:///x"}, {"__type__": "datetime", "__value__": "2023-11-14T22:13:20+00:00"}, true],
             {"extra": 1}, {}]
            """
        let task = try task(CeleryMessage.decode(envelope(body: body), now: now))
        #expect(String(decoding: task.request, as: UTF8.self) == #"{"url":"file:///x","return_pickled":true}"#)
        #expect(task.arrivedAt == now)
    }

    @Test func readsTheRunnableImageNameAndKeywordArguments() throws {
        let body = #"[[], {"request_params": {"args": {}}, "return_pickled": true}, {}]"#
        let task = try task(
            CeleryMessage.decode(envelope(body: body, task: LaunchTaskNames.runnableImage), now: now))
        #expect(String(decoding: task.request, as: UTF8.self) == #"{"args":{},"return_pickled":true}"#)
    }

    @Test func marksRedeliveredMessages() throws {
        let body = #"[[{"args": {}}, false], {}, {}]"#
        #expect(try task(CeleryMessage.decode(envelope(body: body, redelivered: true), now: now)).redelivered)
    }

    @Test func anExpiredTaskIsRevokedNotRun() {
        let body = #"[[{"args": {}}, false], {}, {}]"#
        let past = CeleryMessage.decode(envelope(body: body, expires: #""2023-11-14T22:13:19.5+00:00""#), now: now)
        #expect(past == .expired(taskID: "task-1", expires: now.addingTimeInterval(-0.5)))
        let future = CeleryMessage.decode(envelope(body: body, expires: #""2023-11-14T22:13:21""#), now: now)
        #expect((try? task(future)) != nil)
    }

    @Test func malformedMessagesAreRejectedNamingTheProblem() {
        func reason(_ message: CeleryMessage) -> String {
            if case .reject(_, let exception) = message {
                return "\(exception.module).\(exception.type): \(exception.message)"
            }
            return "not rejected: \(message)"
        }
        let good = #"[[{"args": {}}, false], {}, {}]"#
        var raw = envelope(body: good)
        raw = Array(
            String(decoding: raw, as: UTF8.self).replacingOccurrences(
                of: Data(good.utf8).base64EncodedString(), with: "%%%not base64"
            ).utf8)
        #expect(
            reason(CeleryMessage.decode(raw, now: now)) == "kombu.exceptions.DecodeError: the body is not valid base64")
        #expect(
            reason(CeleryMessage.decode(envelope(body: "[1, 2"), now: now))
                == "kombu.exceptions.DecodeError: the body is not valid JSON")
        #expect(
            reason(CeleryMessage.decode(envelope(body: good, task: "tasks.add"), now: now)).hasPrefix(
                "celery.exceptions.NotRegistered: \"tasks.add\""))
        #expect(
            reason(CeleryMessage.decode(envelope(body: good, contentType: "application/x-python-serialize"), now: now))
                .hasPrefix("kombu.exceptions.ContentDisallowed"))
        #expect(
            reason(CeleryMessage.decode(envelope(body: #"[["not an object"], {}, {}]"#), now: now)).hasPrefix(
                "builtins.TypeError"))
        #expect(
            reason(CeleryMessage.decode(envelope(body: #"[[{}, 1, 2, 3], {}, {}]"#), now: now)).hasPrefix(
                "builtins.TypeError"))
        #expect(
            reason(CeleryMessage.decode(envelope(body: #"[[{}, "yes"], {}, {}]"#), now: now)).hasPrefix(
                "builtins.TypeError: return_pickled"))
    }

    @Test func messagesWithoutATaskIDCannotBeAnswered() {
        #expect(
            CeleryMessage.decode(Array("not json".utf8), now: now)
                == .unanswerable(reason: "the message is not a JSON object (not a kombu envelope)"))
        let whole = envelope(body: #"[[{"args": {}}, false], {}, {}]"#)
        #expect(
            CeleryMessage.decode(Array(whole.dropLast(40)), now: now)
                == .unanswerable(reason: "the message is not a JSON object (not a kombu envelope)"))
        guard case .unanswerable = CeleryMessage.decode(Array(#"{"headers": {}}"#.utf8), now: now) else {
            Issue.record("a message without headers.id must be unanswerable")
            return
        }
    }

    @Test func parsesKombuTimes() {
        #expect(KombuTime.parse("2023-11-14T22:13:20") == now)
        #expect(KombuTime.parse("2023-11-14T23:13:20.25+01:00") == now.addingTimeInterval(0.25))
        #expect(KombuTime.parse("2023-11-14 22:13:20Z") == now)
        #expect(KombuTime.parse("yesterday") == nil)
        #expect(
            KombuTime.date(fromJSON: Array(#"{"__type__": "date", "__value__": "2023-11-14"}"#.utf8)[...])
                == KombuTime.parse("2023-11-14T00:00:00"))
        #expect(KombuTime.date(fromJSON: Array("1700000000.0".utf8)[...]) == now)
        #expect(KombuTime.format(now.addingTimeInterval(0.000_123)) == "2023-11-14T22:13:20.000123+00:00")
    }

    /// The request text of the task that the envelope text `raw` runs, or why it does not run one.
    private func outcome(_ raw: String) -> String {
        switch CeleryMessage.decode(Array(raw.utf8), now: now) {
        case .run(let task):
            let arrived = task.arrivedAt.map { "\($0.timeIntervalSince1970)" } ?? "nil"
            return "\(task.id) \(task.name) redelivered=\(task.redelivered) retries=\(task.retries) arrived=\(arrived) "
                + String(decoding: task.request, as: UTF8.self)
        case .reject(let id, let exception):
            return "\(id) rejected \(exception.module).\(exception.type): \(exception.message)"
        case .expired(let id, let expires):
            return "\(id) expired \(expires.timeIntervalSince1970)"
        case .unanswerable(let reason):
            return "unanswerable: \(reason)"
        }
    }

    @Test func escapedAndRepeatedKeysReadAsJSONParsersReadThem() {
        let body = Data(
            #"[[{"\u0061rgs": {"x": "\u00e9"}, "a": 1, "a": 2, "return\u005fpickled": true}], {}, {}]"#.utf8)
        let raw = """
            {"b\\u006fdy": "\(body.base64EncodedString())", "content-type": "application\\/json",
             "headers": {"id": "first", "t\\u0061sk": "\(LaunchTaskNames.predict)", "\\u0069d": "task-2",
                         "retries": 1, "retries": 4, "redelivered": false, "redelivered": true},
             "properties": {"body\\u005fencoding": "base64", "priority": 9}}
            """
        #expect(
            outcome(raw)
                == "task-2 \(LaunchTaskNames.predict) redelivered=true retries=4 arrived=nil "
                + #"{"args":{"x": "\u00e9"},"a":1,"a":2,"return_pickled":true}"#)
    }

    @Test func requestKeysThatNeedEscapesAreWrittenAgain() {
        let body = Data(
            "[[{\"a\\/b\": 1, \"\\u00e9\": 2, \"tab\\t\": 3, \"raw\u{01}\": 4, \"\u{e9}\": 5}, false], {}, {}]".utf8)
        let raw = """
            {"body": "\(body.base64EncodedString())", "headers": {"id": "t", "task": "\(LaunchTaskNames.predict)"},
             "properties": {"body_encoding": "base64"}}
            """
        #expect(
            outcome(raw)
                == "t \(LaunchTaskNames.predict) redelivered=false retries=0 arrived=nil "
                + "{\"a/b\":1,\"é\":2,\"tab\\t\":3,\"raw\\u0001\":4,\"é\":5,\"return_pickled\":false}")
    }

    @Test func redeliveryIsReadFromHeadersOrDeliveryInfo() {
        func raw(headers: String, properties: String) -> String {
            let body = Data(#"[[{"args": {}}], {}, {}]"#.utf8).base64EncodedString()
            return """
                {"body": "\(body)", "headers": {"id": "t", "task": "\(LaunchTaskNames.predict)"\(headers)},
                 "properties": {"body_encoding": "base64", "priority": 0\(properties)}}
                """
        }
        let prefix = "t \(LaunchTaskNames.predict) redelivered="
        #expect(outcome(raw(headers: "", properties: "")).hasPrefix(prefix + "false"))
        #expect(
            outcome(raw(headers: "", properties: #", "delivery_info": {"redelivered": true}"#)).hasPrefix(
                prefix + "true"))
        #expect(outcome(raw(headers: #", "redelivered": "true""#, properties: "")).hasPrefix(prefix + "false"))
        #expect(outcome(raw(headers: #", "redelivered": 1"#, properties: "")).hasPrefix(prefix + "false"))
        #expect(
            outcome(raw(headers: #", "redelivered": false"#, properties: #", "delivery_info": {"redelivered": true}"#))
                .hasPrefix(prefix + "true"))
    }

    @Test func keywordArgumentsAndTheRequestsOwnFlag() {
        func run(_ body: String, encoding: String = "base64") -> String {
            let text = encoding == "base64" ? Data(body.utf8).base64EncodedString() : body
            return outcome(
                """
                {"body": \(JSONValue.quote(text)), "content-type": 7,
                 "headers": {"id": "t", "task": "\(LaunchTaskNames.predict)", "retries": "2"},
                 "properties": {"body_encoding": "\(encoding)"}}
                """)
        }
        let prefix = "t \(LaunchTaskNames.predict) redelivered=false retries=0 "
        #expect(
            run(
                #"[[], {"request_params": {"args": {}}, "return_pickled": true, "arrival_timestamp": 1700000000.5}, {}]"#
            )
                == prefix + #"arrived=1700000000.5 {"args":{},"return_pickled":true}"#)
        #expect(
            run(#"[[{"args": {}, "return_pickled": true}], {"return_pickled": null}, {}]"#)
                == prefix + #"arrived=nil {"args":{},"return_pickled":false}"#)
        #expect(
            run(#"[[{"args": {}, "return_pickled": true}], {}, {}]"#)
                == prefix + #"arrived=nil {"args":{},"return_pickled":true}"#)
        #expect(
            run(#"[[{"args": {}}, null], {"return_pickled": true, "arrival_timestamp": 5}, {}]"#)
                == prefix + #"arrived=5.0 {"args":{},"return_pickled":false}"#)
        #expect(
            run(#" [ [ {"args" : {}} , "2023-11-14T22:13:20" , true ] , { } , null ] "#, encoding: "utf-8")
                == prefix + #"arrived=1700000000.0 {"args":{},"return_pickled":true}"#)
        #expect(
            run(#"[[{"args": {}}, 1], {}]"#)
                == "t rejected kombu.exceptions.DecodeError: the body must be Celery protocol v2's [args, kwargs, embed]"
        )
        #expect(
            run(#"{"args": [{"args": {}}]}"#)
                == "t rejected kombu.exceptions.DecodeError: the body must be Celery protocol v2's [args, kwargs, embed]"
        )
        #expect(
            run(#"[[{"args": {}}], [], {}]"#)
                == "t rejected kombu.exceptions.DecodeError: the body must be Celery protocol v2's [args, kwargs, embed]"
        )
        #expect(
            run(#"[[{"args": {}}, True], {}, {}]"#)
                == "t rejected builtins.TypeError: return_pickled must be true or false, not True")
        #expect(
            run(#"[[], {}, {}]"#)
                == "t rejected builtins.TypeError: predict() missing 1 required positional argument: 'request_params'")
    }

    @Test func bodiesInBase64AsFoundationReadsThem() {
        func run(_ encoded: String) -> String {
            outcome(
                """
                {"body": "\(encoded)", "headers": {"id": "t", "task": "\(LaunchTaskNames.predict)"},
                 "properties": {"body_encoding": "base64"}}
                """)
        }
        let body = Data(#"[[{"args": {"x": "?>?"}}], {}, {}]"#.utf8).base64EncodedString()
        let answer =
            "t \(LaunchTaskNames.predict) redelivered=false retries=0 arrived=nil "
            + #"{"args":{"x": "?>?"},"return_pickled":false}"#
        #expect(body.contains("/"))
        #expect(run(body) == answer)
        #expect(run(body.replacingOccurrences(of: "/", with: "\\/")) == answer)
        #expect(run(body.replacingOccurrences(of: "W", with: "W\\n %")) == answer)
        #expect(run("") == "t rejected kombu.exceptions.DecodeError: the body is not valid JSON")
        #expect(run("====") == "t rejected kombu.exceptions.DecodeError: the body is not valid base64")
        #expect(run("%%") == "t rejected kombu.exceptions.DecodeError: the body is not valid base64")
        #expect(
            run(String(body.dropLast(2))) == "t rejected kombu.exceptions.DecodeError: the body is not valid base64")
        #expect(run("\\ud800") == "t rejected kombu.exceptions.DecodeError: the message has no body string")
    }

    @Test func contentTypes() {
        func run(_ member: String) -> String {
            let body = Data(#"[[{"args": {}}], {}, {}]"#.utf8).base64EncodedString()
            return outcome(
                """
                {"body": "\(body)", \(member) "headers": {"id": "t", "task": "\(LaunchTaskNames.predict)"},
                 "properties": {"body_encoding": "base64"}}
                """)
        }
        let answer =
            "t \(LaunchTaskNames.predict) redelivered=false retries=0 arrived=nil "
            + #"{"args":{},"return_pickled":false}"#
        #expect(run("") == answer)
        #expect(run(#""content-type": "application/json","#) == answer)
        #expect(run(#""content-type": null,"#) == answer)
        #expect(
            run(#""content-type": "text/plain","#)
                == "t rejected kombu.exceptions.ContentDisallowed: content-type text/plain is refused: "
                + "send JSON (task_serializer='json')")
        #expect(
            run(#""content-type": "application/json ","#)
                == "t rejected kombu.exceptions.ContentDisallowed: content-type application/json  is refused: "
                + "send JSON (task_serializer='json')")
    }

    @Test func expiryForms() {
        func run(_ expires: String) -> String {
            let body = Data(#"[[{"args": {}}], {}, {}]"#.utf8).base64EncodedString()
            return outcome(
                """
                {"body": "\(body)", "headers": {"id": "t", "task": "\(LaunchTaskNames.predict)", "expires": \(expires)},
                 "properties": {"body_encoding": "base64"}}
                """)
        }
        #expect(run("1699999999") == "t expired 1699999999.0")
        #expect(
            run(#"{"__type__": "datetime", "__value__": "2023-11-14T22:13:19.250000"}"#) == "t expired 1699999999.25")
        #expect(run(#""2023-11-14T22:13:1\u0039""#) == "t expired 1699999999.0")
        #expect(run(#"{"__type__": "date", "__value__": "2023-11-14"}"#) == "t expired 1699920000.0")
        #expect(
            run(#"{"__type__": "time", "__value__": "2023-11-14"}"#)
                == #"t rejected kombu.exceptions.DecodeError: headers.expires is not a time: {"__type__": "time", "__value__": "2023-11-14"}"#
        )
        #expect(run(#""soon""#) == #"t rejected kombu.exceptions.DecodeError: headers.expires is not a time: "soon""#)
        #expect(run("1800000000").hasPrefix("t \(LaunchTaskNames.predict)"))
    }
}
