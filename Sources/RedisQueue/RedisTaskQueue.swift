import Foundation
import Logging
import Synchronization
import WorkerCore

/// A Celery queue on Redis, laid out as kombu's Redis transport lays it out
/// (docs/redis-protocol.md), as a ``TaskQueue`` for the serving loop and a `Service` that keeps
/// this worker's deliveries alive and restores those of dead workers.
///
/// At least once: a message is recorded in kombu's `unacked` bookkeeping in the same atomic step
/// that pops it, acked only after its result is stored, and restored to its queue when this
/// worker gives it back, stops, or dies (by any worker, once its visibility timeout passed). The
/// `Service` side, heartbeats and restores, is in RedisDeliveryKeeping.swift; storing results in
/// RedisAnswering.swift; what the worker does after a lost connection about deliveries it
/// claimed without hearing back in RedisClaimReconciling.swift.
public final class RedisTaskQueue: TaskQueue {
    /// How the queue behaves.
    public struct Configuration: Sendable {
        /// How long a delivery may go without a heartbeat before any worker restores it
        /// (kombu's `visibility_timeout`; llm-engine's async endpoints use 24 h on DB 3).
        public var visibilityTimeout: Duration = .seconds(3600)
        /// How long results are kept (Celery's `result_expires`, 1 day); 0 keeps them forever.
        public var resultExpires = 86_400
        /// Whether a STARTED state is stored when a task starts (Celery's `track_started`).
        public var trackStarted = false
        /// The task names this worker runs.
        public var taskNames = LaunchTaskNames.all
        /// How long one blocking wait for the plain list lasts; messages that arrive only on the
        /// priority lists of an idle queue wait at most this long.
        public var idleWait: Duration = .milliseconds(250)
        /// How long storing a result keeps retrying through a lost connection before the task
        /// is given back.
        public var storeRetryTimeout: Duration = .seconds(120)
        /// How long a connection may take to open and answer its first call.
        public var connectTimeout: Duration = .seconds(5)

        /// The defaults: kombu's 1 h visibility timeout, Celery's 1 day result expiry.
        public init() {}
    }

    /// A message this worker holds.
    struct Delivery: Sendable {
        var tag: String?
    }

    /// The broker and queue.
    public var address: RedisAddress { endpoint.address }
    private let endpoint: RedisEndpoint
    let configuration: Configuration
    let logger: Logger
    let commands: RedisClient
    let blocking: RedisClient
    /// The slots' own connections, for storing a result and claiming the next task from the
    /// slot's thread (plain TCP; nil over TLS, where ``commands`` does it).
    let slotCommands: SyncRedisClient?
    /// This worker's claims (ours): a hash of the delivery tags it claimed and not yet acked or
    /// gave back, each with its time in `unacked_index`.
    let claims: String
    /// The consume script's keys: kombu's bookkeeping, this worker's claims, then the queue's
    /// lists by priority.
    private let consumeKeys: [String]
    let inFlight = Mutex<[String: [Delivery]]>([:])
    /// The claim calls sent whose replies are not yet accepted.
    let openClaims = Mutex(OpenClaims())
    /// Whether a call failed for want of a connection since the claims were last reconciled.
    let claimsNeedReconciling = Atomic(false)
    /// Connection failures since the last call that worked (read by every slot after every task).
    private let connectionFailures = Atomic(0)
    let hostname = ProcessInfo.processInfo.hostName

    /// A queue on `endpoint`; nothing connects until the first call. Logs a warning when the
    /// broker's certificate is not fully checked (`ssl_cert_reqs=none` or `optional`).
    public init(endpoint: RedisEndpoint, configuration: Configuration, logger: Logger) {
        self.endpoint = endpoint
        self.configuration = configuration
        self.logger = logger
        commands = RedisClient(endpoint: endpoint, connectTimeout: configuration.connectTimeout)
        blocking = RedisClient(endpoint: endpoint, connectTimeout: configuration.connectTimeout)
        slotCommands =
            endpoint.address.tls == nil
            ? SyncRedisClient(address: endpoint.address, connectTimeout: configuration.connectTimeout) : nil
        claims = Self.claimsKey(hostname: hostname)
        consumeKeys =
            [KombuLayout.unackedIndex, KombuLayout.unacked, claims] + KombuLayout.lists(of: endpoint.address.queue)
        switch endpoint.address.tls?.verification {
        case .none?:
            logger.warning(
                """
                ssl_cert_reqs=none: the Redis broker's certificate is not verified; anyone between this worker \
                and the broker can read and change tasks and results
                """, metadata: ["broker": "\(address)"])
        case .optional?:
            logger.warning(
                """
                ssl_cert_reqs=optional or ssl_check_hostname=false: the Redis broker's certificate is verified \
                but not its host name; a server with any certificate from a trusted CA can pose as the broker
                """, metadata: ["broker": "\(address)"])
        case .required?, nil: break
        }
    }

