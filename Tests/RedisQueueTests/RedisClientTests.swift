import Foundation
import Testing

@testable import RedisQueue

/// The real `redis-server` that scripts/test starts (`LAUNCH_WORKER_TEST_REDIS`), if any.
let testRedisAddress = ProcessInfo.processInfo.environment["LAUNCH_WORKER_TEST_REDIS"].flatMap {
    try? RedisAddress(url: $0)
}

/// The client against a real server; skipped without one.
@Suite(.enabled(if: testRedisAddress != nil, "set LAUNCH_WORKER_TEST_REDIS (scripts/test does)"))
struct RedisClientTests {
    @Test func pipelinedCommandsGetTheirOwnReplies() async throws {
        let client = RedisClient(address: try #require(testRedisAddress))
        let key = "launch-worker-test-\(UUID().uuidString)"
        let replies = try await client.send(
            [RedisCommand("DEL", key), RedisCommand("RPUSH", key, "a", "b")]
                + (0..<200).map { _ in RedisCommand("LLEN", key) } + [
                    RedisCommand("LRANGE", key, "0", "-1"), RedisCommand("NOSUCH"),
                ])
        #expect(replies.count == 204)
        #expect(replies[1] == .integer(2))
        #expect(replies[2...201].allSatisfy { $0 == .integer(2) })
        #expect(replies[202] == .array([.bulkString(Array("a".utf8)), .bulkString(Array("b".utf8))]))
        #expect(replies[203].errorMessage?.hasPrefix("ERR") == true)
        await #expect(throws: RedisClientError.self) { try await client.run(RedisCommand("NOSUCH")) }
        try await client.run(RedisCommand("DEL", key))
    }

    @Test func reconnectsAfterTheServerDropsTheConnection() async throws {
        let client = RedisClient(address: try #require(testRedisAddress))
        let name = "launch-worker-test-\(UUID().uuidString)"
        try await client.run(RedisCommand("CLIENT", "SETNAME", name))
        let killer = RedisClient(address: try #require(testRedisAddress))
        let id = try await client.run(RedisCommand("CLIENT", "ID")).integer
        try await killer.run(RedisCommand("CLIENT", "KILL", "ID", String(try #require(id))))
        // The call in flight when the connection died may fail; the next one reconnects.
        var reply: RESPValue?
        for _ in 0..<50 where reply == nil {
            reply = try? await client.run(RedisCommand("PING"))
        }
        #expect(reply == .simpleString("PONG"))
    }
}
