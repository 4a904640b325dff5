import Foundation
import TestSupport
import Testing
import WorkerCore

@Suite("Durable files and the results folder")
struct DurableFileTests {
    @Test("a write replaces the file whole and leaves no temporary file")
    func writes() throws {
        let folder = try Checkout.temporaryFolder("durable")
        let file = folder.appending(path: "out.json")
        try DurableFile.write(Array("first".utf8), to: file)
        try DurableFile.write(Array("second".utf8), to: file)
        #expect(try String(contentsOf: file, encoding: .utf8) == "second")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["out.json"])
    }

    @Test("the results store writes <task id>.pkl and returns its file URL")
    func storesResults() throws {
        let folder = try Checkout.temporaryFolder("results").appending(path: "nested")
        let url = try DirectoryResultStore(folder: folder).store([1, 2, 3], taskID: "t1")
        #expect(url == folder.appending(path: "t1.pkl"))
        #expect(try Data(contentsOf: url) == Data([1, 2, 3]))
    }

    @Test("a results folder that cannot be made is an error naming it, and nothing is written")
    func unwritableFolder() throws {
        // A file where the folder should be fails even for root, whom permissions do not stop.
        let parent = try Checkout.temporaryFolder("blocked")
        let blocker = parent.appending(path: "results")
        try Data("not a folder".utf8).write(to: blocker)
        let error = #expect(throws: DurableWriteError.self) {
            try DirectoryResultStore(folder: blocker.appending(path: "inner")).store([1], taskID: "t")
        }
        #expect(error?.path.contains("results/inner") == true)
        #expect(try FileManager.default.contentsOfDirectory(atPath: parent.path) == ["results"])
    }

    @Test("a write into a missing folder fails and names the file")
    func missingFolder() throws {
        let folder = try Checkout.temporaryFolder("missing").appending(path: "gone")
        let error = #expect(throws: DurableWriteError.self) {
            try DurableFile.write([1], to: folder.appending(path: "x.json"))
        }
        #expect(error?.description.contains("No such file or directory") == true)
    }

    @Test("a rename that fails removes the temporary file and closes it once: the last failed call is the rename")
    func failedRename() throws {
        let staging = try Checkout.temporaryFolder("staging")
        let missing = try Checkout.temporaryFolder("rename").appending(path: "gone/x.json")
        var reason: Int32 = 0
        do {
            try DurableFile.write([1], toPath: missing.path, via: staging.path, sync: false)
            Issue.record("the write into a missing folder succeeded")
        } catch {
            // The rename's ENOENT, not the EBADF of closing the file a second time (which, with
            // another thread opening files, closes one of theirs).
            reason = errno
            #expect(error.reason == "cannot rename it into place: No such file or directory")
        }
        #expect(reason == ENOENT)
        #expect(try FileManager.default.contentsOfDirectory(atPath: staging.path) == [])
    }
}
