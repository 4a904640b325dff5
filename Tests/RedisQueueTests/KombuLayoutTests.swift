import Foundation
import Testing

@testable import RedisQueue

@Suite struct KombuLayoutTests {
    @Test func priorityListsFollowKombusSteps() {
        #expect(KombuLayout.lists(of: "q") == ["q", "q\u{06}\u{16}3", "q\u{06}\u{16}6", "q\u{06}\u{16}9"])
        #expect(KombuLayout.list(queue: "q", priority: 2) == "q")
        #expect(KombuLayout.list(queue: "q", priority: 5) == "q\u{06}\u{16}3")
        #expect(KombuLayout.list(queue: "q", priority: 42) == "q\u{06}\u{16}9")
        #expect(KombuLayout.list(queue: "q", priority: -1) == "q")
    }

    @Test func directBindingsRouteByKey() {
        let members = ["q\u{06}\u{16}\u{06}\u{16}q", "other\u{06}\u{16}\u{06}\u{16}o", "broken"]
        #expect(KombuLayout.queues(bindings: members, routingKey: "q") == ["q"])
        #expect(KombuLayout.queues(bindings: members, routingKey: "none") == [])
    }

    @Test func unackedEntriesRoundTripIntoARedeliveredRestoration() throws {
        let envelope = Array(
            #"{"body": "e30=", "headers": {"id": "t"}, "properties": {"priority": 6, "delivery_info": {"exchange": "q", "routing_key": "q"}}}"#
                .utf8)
        let entry = KombuLayout.unackedEntry(envelope: envelope, exchange: "q", routingKey: "q")
        let restoration = try #require(KombuLayout.restoration(ofEntry: entry))
        #expect(restoration.exchange == "q")
        #expect(restoration.routingKey == "q")
        #expect(restoration.priority == 6)
        let payload = try #require(try JSONSerialization.jsonObject(with: Data(restoration.payload)) as? [String: Any])
        #expect((payload["headers"] as? [String: Any])?["redelivered"] as? Bool == true)
        let info = (payload["properties"] as? [String: Any])?["delivery_info"] as? [String: Any]
        #expect(info?["redelivered"] as? Bool == true)
        #expect(payload["body"] as? String == "e30=")
        #expect(KombuLayout.restoration(ofEntry: Array("[1]".utf8)) == nil)
    }

    @Test func parsesRedisURLs() throws {
        let full = try RedisAddress(url: "redis://user:p%40ss@example.com:6380/3?queue=launch-endpoint-id-1")
        #expect(
            full
                == RedisAddress(
                    host: "example.com", port: 6380, database: 3, username: "user", password: "p@ss",
                    queue: "launch-endpoint-id-1"))
        #expect(!full.description.contains("p@ss"))
        let bare = try RedisAddress(url: "redis://127.0.0.1")
        #expect(bare == RedisAddress(host: "127.0.0.1"))
        #expect(try RedisAddress(url: "redis://:secret@[::1]:1/0").password == "secret")
        #expect(try RedisAddress(url: "redis://[::1]:1/0").host == "::1")
        for bad in [
            "http://h/0", "redis:///0", "redis://h/x", "redis://h/0?queue=", "redis://h/0?db=1",
        ] {
            #expect(throws: RedisAddressError.self, "\(bad)") { try RedisAddress(url: bad) }
        }
    }
}
