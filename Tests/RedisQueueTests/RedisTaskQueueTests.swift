import Foundation
import Logging
import Testing
import WorkerCore

@testable import RedisQueue

/// The queue against the real server, on a database of its own so no other test's worker
/// restores its deliveries.
@Suite(.enabled(if: testRedisAddress != nil, "set LAUNCH_WORKER_TEST_REDIS (scripts/test does)"))
struct RedisTaskQueueTests {
    /// A message as kombu's Redis transport writes it, for task `id` on `queue`.
    private func message(id: String, queue: String) -> String {
        let body = Data(#"[[{"args": {"x": 1}}, false], {}, {}]"#.utf8).base64EncodedString()
        return """
            {"body": "\(body)", "content-encoding": "utf-8", "content-type": "application/json",
             "headers": {"lang": "py", "task": "\(LaunchTaskNames.predict)", "id": "\(id)", "retries": 0},
             "properties": {"correlation_id": "\(id)", "delivery_mode": 2, "priority": 0,
                            "delivery_info": {"exchange": "", "routing_key": "\(queue)"},
                            "body_encoding": "base64", "delivery_tag": "tag-\(id)"}}
            """
    }

    /// A queue on a fresh queue name in `database`, a client for checking what it did, and
    /// `ids` queued in that order as kombu queues them.
    private func queue(
        database: Int, holding ids: [String]
    ) async throws -> (queue: RedisTaskQueue, client: RedisClient) {
        var address = try #require(testRedisAddress)
        address.database = database
        address.queue = "test-\(UUID().uuidString)"
        let endpoint = try RedisEndpoint(address)
        let client = RedisClient(endpoint: endpoint, connectTimeout: .seconds(30))
        // kombu LPUSHes, so the oldest message is on the right, where the worker pops.
        for id in ids {
            try await client.run(RedisCommand("LPUSH", address.queue, message(id: id, queue: address.queue)))
        }
        // A generous connect timeout: the suite runs beside many worker processes on 2 cores,
        // where a connection waited past the 5 s default (seen failing under load).
        var configuration = RedisTaskQueue.Configuration()
        configuration.connectTimeout = .seconds(30)
        return (RedisTaskQueue(endpoint: endpoint, configuration: configuration, logger: Logger(label: "test")), client)
    }

    @Test func claimsUpToTheFreeSlotsInOneCallEachRecordedAsUnacked() async throws {
        let (queue, client) = try await queue(database: 14, holding: ["a", "b", "c"])

        let first = try await queue.next(upTo: 2)
        #expect(first.map(\.id) == ["a", "b"])
        for id in ["a", "b"] {
            #expect(try await client.run(RedisCommand("HEXISTS", KombuLayout.unacked, "tag-\(id)")) == .integer(1))
            #expect(try await client.run(RedisCommand("ZSCORE", KombuLayout.unackedIndex, "tag-\(id)")).bytes != nil)
        }
        #expect(try await queue.next(upTo: 5).map(\.id) == ["c"])
        #expect(try await queue.next(upTo: 5).isEmpty)
        #expect(try await client.run(RedisCommand("HEXISTS", KombuLayout.unacked, "tag-c")) == .integer(1))

        try await client.run(RedisCommand("DEL", KombuLayout.unacked, KombuLayout.unackedIndex))
        client.close()
    }

    @Test func aResultGoesWithTheNextClaimAndScriptsComeBackAfterAFlush() async throws {
        let ids = ["a-\(UUID().uuidString)", "b-\(UUID().uuidString)"]
        let (queue, client) = try await queue(database: 13, holding: ids)
        let timings = TaskTimings(queuedAt: nil, startedAt: Date(), finishedAt: Date())

        // The server forgets every script: each call by digest is answered NOSCRIPT and sent again whole.
        try await client.run(RedisCommand("SCRIPT", "FLUSH"))
        let first = try #require(try await queue.next(upTo: 1).first)
        #expect(first.id == ids[0])
        try await client.run(RedisCommand("SCRIPT", "FLUSH"))
        let next = try await queue.finish(
            first, response: .success(result: "1"), timings: timings, disposition: .answered, thenClaimUpTo: 1)
        #expect(next.map(\.id) == [ids[1]])
        let stored = try #require(try await client.run(RedisCommand("GET", CeleryResult.key(taskID: ids[0]))).string)
        #expect(stored.contains(#""status": "SUCCESS""#))
        #expect(try await client.run(RedisCommand("HEXISTS", KombuLayout.unacked, "tag-\(ids[0])")) == .integer(0))
        #expect(try await client.run(RedisCommand("HEXISTS", KombuLayout.unacked, "tag-\(ids[1])")) == .integer(1))

        let none = try await queue.finish(
            next[0], response: .success(result: "2"), timings: timings, disposition: .answered, thenClaimUpTo: 1)
        #expect(none.isEmpty)
        #expect(try await client.run(RedisCommand("HEXISTS", KombuLayout.unacked, "tag-\(ids[1])")) == .integer(0))
        try await client.run(RedisCommand("DEL", CeleryResult.key(taskID: ids[0]), CeleryResult.key(taskID: ids[1])))
        client.close()
    }

    @Test func aResultTheServerRefusesGivesBackTheTaskClaimedWithIt() async throws {
        let ids = ["a-\(UUID().uuidString)", "b-\(UUID().uuidString)"]
        let (queue, client) = try await queue(database: 12, holding: ids)
        let first = try #require(try await queue.next(upTo: 1).first)
        // A result key of the wrong type makes the store script fail on the server.
        try await client.run(RedisCommand("HSET", CeleryResult.key(taskID: ids[0]), "not", "a string"))

        let timings = TaskTimings(queuedAt: nil, startedAt: Date(), finishedAt: Date())
        await #expect(throws: RedisClientError.self) {
            try await queue.finish(
                first, response: .success(result: "1"), timings: timings, disposition: .answered, thenClaimUpTo: 1)
        }
        // The message claimed in the same round trip is back on the queue, not left unacked.
        #expect(try await client.run(RedisCommand("HEXISTS", KombuLayout.unacked, "tag-\(ids[1])")) == .integer(0))
        #expect(try await queue.next(upTo: 1).map(\.id) == [ids[1]])
        try await client.run(
            RedisCommand("DEL", CeleryResult.key(taskID: ids[0]), KombuLayout.unacked, KombuLayout.unackedIndex))
        client.close()
    }

