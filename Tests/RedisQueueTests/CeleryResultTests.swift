import Foundation
import Testing
import WorkerCore

@testable import RedisQueue

@Suite struct CeleryResultTests {
    let done = Date(timeIntervalSince1970: 1_700_000_000)

    private func object(_ result: CeleryResult) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(result.json())) as? [String: Any])
    }

    @Test func successCarriesLaunchsTaskResult() throws {
        let result = CeleryResult(taskID: "t", response: .success(result: #"{"sum": 3}"#), finishedAt: done)
        let meta = try object(result)
        #expect(meta["status"] as? String == "SUCCESS")
        #expect(meta["result"] as? [String: String] == ["result": #"{"sum": 3}"#])
        #expect(meta["traceback"] is NSNull)
        #expect((meta["children"] as? [Any])?.isEmpty == true)
        #expect(meta["date_done"] as? String == "2023-11-14T22:13:20.000000+00:00")
        #expect(meta["task_id"] as? String == "t")
        #expect(String(decoding: result.json(), as: UTF8.self).hasPrefix(#"{"status": "SUCCESS", "result": "#))
        let pickled = CeleryResult(
            taskID: "t", response: .success(resultURL: URL(string: "file:///r/t.pkl")!), finishedAt: done)
        #expect(try object(pickled)["result"] as? [String: String] == ["result_url": "file:///r/t.pkl"])
    }

    @Test func failureNamesTheExceptionTheTracebackEndsWith() throws {
        let traceback = """
            Traceback (most recent call last):
              File "bundle.py", line 3, in predict
                raise bundle_code.Boom("no: really")
            bundle_code.Boom: no: really
            second line
            """
        let meta = try object(CeleryResult(taskID: "t", response: .failure(traceback: traceback), finishedAt: done))
        #expect(meta["status"] as? String == "FAILURE")
        let exception = try #require(meta["result"] as? [String: Any])
        #expect(exception["exc_type"] as? String == "Boom")
        #expect(exception["exc_module"] as? String == "bundle_code")
        #expect(exception["exc_message"] as? [String] == ["no: really\nsecond line"])
        #expect(meta["traceback"] as? String == traceback)
    }

    @Test func exceptionsOfBuiltinsAndPlainReasons() {
        let fallback = CeleryException(type: "Exception", module: "builtins", message: "")
        #expect(
            CeleryException.from(
                traceback: "Traceback (most recent call last):\n  x\nValueError: bad", fallback: fallback)
                == CeleryException(type: "ValueError", module: "builtins", message: "bad"))
        #expect(
            CeleryException.from(
                traceback: "Traceback (most recent call last):\n  x\nKeyboardInterrupt", fallback: fallback)
                == CeleryException(type: "KeyboardInterrupt", module: "builtins", message: ""))
        #expect(
            CeleryException.from(traceback: "bad request: \"args\" must be an object", fallback: fallback)
                == CeleryException(
                    type: "Exception", module: "builtins", message: "bad request: \"args\" must be an object"))
    }

    @Test func revokedAndStartedStates() throws {
        let revoked = try object(.expired(taskID: "t", at: done))
        #expect(revoked["status"] as? String == "REVOKED")
        #expect((revoked["result"] as? [String: Any])?["exc_type"] as? String == "TaskRevokedError")
        let started = try object(.started(taskID: "t", pid: 7, hostname: "h"))
        #expect(started["status"] as? String == "STARTED")
        #expect(started["date_done"] is NSNull)
        #expect((started["result"] as? [String: Any])?["pid"] as? Int == 7)
        #expect(CeleryResult.key(taskID: "t") == "celery-task-meta-t")
    }

    @Test func storedBytesArePinned() {
        func text(_ result: CeleryResult) -> String { String(decoding: result.json(), as: UTF8.self) }
        let at = done.addingTimeInterval(0.123_456)
        let success = CeleryResult(
            taskID: "id-\"1\"", response: .success(result: "{\"s\": \"é\\n\u{01}\"}"), finishedAt: at)
        #expect(
            text(success)
                == #"{"status": "SUCCESS", "result": {"result":"{\"s\": \"é\\n\u0001\"}"}, "traceback": null, "#
                + #""children": [], "date_done": "2023-11-14T22:13:20.123456+00:00", "task_id": "id-\"1\""}"#)
        let pickled = CeleryResult(
            taskID: "t", response: .success(resultURL: URL(string: "file:///r/t.pkl")!), finishedAt: done)
        #expect(
            text(pickled)
                == #"{"status": "SUCCESS", "result": {"result_url":"file:///r/t.pkl"}, "traceback": null, "#
                + #""children": [], "date_done": "2023-11-14T22:13:20.000000+00:00", "task_id": "t"}"#)
        let traceback = "Traceback (most recent call last):\n\tFile \"b.py\"\nbundle_code.Boom: no \\ way é"
        let failure = CeleryResult(taskID: "t", response: .failure(traceback: traceback), finishedAt: done)
        #expect(
            text(failure)
                == #"{"status": "FAILURE", "result": {"exc_message":["no \\ way é"],"exc_module":"bundle_code","#
                + #""exc_type":"Boom"}, "traceback": "Traceback (most recent call last):\n\tFile \"b.py\"\n"#
                + #"bundle_code.Boom: no \\ way é", "children": [], "date_done": "2023-11-14T22:13:20.000000+00:00", "#
                + #""task_id": "t"}"#)
        let rejected = CeleryResult.failure(taskID: "t", .typeError("bad/args"), at: done)
        #expect(
            text(rejected)
                == #"{"status": "FAILURE", "result": {"exc_message":["bad/args"],"exc_module":"builtins","#
                + #""exc_type":"TypeError"}, "traceback": "builtins.TypeError: bad/args", "children": [], "#
                + #""date_done": "2023-11-14T22:13:20.000000+00:00", "task_id": "t"}"#)
        #expect(
            text(.expired(taskID: "t", at: done))
                == #"{"status": "REVOKED", "result": {"exc_message":["expired"],"exc_module":"celery.exceptions","#
                + #""exc_type":"TaskRevokedError"}, "traceback": null, "children": [], "#
                + #""date_done": "2023-11-14T22:13:20.000000+00:00", "task_id": "t"}"#)
        #expect(
            text(.started(taskID: "t", pid: 7, hostname: "launch-worker@h"))
                == #"{"status": "STARTED", "result": {"hostname":"launch-worker@h","pid":7}, "traceback": null, "#
                + #""children": [], "date_done": null, "task_id": "t"}"#)
    }

    @Test func datesDoneArePinned() {
        #expect(KombuTime.format(done) == "2023-11-14T22:13:20.000000+00:00")
        #expect(KombuTime.format(done.addingTimeInterval(0.000_001)) == "2023-11-14T22:13:20.000001+00:00")
        #expect(KombuTime.format(done.addingTimeInterval(0.999_999_7)) == "2023-11-14T22:13:20.999999+00:00")
        #expect(KombuTime.format(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000000+00:00")
        #expect(KombuTime.format(Date(timeIntervalSince1970: -1.5)) == "1969-12-31T23:59:58.500000+00:00")
        #expect(KombuTime.format(Date(timeIntervalSince1970: -62_135_596_800)) == "0001-01-01T00:00:00.000000+00:00")
        #expect(KombuTime.format(Date(timeIntervalSince1970: 253_402_300_800)) == "10000-01-01T00:00:00.000000+00:00")
        #expect(KombuTime.format(Date(timeIntervalSince1970: 951_782_400.25)) == "2000-02-29T00:00:00.250000+00:00")
    }
}
