import Foundation
import RedisQueue
import Testing
import WorkerCore

@Suite("Celery producing")
struct CeleryProducingTests {
    @Test("the envelope a batch queues decodes as the worker reads a gateway's message")
    func envelopeRoundTrip() throws {
        let envelope = CeleryProducing.envelope(
            taskID: "batch-1-0", request: Array(#"{"args":{"x": 1.0}}"#.utf8), returnPickled: true, queue: "q")
        guard case .run(let task) = CeleryMessage.decode(envelope, now: Date()) else {
            Issue.record("not a task to run: \(String(decoding: envelope, as: UTF8.self))")
            return
        }
        #expect(task.id == "batch-1-0")
        #expect(task.name == LaunchTaskNames.predict)
        let request = try PredictRequest(json: task.request)
        #expect(request.input == .args(json: #"{"x": 1.0}"#))
        #expect(request.returnPickled)
    }

    @Test("with an arrival time, llm-engine's gateway's three arguments, its time read back")
    func arrivalTime() throws {
        let arrival = Date(timeIntervalSince1970: 1_700_000_000.25)
        let envelope = CeleryProducing.envelope(
            taskID: "t", request: Array(#"{"args":{"x": 1}}"#.utf8), returnPickled: false, queue: "q", arrival: arrival)
        guard case .run(let task) = CeleryMessage.decode(envelope, now: Date()) else {
            Issue.record("not a task to run: \(String(decoding: envelope, as: UTF8.self))")
            return
        }
        let arrivedAt = try #require(task.arrivedAt)
        #expect(abs(arrivedAt.timeIntervalSince(arrival)) < 0.001)
        #expect(try !PredictRequest(json: task.request).returnPickled)
    }

    @Test("a stored result reads back as the response it was made from; STARTED is no response yet")
    func storedResults() {
        let now = Date()
        for response in [
            TaskResponse.success(result: #"{"sum": 3}"#), TaskResponse(status: .success, resultURL: "file:///r/1.pkl"),
            TaskResponse.failure(traceback: "Traceback...\nValueError: bad input: 1\n"),
        ] {
            let stored = CeleryResult(taskID: "t", response: response, finishedAt: now).json()
            #expect(CeleryProducing.response(stored: stored) == response)
        }
        let started = CeleryResult.started(taskID: "t", pid: 1, hostname: "h").json()
        #expect(CeleryProducing.response(stored: started) == nil)
    }
}