    @Test func aSlotConnectionLostMidRunStoresTheResultThroughTheReconnectingClient() async throws {
        let ids = ["a", "b", "c"].map { "\($0)-\(UUID().uuidString)" }
        let (queue, client) = try await queue(database: 11, holding: ids)
        let timings = TaskTimings(queuedAt: nil, startedAt: Date(), finishedAt: Date())
        let first = try #require(try await queue.next(upTo: 1).first)
        let second = try #require(
            try await queue.finish(
                first, response: .success(result: "1"), timings: timings, disposition: .answered, thenClaimUpTo: 1
            ).first)

        // The server drops every connection of this worker's (on this test's database).
        let own = try #require(try await client.run(RedisCommand("CLIENT", "ID")).integer)
        let list = try #require(try await client.run(RedisCommand("CLIENT", "LIST")).string)
        let workers = list.split(separator: "\n").filter { $0.contains(" db=11 ") && !$0.hasPrefix("id=\(own) ") }
        #expect(workers.count >= 2)  // the loop's connection and the slot's
        for line in workers {
            try await client.run(RedisCommand("CLIENT", "KILL", "ID", String(line.dropFirst(3).prefix { $0 != " " })))
        }

        // Storing on the dropped slot connection fails; the result is stored through the client
        // that reconnects, and this round claims nothing: the loop's own claim takes the next.
        let none = try await queue.finish(
            second, response: .success(result: "2"), timings: timings, disposition: .answered, thenClaimUpTo: 1)
        #expect(none.isEmpty)
        let third = try #require(try await queue.next(upTo: 1).first)
        #expect(third.id == ids[2])
        #expect(
            try await queue.finish(
                third, response: .success(result: "3"), timings: timings, disposition: .answered, thenClaimUpTo: 1
            ).isEmpty)
        for id in ids {
            let stored = try #require(try await client.run(RedisCommand("GET", CeleryResult.key(taskID: id))).string)
            #expect(stored.contains(#""status": "SUCCESS""#))
        }
        // Only this test's deliveries: the unacked hash is shared by every queue on the database.
        for id in ids {
            #expect(try await client.run(RedisCommand("HEXISTS", KombuLayout.unacked, "tag-\(id)")) == .integer(0))
        }
        try await client.run(RedisCommand(["DEL"] + ids.map { CeleryResult.key(taskID: $0) }))
        client.close()
    }

    @Test func reconcilingGivesBackOnlyClaimsThatNoSlotRunsAndNoOpenCallMayBringBack() async throws {
        let ids = ["running", "lost", "pending", "taken"].map { "\($0)-\(UUID().uuidString)" }
        let (queue, client) = try await queue(database: 9, holding: ids)
        let tags = ids.map { "tag-\($0)" }
        #expect(try await queue.next(upTo: 1).map(\.id) == [ids[0]])
        // Claims the server ran whose replies the worker never read: one lost, one still on its way.
        try await client.evaluate(queue.consumeCall(upTo: 1, at: String(Date().timeIntervalSince1970)))
        let pending = queue.openClaim()
        try await client.evaluate(queue.consumeCall(upTo: 1, at: pending))
        // Lost too, but restored since and claimed by another worker: its time is not this claim's.
        try await client.evaluate(queue.consumeCall(upTo: 1, at: "1000"))
        try await client.run(RedisCommand("ZADD", KombuLayout.unackedIndex, "2000", tags[3]))

        #expect(await queue.reconcileClaims())
        let back = try await client.run(RedisCommand("LRANGE", queue.address.queue, "0", "-1")).elements ?? []
        #expect(back.count == 1)
        #expect(back.first?.string?.contains(ids[1]) == true)
        #expect(back.first?.string?.contains("redelivered") == true)
        func recorded(_ tag: String) async throws -> [Int64?] {
            [
                try await client.run(RedisCommand("HEXISTS", KombuLayout.unacked, tag)).integer,
                try await client.run(RedisCommand("HEXISTS", queue.claims, tag)).integer,
            ]
        }
        #expect(try await recorded(tags[0]) == [1, 1])
        #expect(try await recorded(tags[1]) == [0, 0])
        #expect(try await recorded(tags[2]) == [1, 1])
        // The other worker's delivery is untouched, and no longer counted as this worker's.
        #expect(try await recorded(tags[3]) == [1, 0])

        // Once the open call is done without its reply, its delivery goes back too.
        queue.closeClaim(pending)
        #expect(await queue.reconcileClaims())
        #expect(try await client.run(RedisCommand("LLEN", queue.address.queue)) == .integer(2))
        #expect(try await recorded(tags[2]) == [0, 0])
        try await client.run(
            RedisCommand("DEL", KombuLayout.unacked, KombuLayout.unackedIndex, queue.claims, queue.address.queue))
        client.close()
    }
}
