import BatchJobs
import RedisQueue
import WorkerCore

/// A batch's tasks on a Celery queue on Redis (`batch --queue redis://...`), as llm-engine's
/// gateway sends them, served by `serve --queue redis://...` workers (or Python Celery workers)
/// on any machines; results are read from Celery's result backend on the same server.
struct RedisBatchQueue: BatchQueue {
    let client: RedisClient
    let queue: String

    func submit(_ request: PredictRequest, id: String) async throws(BatchQueueError) {
        let envelope = CeleryProducing.envelope(
            taskID: id, request: request.body, returnPickled: request.returnPickled, queue: queue)
        do {
            _ = try await client.run(RedisCommand(bytes: [Array("LPUSH".utf8), Array(queue.utf8), envelope]))
        } catch {
            throw BatchQueueError("cannot queue task \(id): \(error)")
        }
    }

    func responses(_ ids: [String]) async throws(BatchQueueError) -> [String: TaskResponse] {
        guard !ids.isEmpty else { return [:] }
        let reply: RESPValue
        do {
            reply = try await client.run(RedisCommand(["MGET"] + ids.map { CeleryResult.key(taskID: $0) }))
        } catch {
            throw BatchQueueError("cannot read the results: \(error)")
        }
        var answered: [String: TaskResponse] = [:]
        for (id, value) in zip(ids, reply.elements ?? []) {
            if let stored = value.bytes, let response = CeleryProducing.response(stored: stored) {
                answered[id] = response
            }
        }
        return answered
    }
}
