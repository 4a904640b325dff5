import Foundation
import Synchronization

/// The claim calls sent whose replies are not yet accepted, by the delivery time each records its
/// deliveries under, so that reconciling leaves alone the deliveries of a reply still on its way.
///
/// A call that fails is done before its failure is counted (which starts reconciling). A failure
/// counted while other calls are open (an ack that could not be sent while a reply's messages
/// were being accepted, say) marks them, and reconciling runs again once they are done, as what
/// it skipped for them may be left over.
struct OpenClaims: Sendable {
    private var calls: [String: Int] = [:]
    private var marked: Set<String> = []

    /// Counts a claim call about to be sent with delivery time `time`.
    mutating func open(_ time: String) {
        calls[time, default: 0] += 1
    }

    /// Counts a claim call done: its reply accepted (its tasks now in flight), or lost.
    ///
    /// - Returns: whether a failure was counted while it was open (reconcile again).
    mutating func close(_ time: String) -> Bool {
        guard let count = calls[time] else { return false }
        calls[time] = count > 1 ? count - 1 : nil
        return marked.remove(time) != nil
    }

    /// Marks every open call: a failure was counted while it was open.
    mutating func markOpen() {
        marked.formUnion(calls.keys)
    }

    /// Whether a call with delivery time `time` may still bring back a reply.
    func contains(_ time: String) -> Bool {
        calls[time] != nil
    }
}

/// What a worker does about deliveries Redis records as its own but no slot of it runs: a claim
/// whose reply a lost connection took (the server ran the script; the worker never heard), or a
/// give-back or ack that could not reach the server. Without this they would wait in `unacked`
/// for the whole visibility timeout (kombu's 1 h; llm-engine's 24 h).
///
/// Every claim is recorded, in the consume script's atomic step, in a hash of this worker's own
/// (ours; kombu does not read it): delivery tag → the delivery's time in `unacked_index`. Acks and
/// restores drop the tag; heartbeats move its time with `unacked_index`'s; the key expires one
/// visibility timeout after the worker's last claim or heartbeat, when every delivery it recorded
/// is restorable by anyone anyway.
extension RedisTaskQueue {
    /// The name of a worker's claims hash: unique to this process (host, pid, a random part).
    static func claimsKey(hostname: String) -> String {
        claimsPrefix(hostname: hostname, pid: getpid()) + UUID().uuidString.prefix(8).lowercased()
    }

    /// The start of the claims keys of process `pid` on `hostname`.
    static func claimsPrefix(hostname: String, pid: Int32) -> String {
        "_launch_worker.claims.\(hostname).\(pid)."
    }

    /// How long the claims key lives after the last claim or heartbeat: the visibility timeout
    /// (at least 1 s), after which what it names is restored by any worker's sweep.
    var claimsLifetimeMilliseconds: Int {
        max(1000, Int(configuration.visibilityTimeout.seconds * 1000))
    }

    /// Counts a claim call as open and returns the delivery time it records.
    func openClaim() -> String {
        let time = String(Date().timeIntervalSince1970)
        openClaims.withLock { $0.open(time) }
        return time
    }

    /// Counts the claim call made at `time` as done (after its reply's tasks are in flight).
    func closeClaim(_ time: String) {
        if openClaims.withLock({ $0.close(time) }) { claimsNeedReconciling.store(true, ordering: .relaxed) }
    }

    /// Gives back, at once, every delivery in this worker's claims that no slot runs and no claim
    /// call still open may bring back, each only while it is still exactly the delivery claimed
    /// (``RedisScripts/restoreClaimed``), so a delivery some other worker took since is never
    /// touched.
    ///
    /// - Returns: false when Redis could not be reached (to try again).
    func reconcileClaims() async -> Bool {
        let fields: [RESPValue]
        do {
            fields = try await commands.run(RedisCommand("HGETALL", claims)).elements ?? []
        } catch {
            return false
        }
        // In this order: a call that recorded a delivery read above either is still open, or has
        // put its tasks in flight by now.
        let recorded = stride(from: 0, to: fields.count - 1, by: 2).compactMap { index -> (String, String)? in
            guard let tag = fields[index].string, let time = fields[index + 1].string else { return nil }
            return (tag, time)
        }
        let settled = openClaims.withLock { open in recorded.filter { !open.contains($0.1) } }
        let running = Set(inFlight.withLock { $0.values.flatMap { $0.compactMap(\.tag) } })
        for (tag, time) in settled where !running.contains(tag) {
            do {
                if try await restore(tag: tag, claimedAt: time) {
                    logger.notice(
                        "restored a task this worker claimed but does not run (its reply, give-back or ack was lost)",
                        metadata: ["delivery_tag": "\(tag)"])
                }
            } catch {
                return false
            }
        }
        return true
    }
}
