import Foundation
import TestSupport
import Testing
import WorkerCore

@Suite("Readiness: every condition that keeps the worker from serving")
struct ReadinessTests {
    private func readyFile() throws -> URL {
        try Checkout.temporaryFolder("readiness").appending(path: "ready")
    }

    private func exists(_ file: URL) -> Bool { FileManager.default.fileExists(atPath: file.path) }

    @Test("ready once every part started; the ready file exists only while ready")
    func startup() throws {
        let file = try readyFile()
        let readiness = Readiness(readyFile: file, parts: 2)
        readiness.partStarted()
        #expect(readiness.current == .starting)
        #expect(!exists(file))
        readiness.partStarted(detail: "listen 127.0.0.1:1")
        #expect(readiness.current == .ready)
        #expect(try String(contentsOf: file, encoding: .utf8).hasSuffix("listen 127.0.0.1:1\n"))
    }

    @Test("an unusable queue holds the worker not ready until lifted")
    func queueUnavailable() throws {
        let file = try readyFile()
        let readiness = Readiness(readyFile: file)
        readiness.partStarted()
        readiness.hold(.queueUnavailable)
        #expect(readiness.current == .unavailable)
        #expect(!exists(file))
        readiness.lift(.queueUnavailable)
        #expect(readiness.current == .ready)
        #expect(exists(file))
    }

    @Test("a stuck task clearing does not hide an unusable queue, nor the other way round")
    func holdsCompose() throws {
        let file = try readyFile()
        let readiness = Readiness(readyFile: file)
        readiness.partStarted()
        readiness.hold(.queueUnavailable)
        readiness.hold(.stuck)
        #expect(readiness.current == .stuck)
        readiness.lift(.stuck)
        #expect(readiness.current == .unavailable)
        #expect(!exists(file))
        readiness.hold(.stuck)
        readiness.lift(.queueUnavailable)
        #expect(readiness.current == .stuck)
        readiness.lift(.stuck)
        #expect(readiness.current == .ready)
        #expect(exists(file))
    }

    @Test("draining is final: lifting a hold never makes a draining worker ready")
    func drainIsFinal() throws {
        let file = try readyFile()
        let readiness = Readiness(readyFile: file)
        readiness.partStarted()
        readiness.hold(.queueUnavailable)
        readiness.drain()
        readiness.lift(.queueUnavailable)
        #expect(readiness.current == .draining)
        #expect(!exists(file))
    }
}
