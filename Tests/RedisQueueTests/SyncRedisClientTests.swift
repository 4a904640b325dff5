import Foundation
import Glibc
import Testing

@testable import RedisQueue

/// The blocking client against the real server's plain port; skipped without one.
@Suite(.enabled(if: testRedisAddress != nil, "set LAUNCH_WORKER_TEST_REDIS (scripts/test does)"))
struct SyncRedisClientTests {
    private let address = testRedisAddress!

    @Test func pipelinedCommandsGetTheirOwnRepliesOnOneKeptConnection() throws {
        let client = SyncRedisClient(address: address)
        let key = "launch-worker-test-\(UUID().uuidString)"
        // Larger than the connection's first buffer, so the reply arrives over several reads.
        let big = [UInt8]((0..<300_000).map { UInt8(truncatingIfNeeded: $0 * 7) })
        let replies = try client.send(
            [RedisCommand(bytes: [Array("SET".utf8), Array(key.utf8), big]), RedisCommand("CLIENT", "ID")]
                + (0..<200).map { _ in RedisCommand("STRLEN", key) } + [
                    RedisCommand("GET", key), RedisCommand("NOSUCH"), RedisCommand("CLIENT", "GETNAME"),
                ])
        #expect(replies.count == 205)
        #expect(replies[0] == .simpleString("OK"))
        #expect(replies[2...201].allSatisfy { $0 == .integer(300_000) })
        #expect(replies[202] == .bulkString(big))
        #expect(replies[203].errorMessage?.hasPrefix("ERR") == true)
        #expect(replies[204] == .bulkString(Array("launch-worker".utf8)))
        // The connection went back to the client, and the next call uses it.
        #expect(try client.send([RedisCommand("CLIENT", "ID")]) == [replies[1]])
        _ = try client.send([RedisCommand("DEL", key)])
    }

    @Test func aNewConnectionSelectsTheDatabaseAndScriptsComeBackAfterAFlush() throws {
        var inDatabase = address
        inDatabase.database = 11
        let client = SyncRedisClient(address: inDatabase)
        let key = "launch-worker-test-\(UUID().uuidString)"
        let script = RedisScript("return redis.call('SET', KEYS[1], ARGV[1])")
        _ = try client.send([RedisCommand("SCRIPT", "FLUSH")])
        let replies = try client.evaluate([
            script.call(keys: [key], arguments: [Array("stored".utf8)]),
            RedisScripts.unlock.call(keys: [key], arguments: [Array("not the token".utf8)]),
        ])
        #expect(replies == [.simpleString("OK"), .integer(0)])
        #expect(try SyncRedisClient(address: address).send([RedisCommand("EXISTS", key)]) == [.integer(0)])
        #expect(try client.send([RedisCommand("GETDEL", key)]) == [.bulkString(Array("stored".utf8))])
    }

    @Test func reconnectsAfterTheServerDropsTheConnection() throws {
        let client = SyncRedisClient(address: address)
        let id = try #require(try client.send([RedisCommand("CLIENT", "ID")])[0].integer)
        _ = try SyncRedisClient(address: address).send([RedisCommand("CLIENT", "KILL", "ID", String(id))])

        // The call on the dropped connection fails as a lost connection; the next one reconnects.
        #expect(throws: RedisClientError.self) { try client.send([RedisCommand("PING")]) }
        do {
            _ = try client.send([RedisCommand("PING")])
        } catch {
            #expect(error.isConnectionError)
        }
        let again = try client.send([RedisCommand("CLIENT", "ID")])[0].integer
        #expect(again != nil && again != id)
    }

    @Test func aServerThatNeverAnswersTimesOut() throws {
        let silent = try SilentListener()
        let client = SyncRedisClient(
            address: RedisAddress(host: "127.0.0.1", port: silent.port), replyTimeout: .milliseconds(200))
        #expect(throws: RedisClientError.connection("no reply from Redis within 0.2 seconds")) {
            try client.send([RedisCommand("PING")])
        }
    }

    @Test func aPortWithNoServerAndAWrongPasswordSayWhy() throws {
        let port = try SilentListener().port  // closed again: nothing listens there now
        let nobody = SyncRedisClient(address: RedisAddress(host: "127.0.0.1", port: port))
        #expect(throws: RedisClientError.connection("cannot connect to 127.0.0.1:\(port): Connection refused")) {
            try nobody.send([RedisCommand("PING")])
        }

        var wrong = address
        wrong.password = "not the password"
        let refused = #expect(throws: RedisClientError.self) {
            try SyncRedisClient(address: wrong).send([RedisCommand("PING")])
        }
        #expect(refused?.description.contains("Redis refused the password") == true)
    }
}

/// A loopback port that accepts connections (the kernel does, from its backlog) and never
/// answers; closed when the listener goes.
private final class SilentListener {
    let socket: Int32
    let port: Int

    init() throws {
        let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                bind(fd, address, length) == 0 && listen(fd, 8) == 0 && getsockname(fd, address, &length) == 0
            }
        }
        socket = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        try #require(bound)
    }

    deinit { close(socket) }
}