    /// Checks that the broker answers (and the password is right), so `serve` fails at once
    /// on a wrong address.
    public func checkConnection() async throws(RedisClientError) {
        try await commands.run(RedisCommand("PING"))
    }

    // MARK: TaskQueue

    public func next() async throws -> QueuedTask? {
        try await next(upTo: 1).first
    }

    /// Claims up to `limit` runnable tasks in as few script calls as it can (one when enough
    /// wait); malformed, expired and already-answered messages are answered and skipped.
    public func next(upTo limit: Int) async throws -> [QueuedTask] {
        var tasks: [QueuedTask] = []
        var calls = 0
        while tasks.count < limit, calls < 64 {
            calls += 1
            let claimedAt = openClaim()
            let reply: RESPValue
            do {
                reply = try await commands.evaluate(consumeCall(upTo: limit - tasks.count, at: claimedAt))
                connectionRestored()
            } catch {
                // Done before the failure is counted, so the reconciling it starts sees this call done.
                closeClaim(claimedAt)
                connectionFailed(error)
                return tasks
            }
            let claimed = await accept(reply)
            closeClaim(claimedAt)
            guard let claimed else { return tasks }
            tasks += claimed
        }
        return tasks
    }

    /// The consume script's call for up to `limit` messages, delivered at `time` (Unix seconds;
    /// ``openClaim()``'s).
    func consumeCall(upTo limit: Int, at time: String) -> RedisScriptCall {
        RedisScripts.consume.call(
            keys: consumeKeys,
            arguments: [
                Array(time.utf8), Array(String(limit).utf8), Array(String(claimsLifetimeMilliseconds).utf8),
            ])
    }

    /// The runnable tasks among the messages of a consume script's reply, nil when it had none.
    private func accept(_ reply: RESPValue) async -> [QueuedTask]? {
        guard let parts = reply.elements, !parts.isEmpty else { return nil }
        var tasks: [QueuedTask] = []
        for index in stride(from: 0, to: parts.count - 1, by: 2) {
            guard let raw = parts[index].bytes else { continue }
            if let task = await accept(raw, tag: parts[index + 1].string) { tasks.append(task) }
        }
        return tasks
    }

    /// A claimed message as a task to run, or nil once a message that must not run has been
    /// answered (malformed: FAILURE; expired: REVOKED) or acked (no task to answer, or a
    /// redelivery of a task that already succeeded).
    private func accept(_ raw: [UInt8], tag: String?) async -> QueuedTask? {
        switch CeleryMessage.decode(raw, names: configuration.taskNames, now: Date()) {
        case .run(let task):
            if task.redelivered, await hasSucceeded(task.id) {
                logger(delivery: tag, task: task.id).notice(
                    "a redelivered task already has a SUCCESS: acking it without running it again")
                await ack(tag: tag)
                return nil
            }
            inFlight.withLock { $0[task.id, default: []].append(Delivery(tag: tag)) }
            if configuration.trackStarted {
                let started = CeleryResult.started(
                    taskID: task.id, pid: getpid(), hostname: "launch-worker@\(hostname)")
                try? await store(started, tag: nil)
            }
            return QueuedTask(
                id: task.id, body: task.request, attempt: task.redelivered ? 2 : 1, queuedAt: task.arrivedAt)
        case .reject(let id, let exception):
            logger(delivery: tag, task: id).warning(
                "rejected a malformed task", metadata: ["reason": "\(exception.type): \(exception.message)"])
            try? await store(.failure(taskID: id, exception, at: Date()), tag: tag ?? "")
        case .expired(let id, let expires):
            logger(delivery: tag, task: id).notice(
                "revoked a task whose expiry passed", metadata: ["expires": "\(expires)"])
            try? await store(.expired(taskID: id, at: Date()), tag: tag ?? "")
        case .unanswerable(let reason):
            logger(delivery: tag, task: nil).error(
                "dropped a message that names no task to answer", metadata: ["reason": "\(reason)"])
            await ack(tag: tag)
        }
        return nil
    }

    /// The logger with a message's delivery tag and task id; made only where something is logged,
    /// as setting metadata for every message cost more than decoding it.
    private func logger(delivery tag: String?, task id: String?) -> Logger {
        var log = id.map(logger.forTask) ?? logger
        log[metadataKey: "delivery_tag"] = "\(tag ?? "none")"
        return log
    }

