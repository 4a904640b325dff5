import Foundation
import ServiceLifecycle

/// The queue as a `Service`: it keeps this worker's deliveries alive while their tasks run,
/// restores deliveries whose worker died or stopped, as kombu does, and, after a lost connection,
/// those this worker claimed but does not run (RedisClaimReconciling.swift).
extension RedisTaskQueue: Service {
    /// Sends heartbeats for this worker's deliveries, restores expired ones of any worker, and
    /// reconciles this worker's claims after a lost connection, until graceful shutdown reaches it
    /// (after the loop drained); then restores what this worker still holds.
    public func run() async throws {
        let tick = min(configuration.visibilityTimeout / 4, .seconds(1))
        let sweepEvery = max(1, Int(min(configuration.visibilityTimeout / 2, .seconds(10)) / tick))
        await cancelWhenGracefulShutdown { [self] in
            var count = 0
            while !Task.isCancelled {
                if count % sweepEvery == 0 { await sweep() }
                count += 1
                try? await Task.sleep(for: tick)
                await heartbeat()
                if claimsNeedReconciling.exchange(false, ordering: .relaxed), await !reconcileClaims() {
                    claimsNeedReconciling.store(true, ordering: .relaxed)
                }
            }
        }
        for tag in inFlight.withLock({ $0.values.flatMap { $0.compactMap(\.tag) } }) {
            logger.notice("restoring an unfinished task at shutdown", metadata: ["delivery_tag": "\(tag)"])
            _ = try? await restore(tag: tag)
        }
        // Anything else still claimed (a lost reply not yet reconciled) goes back too.
        _ = await reconcileClaims()
        commands.close()
        blocking.close()
        slotCommands?.close()
    }

    /// Moves this worker's deliveries to now in `unacked_index` (and its claims), so no restorer
    /// takes a task that is still running, however long it runs.
    private func heartbeat() async {
        let tags = inFlight.withLock { $0.values.flatMap { $0.compactMap(\.tag) } }
        guard !tags.isEmpty else { return }
        let now = String(Date().timeIntervalSince1970)
        _ = try? await commands.evaluate(
            RedisScripts.heartbeat.call(
                keys: [KombuLayout.unackedIndex, claims],
                arguments: [Array(now.utf8), Array(String(claimsLifetimeMilliseconds).utf8)]
                    + tags.map { Array($0.utf8) }))
    }

    /// Restores deliveries older than the visibility timeout (any worker's, Python or Swift),
    /// under kombu's `unacked_mutex`.
    private func sweep() async {
        let token = UUID().uuidString
        do {
            let locked = try await commands.run(
                RedisCommand(
                    "SET", KombuLayout.unackedMutex, token, "NX", "PX",
                    String(mutexExpireMilliseconds)))
            guard locked.string == "OK" else { return }
            defer {
                Task { [commands] in
                    _ = try? await commands.evaluate(
                        RedisScripts.unlock.call(keys: [KombuLayout.unackedMutex], arguments: [Array(token.utf8)]))
                }
            }
            let ceiling = Date().timeIntervalSince1970 - configuration.visibilityTimeout.seconds
            let mine = Set(inFlight.withLock { $0.values.flatMap { $0.compactMap(\.tag) } })
            let expired = try await commands.run(
                RedisCommand(
                    "ZRANGEBYSCORE", KombuLayout.unackedIndex, "-inf", String(ceiling), "LIMIT", "0", "1000"))
            for tag in (expired.elements ?? []).compactMap(\.string) where !mine.contains(tag) {
                logger.notice("restoring a task past its visibility timeout", metadata: ["delivery_tag": "\(tag)"])
                try await restore(tag: tag)
            }
        } catch {
            logger.debug("visibility sweep skipped", metadata: ["error": "\(error)"])
        }
    }

    /// How long the mutex outlives a restorer that died holding it: kombu's 300 s, or the
    /// visibility timeout (at least 1 s) when that is shorter, so a short timeout is not
    /// defeated by a dead worker's lock.
    private var mutexExpireMilliseconds: Int {
        let visibility = Int(configuration.visibilityTimeout.seconds * 1000)
        return min(KombuLayout.unackedMutexExpireMilliseconds, max(1000, visibility))
    }

    /// Puts an unacked message back on its queue, marked redelivered, as kombu's
    /// `restore_by_tag` does. With `claimedAt` (a time from this worker's claims, or from
    /// `claimsKey`'s, a dead worker's), only while it is still the delivery claimed
    /// (``RedisScripts/restoreClaimed``).
    ///
    /// - Returns: whether it was put back.
    @discardableResult
    func restore(tag: String, claimedAt: String? = nil, claimsKey: String? = nil) async throws -> Bool {
        let claims = claimsKey ?? self.claims
        guard let entry = try await commands.run(RedisCommand("HGET", KombuLayout.unacked, tag)).bytes else {
            if let claimedAt {
                try await commands.evaluate(
                    RedisScripts.restoreClaimed.call(
                        keys: [claims, KombuLayout.unacked, KombuLayout.unackedIndex],
                        arguments: [Array(tag.utf8), Array(claimedAt.utf8), [], []]))
            } else {
                try await commands.run(RedisCommand("ZREM", KombuLayout.unackedIndex, tag))
            }
            return false
        }
        guard let restoration = KombuLayout.restoration(ofEntry: entry) else {
            logger.error(
                "dropping an unacked entry that is not [envelope, exchange, routing_key]",
                metadata: ["delivery_tag": "\(tag)"])
            await ack(tag: tag)
            return false
        }
        var queues: [String] = []
        if !restoration.exchange.isEmpty {
            let members = try await commands.run(
                RedisCommand("SMEMBERS", KombuLayout.bindings(of: restoration.exchange)))
            queues = KombuLayout.queues(
                bindings: (members.elements ?? []).compactMap(\.string), routingKey: restoration.routingKey)
        }
        if queues.isEmpty { queues = [restoration.routingKey.isEmpty ? address.queue : restoration.routingKey] }
        let lists = queues.map { KombuLayout.list(queue: $0, priority: restoration.priority) }
        let call =
            if let claimedAt {
                RedisScripts.restoreClaimed.call(
                    keys: [claims, KombuLayout.unacked, KombuLayout.unackedIndex] + lists,
                    arguments: [Array(tag.utf8), Array(claimedAt.utf8), entry, restoration.payload])
            } else {
                RedisScripts.restore.call(
                    keys: [KombuLayout.unacked, KombuLayout.unackedIndex, claims] + lists,
                    arguments: [Array(tag.utf8), entry, restoration.payload])
            }
        return try await commands.evaluate(call).integer == 1
    }
}
