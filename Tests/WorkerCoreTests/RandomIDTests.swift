import Foundation
import Testing
import WorkerCore

/// Task ids: version 4 UUIDs in the usual lowercase text.
@Suite("random ids")
struct RandomIDTests {
    @Test("a version 4 UUID, lowercase, as Foundation reads and writes it; no two alike")
    func uuids() throws {
        let ids = (0..<2_000).map { _ in RandomID.uuid() }
        for id in ids {
            let uuid = try #require(UUID(uuidString: id), "\(id)")
            #expect(uuid.uuidString.lowercased() == id)
            let characters = Array(id)
            #expect(characters.count == 36)
            #expect([8, 13, 18, 23].allSatisfy { characters[$0] == "-" }, "\(id)")
            #expect(characters[14] == "4", "version 4: \(id)")
            #expect("89ab".contains(characters[19]), "RFC 4122 variant: \(id)")
        }
        #expect(Set(ids).count == ids.count)
        // Every hex digit turns up in every random position.
        for position in (0..<36).filter({ ![8, 13, 14, 18, 19, 23].contains($0) }) {
            #expect(Set(ids.map { Array($0)[position] }) == Set("0123456789abcdef"), "position \(position)")
        }
    }
}
