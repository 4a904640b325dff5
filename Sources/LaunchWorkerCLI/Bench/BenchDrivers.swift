import BlockingHTTP
import CLinux
import Foundation
import Logging
import SpoolQueue
import WorkerCore

/// Drives requests through the runner directly: the worker's own cost without any transport.
struct InProcessDriver {
    let runner: TaskRunner
    let request: PredictRequest
    let inputs: InputPolicy

    func drive(_ load: BenchLoad, into samples: BenchSamples, progress: BenchProgress) async {
        let tickets = BenchLoad.Tickets(load)
        let quiet = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }
        await withDiscardingTaskGroup { group in
            for caller in 0..<load.concurrency {
                // Each caller runs on a slot's executor, as the queue worker runs its tasks.
                let home = runner.slots.all[caller % runner.slots.count].executor
                group.addTask(executorPreference: home) {
                    while tickets.take() {
                        let start = ContinuousClock.now
                        guard let slot = await runner.slots.acquire() else { return }
                        let outcome = try? await runner.run(
                            request, taskID: "bench", on: slot, inputs: inputs, waited: nil, logger: quiet)
                        runner.slots.release(slot)
                        let error: String? =
                            switch outcome {
                            case .none: "ERROR"
                            case .some(let result) where result.timedOut: "TIMEOUT"
                            case .some(let result) where result.response.status != .success: "FAILURE"
                            default: nil
                            }
                        samples.record(ContinuousClock.now - start, error: error)
                        progress.tick()
                    }
                }
            }
        }
    }
}

/// Drives `POST /predict` over keep-alive loopback connections, one blocking client thread per
/// caller (cheap, and never on Swift's cooperative pool).
struct HTTPDriver {
    let port: Int
    let body: [UInt8]

    func drive(_ load: BenchLoad, into samples: BenchSamples, progress: BenchProgress) async {
        let tickets = BenchLoad.Tickets(load)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<load.concurrency {
                group.addTask {
                    await withCheckedContinuation { continuation in
                        Thread {
                            clinux_name_this_thread("bench-caller")
                            Self.callerLoop(
                                port: port, body: body, tickets: tickets, samples: samples, progress: progress)
                            continuation.resume()
                        }.start()
                    }
                }
            }
        }
    }

    private static func callerLoop(
        port: Int, body: [UInt8], tickets: BenchLoad.Tickets, samples: BenchSamples, progress: BenchProgress
    ) {
        var connection: BlockingHTTPConnection?
        let request =
            Array(
                "POST /predict HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n"
                    .utf8) + body
        while tickets.take() {
            let start = ContinuousClock.now
            let status = exchange(request, on: &connection, port: port)
            samples.record(ContinuousClock.now - start, error: status == 200 ? nil : "HTTP \(status)")
            progress.tick()
        }
    }

    /// Sends `request` on the keep-alive `connection` (connecting, or connecting again once if the
    /// server closed it) and returns the response's status code, or 0 on a transport error.
    private static func exchange(_ request: [UInt8], on connection: inout BlockingHTTPConnection?, port: Int) -> Int {
        for _ in 0..<2 {
            if connection == nil { connection = try? BlockingHTTPConnection(.tcp(port: port)) }
            if let open = connection, (try? open.send(request)) != nil, let response = try? open.readResponse() {
                return response.status
            }
            connection = nil
        }
        return 0
    }
}

/// Queues every request in a fresh spool, then lets the worker answer them; latency is each
/// task's queue wait plus run time, from its response.
struct SpoolDriver {
    let layout: SpoolLayout
    let body: [UInt8]

    /// Submits `count` tasks and returns their ids.
    func submit(_ count: Int) throws -> [String] {
        let producer = try SpoolProducer(layout: layout)
        return try (0..<count).map { index in
            let id = "bench-\(index)"
            try producer.submit(body, id: id)
            return id
        }
    }

    /// Reads the answers of `ids` into `samples`; returns the span from the first start to the
    /// last finish.
    func collect(_ ids: [String], into samples: BenchSamples) -> Duration {
        let producer = try? SpoolProducer(layout: layout)
        var first = Date.distantFuture
        var last = Date.distantPast
        let parse = ISO8601DateFormatter()
        parse.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        for id in ids {
            guard let response = producer?.status(of: id), let timings = response.timings else {
                samples.record(.zero, error: "NO RESPONSE")
                continue
            }
            if let started = parse.date(from: timings.startedAt), let finished = parse.date(from: timings.finishedAt) {
                first = min(first, started)
                last = max(last, finished)
            }
            let latency = Duration.milliseconds((timings.queueMilliseconds ?? 0) + timings.runMilliseconds)
            samples.record(latency, error: response.status == .success ? nil : response.status.rawValue)
        }
        return last > first ? .milliseconds(last.timeIntervalSince(first) * 1000) : .zero
    }
}
