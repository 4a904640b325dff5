import Foundation
import Logging
import TestSupport
import Testing
import WorkerCore

@testable import SpoolQueue

#if canImport(Glibc)
    import Glibc
#endif

/// Writes a request body to `incoming/<name>`, the name given as raw bytes (any but `/` and NUL).
private func drop(_ name: [UInt8], in layout: SpoolLayout) throws {
    let descriptor = MisnamedFiles.withPath(layout.incoming.path, name) { open($0, O_WRONLY | O_CREAT | O_EXCL, 0o644) }
    guard descriptor >= 0 else { throw FixtureError("cannot create \(name) in incoming/") }
    defer { close(descriptor) }
    _ = request.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
}

private func drop(_ name: String, in layout: SpoolLayout) throws {
    try drop(Array(name.utf8), in: layout)
}

/// The FAILURE responses in `responses/`, by task id.
private func failures(_ layout: SpoolLayout) throws -> [String: SpoolResponse] {
    var found: [String: SpoolResponse] = [:]
    for name in names(layout.responses) {
        let response = try JSONDecoder().decode(
            SpoolResponse.self, from: Data(contentsOf: layout.responses.appending(path: name)))
        found[response.taskID] = response
    }
    return found
}

@Suite("Files in incoming/ whose names are not tasks'")
struct MisnamedFileTests {
    private static let misnamed: [[UInt8]] = [
        Array("a b.json".utf8), Array("$(id).json".utf8), Array("tâche.json".utf8),
        Array((String(repeating: "x", count: 240) + ".json").utf8), Array("task1".utf8),
        [0x66, 0xFF, 0xFE] + Array(".json".utf8),
    ]

    @Test("each is answered FAILURE naming the problem and moved to dead/; the valid task runs")
    func deadLettered() async throws {
        let layout = SpoolLayout(root: try Checkout.temporaryFolder("misnamed"))
        let queue = try openSpool(layout)
        for name in Self.misnamed { try drop(name, in: layout) }
        try drop("good.json", in: layout)
        var claimed: [String] = []
        while let task = try await queue.next() { claimed.append(task.id) }
        #expect(claimed == ["good"])
        #expect(names(layout.incoming).isEmpty)
        #expect(await queue.isEmpty())

        let responses = try failures(layout)
        #expect(responses.count == Self.misnamed.count)
        #expect(Set(names(layout.dead)) == Set(responses.keys.map { "\($0).json" }))
        for (id, response) in responses {
            #expect(id.hasPrefix("misnamed-"))
            #expect(SpoolLayout.isValidTaskID(id))
            #expect(response.status == .failure)
            #expect(response.traceback?.contains("is not a task") == true)
            #expect(response.traceback?.contains("moved to dead/\(id).json") == true)
        }
        let tracebacks = responses.values.compactMap(\.traceback).joined(separator: "\n")
        #expect(tracebacks.contains(#"incoming/"a b.json" is not a task: its name holds characters other than"#))
        #expect(tracebacks.contains(#"incoming/"$(id).json""#))
        #expect(tracebacks.contains(#"("â")"#))
        #expect(tracebacks.contains("its task id is 240 bytes long, over 200"))
        #expect(tracebacks.contains(#"incoming/"task1" is not a task: its name does not end in .json"#))
        #expect(responses.keys.contains { $0.hasPrefix("misnamed-a_b-") })
    }

    @Test("a misnamed file is answered under the same id at every look, so a crash mid-way answers it once")
    func sameIDEveryLook() throws {
        var info = stat()
        let layout = SpoolLayout(root: try Checkout.temporaryFolder("misnamed-id"))
        try layout.create()
        try drop("a b.json", in: layout)
        #expect(stat(layout.incoming.appending(path: "a b.json").path, &info) == 0)
        let id = MisnamedFiles.taskID(for: Array("a b.json".utf8), inode: UInt64(info.st_ino))
        #expect(id == "misnamed-a_b-\(String(UInt64(info.st_ino), radix: 36))")
        // A worker that dies between answering it and moving it leaves it in incoming/: the next
        // look answers it again, under the same id.
        let quiet = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        let first = MisnamedFiles(layout: layout, sync: true, logger: quiet)
        let second = MisnamedFiles(layout: layout, sync: true, logger: quiet)
        first.deadLetter(Array("a b.json".utf8), problem: "its name holds a space")
        try FileManager.default.moveItem(
            at: layout.taskFile(id, in: layout.dead), to: layout.incoming.appending(path: "a b.json"))
        second.deadLetter(Array("a b.json".utf8), problem: "its name holds a space")
        #expect(names(layout.responses) == ["\(id).json"])
        #expect(names(layout.dead) == ["\(id).json"])
        #expect(names(layout.incoming).isEmpty)
    }

    @Test("a hidden file is a producer writing in place: left alone, and the spool is not empty, until abandoned")
    func hiddenFiles() async throws {
        let layout = SpoolLayout(root: try Checkout.temporaryFolder("hidden"))
        let queue = try openSpool(layout)
        try drop(".partial.json", in: layout)
        #expect(try await queue.next() == nil)
        #expect(names(layout.incoming) == [".partial.json"])
        #expect(names(layout.dead).isEmpty)
        #expect(await !queue.isEmpty())

        // Nobody changed it for longer than the lease (30 s): its producer died mid-write.
        let old = Date(timeIntervalSinceNow: -3600)
        try FileManager.default.setAttributes(
            [.modificationDate: old], ofItemAtPath: layout.incoming.appending(path: ".partial.json").path)
        #expect(try await queue.next() == nil)
        #expect(names(layout.incoming).isEmpty)
        #expect(await queue.isEmpty())
        let response = try #require(try failures(layout).values.first)
        #expect(response.traceback?.contains("a producer that never finished writing it") == true)
        #expect(names(layout.dead) == ["\(response.taskID).json"])
    }
}