    /// Waits until the plain list has a message (a blocking `BLMOVE` of the list onto itself,
    /// which moves nothing) or a short while passed; after a lost connection, waits 50 ms
    /// doubling to 2 s.
    public func waitForTasks() async throws {
        let failures = connectionFailures.load(ordering: .relaxed)
        if failures > 0 {
            try await Task.sleep(for: .milliseconds(min(2000, 50 << min(failures - 1, 6))))
            return
        }
        do {
            try await blocking.run(
                RedisCommand(
                    "BLMOVE", address.queue, address.queue, "RIGHT", "RIGHT", String(configuration.idleWait.seconds)))
        } catch {
            connectionFailed(error)
        }
    }

    public func finish(
        _ task: QueuedTask, response: TaskResponse, timings: TaskTimings, disposition: TaskDisposition
    ) async throws {
        try await store(result(of: task, response, timings, disposition), tag: delivery(of: task) ?? "")
        _ = takeDelivery(task.id)
    }

    /// Stores the result and claims the next tasks in one round trip (the two script calls
    /// pipelined), from the calling thread (a slot's), which waits for the reply (plain TCP); after a
    /// lost connection, stores as ``finish(_:response:timings:disposition:)`` does and claims none.
    public func finish(
        _ task: QueuedTask, response: TaskResponse, timings: TaskTimings, disposition: TaskDisposition,
        thenClaimUpTo limit: Int
    ) async throws -> [QueuedTask] {
        let result = result(of: task, response, timings, disposition)
        let tag = delivery(of: task) ?? ""
        guard limit > 0 else {
            try await store(result, tag: tag)
            _ = takeDelivery(task.id)
            return []
        }
        let claimedAt = openClaim()
        let replies: [RESPValue]
        do {
            replies = try await storeAndClaim([storeCall(result, tag: tag), consumeCall(upTo: limit, at: claimedAt)])
            connectionRestored()
        } catch {
            // Done before the failure is counted, so the reconciling it starts sees this call done.
            closeClaim(claimedAt)
            connectionFailed(error)
            try await store(result, tag: tag)
            _ = takeDelivery(task.id)
            return []
        }
        let claimed = await accept(replies[1]) ?? []
        closeClaim(claimedAt)
        if let message = replies[0].errorMessage {
            // The task goes back to the loop to give back; so do the ones claimed with it.
            for next in claimed { try? await release(next) }
            throw RedisClientError.server("storing the result: \(message)")
        }
        _ = takeDelivery(task.id)
        return claimed
    }

    /// Runs the store and claim calls on the slot's own connection, blocking its thread for the
    /// round trip, or through NIO over TLS and while the connection is being restored (where
    /// ``commands`` waits between attempts).
    private func storeAndClaim(_ calls: [RedisScriptCall]) async throws(RedisClientError) -> [RESPValue] {
        if let slotCommands, connectionFailures.load(ordering: .relaxed) == 0 {
            return try slotCommands.evaluate(calls)
        }
        return try await commands.evaluate(calls)
    }

    /// The delivery tag of the task's (oldest) delivery to this worker.
    private func delivery(of task: QueuedTask) -> String? {
        inFlight.withLock { $0[task.id]?.first?.tag }
    }

    /// Gives the task back to its queue. When Redis cannot be reached, the delivery stays in
    /// this worker's claims, and is given back once it can (RedisClaimReconciling.swift).
    public func release(_ task: QueuedTask) async throws {
        guard let delivery = takeDelivery(task.id), let tag = delivery.tag else { return }
        do {
            try await restore(tag: tag)
        } catch let error as RedisClientError where error.isConnectionError {
            connectionFailed(error)
            throw error
        }
    }

    // MARK: Redis operations

    private func takeDelivery(_ id: String) -> Delivery? {
        inFlight.withLock { deliveries in
            guard var list = deliveries[id], !list.isEmpty else { return nil }
            let first = list.removeFirst()
            deliveries[id] = list.isEmpty ? nil : list
            return first
        }
    }

    /// Counts a failed call, and has the claims reconciled once Redis answers again: a claim
    /// whose reply the failure lost is recorded there only.
    func connectionFailed(_ error: any Error) {
        openClaims.withLock { $0.markOpen() }
        claimsNeedReconciling.store(true, ordering: .relaxed)
        let attempt = connectionFailures.add(1, ordering: .relaxed).newValue
        if case .tls? = error as? RedisClientError {
            // A TLS failure will not mend by itself: say why on every attempt (at most every 2 s).
            logger.error(
                "TLS with the Redis broker failed; retrying",
                metadata: ["broker": "\(address)", "error": "\(error)", "attempt": "\(attempt)"])
        } else if attempt == 1 {
            logger.warning(
                "lost the Redis connection; reconnecting", metadata: ["broker": "\(address)", "error": "\(error)"])
        }
    }

    func connectionRestored() {
        guard connectionFailures.load(ordering: .relaxed) > 0 else { return }
        if connectionFailures.exchange(0, ordering: .relaxed) > 0 {
            logger.notice("reconnected to Redis", metadata: ["broker": "\(address)"])
        }
    }
}
