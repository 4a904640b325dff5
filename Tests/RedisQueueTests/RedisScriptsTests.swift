import Foundation
import Testing

@testable import RedisQueue

/// The consume script against the real server: whether it reads a message's end or decodes it
/// whole, it records what kombu would.
@Suite(.enabled(if: testRedisAddress != nil, "set LAUNCH_WORKER_TEST_REDIS (scripts/test does)"))
struct RedisScriptsTests {
    /// A message that ends as kombu writes it, with `headers`, `routing key` and `priority`.
    static func kombu(tag: String, key: String, priority: Int = 0, headers: String = #"{"id": "t"}"#) -> String {
        #"{"body": "e30=", "content-encoding": "utf-8", "content-type": "application/json", "headers": \#(headers), "#
            + #""properties": {"correlation_id": "t", "reply_to": "r", "delivery_mode": 2, "#
            + #""delivery_info": {"exchange": "", "routing_key": "\#(key)"}, "priority": \#(priority), "#
            + #""body_encoding": "base64", "delivery_tag": "\#(tag)"}}"#
    }

    /// Messages, and the tag, exchange and routing key that decoding each whole gives.
    static let cases: [(message: String, tag: String, exchange: String, key: String)] = [
        (kombu(tag: "kombu", key: "launch-endpoint-id-1"), "kombu", "", "launch-endpoint-id-1"),
        (kombu(tag: "slash", key: "a/b", priority: 9), "slash", "", "a/b"),
        (kombu(tag: "unicode", key: "file-é"), "unicode", "", "file-é"),
        (kombu(tag: "escaped", key: #"q\"1"#), "escaped", "", #"q"1"#),
        // The same properties in another order, or not last.
        (
            #"{"properties": {"delivery_tag": "first", "body_encoding": "base64", "priority": 0, "#
                + #""delivery_info": {"exchange": "x", "routing_key": "k"}}, "body": "e30="}"#, "first", "x", "k"
        ),
        // A header that looks like kombu's end, after the real properties.
        (
            #"{"properties": {"delivery_info": {"exchange": "", "routing_key": "real"}, "priority": 0, "#
                + #""body_encoding": "base64", "delivery_tag": "real"}, "zzz": {"delivery_info": {"exchange": "", "#
                + #""routing_key": "fake"}, "priority": 0, "body_encoding": "base64", "delivery_tag": "fake"}}"#,
            "real", "", "real"
        ),
        (
            #"{"properties": {"correlation_id": "t", "delivery_tag": "real"}, "zzz": {"delivery_info": "#
                + #"{"exchange": "", "routing_key": "fake"}, "priority": 0, "body_encoding": "base64", "#
                + #""delivery_tag": "fake"}}"#, "real", "", ""
        ),
        // An object named properties inside the headers, before the real one.
        (kombu(tag: "nested", key: "k", headers: #"{"properties": {"a": 1}}"#), "nested", "", "k"),
    ]

    @Test(arguments: cases.indices)
    func consumeRecordsWhatDecodingTheWholeMessageGives(index: Int) async throws {
        let (message, tag, exchange, key) = Self.cases[index]
        var address = try #require(testRedisAddress)
        address.database = 10
        let client = RedisClient(endpoint: try RedisEndpoint(address), connectTimeout: .seconds(30))
        let prefix = "test-\(UUID().uuidString)"
        let (unackedIndex, unacked, queue) = ("\(prefix)-index", "\(prefix)-unacked", "\(prefix)-queue")
        let claims = "\(prefix)-claims"
        try await client.run(RedisCommand("LPUSH", queue, message))

        let reply = try await client.evaluate(
            RedisScripts.consume.call(
                keys: [unackedIndex, unacked, claims, queue],
                arguments: [Array("1700000000".utf8), Array("1".utf8), Array("60000".utf8)]))
        #expect(reply == .array([.bulkString(Array(message.utf8)), .bulkString(Array(tag.utf8))]))
        #expect(try await client.run(RedisCommand("ZSCORE", unackedIndex, tag)).string == "1700000000")
        #expect(try await client.run(RedisCommand("HGET", claims, tag)).string == "1700000000")
        let lifetime = try #require(try await client.run(RedisCommand("PTTL", claims)).integer)
        #expect(lifetime > 0 && lifetime <= 60000)
        let entry = try #require(try await client.run(RedisCommand("HGET", unacked, tag)).bytes)
        let parts = try #require(try JSONSerialization.jsonObject(with: Data(entry)) as? [Any])
        #expect(parts.count == 3)
        let recorded = try #require(parts.first as? NSDictionary)
        #expect(recorded == (try JSONSerialization.jsonObject(with: Data(message.utf8)) as? NSDictionary))
        #expect(parts.dropFirst().map { $0 as? String } == [exchange, key])
        // kombu's own ends are read, not decoded: the routing key stays as written (cjson would
        // write a/b as a\/b).
        if message.hasSuffix(#""delivery_tag": "\#(tag)"}}"#), !message.contains("zzz"), !key.contains("\"") {
            #expect(String(decoding: entry, as: UTF8.self) == "[\(message), \"\(exchange)\", \"\(key)\"]")
        }
        try await client.run(RedisCommand("DEL", unackedIndex, unacked, claims))
        client.close()
    }

    @Test func aMessageThatIsNotJSONIsTakenWithoutATag() async throws {
        var address = try #require(testRedisAddress)
        address.database = 10
        let client = RedisClient(endpoint: try RedisEndpoint(address), connectTimeout: .seconds(30))
        let prefix = "test-\(UUID().uuidString)"
        try await client.run(RedisCommand("LPUSH", "\(prefix)-queue", #"not json "delivery_tag": "x"}}"#))
        let reply = try await client.evaluate(
            RedisScripts.consume.call(
                keys: ["\(prefix)-index", "\(prefix)-unacked", "\(prefix)-claims", "\(prefix)-queue"],
                arguments: [Array("1".utf8), Array("5".utf8), Array("60000".utf8)]))
        #expect(reply.elements?.count == 2)
        #expect(reply.elements?.last == .null)
        #expect(
            try await client.run(RedisCommand("EXISTS", "\(prefix)-index", "\(prefix)-unacked", "\(prefix)-claims"))
                == .integer(0))
        client.close()
    }
}
