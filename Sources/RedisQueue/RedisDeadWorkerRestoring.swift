import Foundation

/// Restoring at once what a worker process that died had claimed, rather than one visibility
/// timeout later (kombu's 1 h; llm-engine's 24 h): a process pool's supervisor knows the moment
/// one of its processes is gone, and which it was.
extension RedisTaskQueue {
    /// Puts back every delivery that worker process `pid` of this host recorded in its claims
    /// (``claimsKey(hostname:)``), each only while it is still exactly the delivery it claimed,
    /// and drops its claims.
    ///
    /// Call it only once the process is reaped: until then its pid cannot name another process.
    ///
    /// - Returns: how many deliveries went back to their queue.
    public func restoreDeliveries(ofDeadProcess pid: Int32) async throws -> Int {
        var cursor = "0"
        var keys: [String] = []
        repeat {
            let reply = try await commands.run(
                RedisCommand(
                    "SCAN", cursor, "MATCH", "\(Self.claimsPrefix(hostname: hostname, pid: pid))*", "COUNT", "1000"))
            let parts = reply.elements ?? []
            cursor = parts.first?.string ?? "0"
            keys += (parts.dropFirst().first?.elements ?? []).compactMap(\.string)
        } while cursor != "0"
        var restored = 0
        for key in keys {
            let fields = try await commands.run(RedisCommand("HGETALL", key)).elements ?? []
            for index in stride(from: 0, to: fields.count - 1, by: 2) {
                guard let tag = fields[index].string, let time = fields[index + 1].string else { continue }
                if try await restore(tag: tag, claimedAt: time, claimsKey: key) {
                    logger.notice(
                        "restored a task of a worker process that died",
                        metadata: ["delivery_tag": "\(tag)", "pid": "\(pid)"])
                    restored += 1
                }
            }
            try await commands.run(RedisCommand("DEL", key))
        }
        return restored
    }
}
