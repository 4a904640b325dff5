import Foundation
import WorkerCore

/// Storing a task's Celery state and acking its delivery.
extension RedisTaskQueue {
    /// The Celery state a finished task leaves: its response, or a FAILURE for a bad request.
    func result(
        of task: QueuedTask, _ response: TaskResponse, _ timings: TaskTimings, _ disposition: TaskDisposition
    ) -> CeleryResult {
        guard disposition == .answered else {
            let exception = CeleryException(
                type: "ValueError", module: "builtins", message: response.traceback ?? "bad request")
            return .failure(taskID: task.id, exception, at: timings.finishedAt)
        }
        return CeleryResult(taskID: task.id, response: response, finishedAt: timings.finishedAt)
    }

    /// Stores `result` (never over a SUCCESS) and acks `tag` ('' for none), retrying through a
    /// lost connection for up to the configured time.
    func store(_ result: CeleryResult, tag: String?) async throws {
        let call = storeCall(result, tag: tag ?? "")
        let deadline = ContinuousClock.now + configuration.storeRetryTimeout
        var attempt = 0
        while true {
            let failure: RedisClientError
            do {
                try await commands.evaluate(call)
                connectionRestored()
                return
            } catch {
                failure = error
            }
            guard failure.isConnectionError, ContinuousClock.now < deadline else { throw failure }
            connectionFailed(failure)
            attempt += 1
            try await Task.sleep(for: .milliseconds(min(2000, 50 << min(attempt - 1, 6))))
        }
    }

    /// The store script's call for one result.
    func storeCall(_ result: CeleryResult, tag: String) -> RedisScriptCall {
        RedisScripts.storeAndAck.call(
            keys: [KombuLayout.unackedIndex, KombuLayout.unacked, CeleryResult.key(taskID: result.taskID), claims],
            arguments: [Array(String(configuration.resultExpires).utf8), result.json(), Array(tag.utf8)])
    }

    /// Acks a delivery without storing anything (a message that names no task to answer, or a
    /// redelivery of a task that already succeeded).
    func ack(tag: String?) async {
        guard let tag else { return }
        do {
            _ = try await commands.send([
                RedisCommand("ZREM", KombuLayout.unackedIndex, tag), RedisCommand("HDEL", KombuLayout.unacked, tag),
                RedisCommand("HDEL", claims, tag),
            ])
        } catch {
            // The delivery stays claimed: reconciling gives it back once Redis answers again.
            if error.isConnectionError { connectionFailed(error) }
        }
    }

    /// Whether the task's stored state is SUCCESS.
    func hasSucceeded(_ id: String) async -> Bool {
        guard let stored = try? await commands.run(RedisCommand("GET", CeleryResult.key(taskID: id))).bytes,
            let meta = try? JSONValue.parse(stored) as? [String: Any]
        else { return false }
        return meta["status"] as? String == "SUCCESS"
    }
}
