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
}
