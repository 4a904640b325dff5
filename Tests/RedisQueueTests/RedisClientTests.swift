import Foundation
import Testing

@testable import RedisQueue

/// The real `redis-server` that scripts/test starts: its plain port (`LAUNCH_WORKER_TEST_REDIS`),
/// if any.
let testRedisAddress = ProcessInfo.processInfo.environment["LAUNCH_WORKER_TEST_REDIS"].flatMap {
    try? RedisAddress(url: $0)
}

/// The same server plain and over TLS (``testTLS``), whichever scripts/test gave.
let testRedisEndpoints: [RedisEndpoint] = [
    testRedisAddress.flatMap { try? RedisEndpoint($0) }, try? testTLS?.endpoint(),
].compactMap { $0 }

/// Under CI=true (as CI runs) the suites that need scripts/test's redis-server fail without it,
/// here, rather than all skip.
@Test(.enabled(if: ProcessInfo.processInfo.environment["CI"] == "true"))
func ciGivesTheTestsARedisServer() {
    #expect(testRedisAddress != nil, "CI=true: set LAUNCH_WORKER_TEST_REDIS to a redis:// URL (scripts/test does)")
    #expect(
        testTLS != nil,
        "CI=true: set LAUNCH_WORKER_TEST_REDISS and LAUNCH_WORKER_TEST_TLS_DIR (scripts/test does)")
}

/// The client against a real server, plain and over TLS; skipped without one.
@Suite(.enabled(if: !testRedisEndpoints.isEmpty, "set LAUNCH_WORKER_TEST_REDIS (scripts/test does)"))
struct RedisClientTests {
    @Test(arguments: testRedisEndpoints)
    func pipelinedCommandsGetTheirOwnReplies(endpoint: RedisEndpoint) async throws {
        let client = RedisClient(endpoint: endpoint, connectTimeout: .seconds(30))
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

    @Test(arguments: testRedisEndpoints)
    func reconnectsAfterTheServerDropsTheConnection(endpoint: RedisEndpoint) async throws {
        let client = RedisClient(endpoint: endpoint, connectTimeout: .seconds(30))
        let name = "launch-worker-test-\(UUID().uuidString)"
        try await client.run(RedisCommand("CLIENT", "SETNAME", name))
        let killer = RedisClient(endpoint: endpoint, connectTimeout: .seconds(30))
        let id = try await client.run(RedisCommand("CLIENT", "ID")).integer
        try await killer.run(RedisCommand("CLIENT", "KILL", "ID", String(try #require(id))))
        // The call in flight when the connection died may fail; the next one reconnects.
        var reply: RESPValue?
        var failures: [RedisClientError] = []
        for _ in 0..<50 where reply == nil {
            do {
                reply = try await client.run(RedisCommand("PING"))
            } catch {
                failures.append(error)
            }
        }
        #expect(reply == .simpleString("PONG"))
        // A dropped connection is a lost connection, even over TLS: no TLS failure to explain.
        // (A reconnect that a loaded machine keeps waiting past the connect timeout is also a
        // lost connection, whose message hints at TLS: the case is what counts, not the words.)
        #expect(
            failures.allSatisfy {
                guard case .connection = $0 else { return false }
                return true
            }, "\(failures)")
        #expect(try await client.run(RedisCommand("CLIENT", "ID")).integer != id)
    }
}
