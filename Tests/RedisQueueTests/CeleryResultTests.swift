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
}
