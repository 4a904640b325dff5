import Foundation
import TestSupport
import Testing

/// A folder holding a fake `nvidia-smi` that lists `count` GPUs, and the environment with it
/// first on `PATH`.
///
/// A shell writes the script, so that no descriptor of this process, which the processes other
/// tests start at the same moment could inherit, ever has it open for writing (running it would
/// then fail with ETXTBSY).
func fakeNvidiaSMI(listing count: Int) async throws -> [String: String] {
    let folder = try Checkout.temporaryFolder("nvidia-smi")
    let tool = folder.appending(path: "nvidia-smi")
    let lines = (0..<count).map { "echo 'GPU \($0): NVIDIA Fake 80GB (UUID: GPU-\($0)0000000)'" }
    let script = "#!/bin/sh\n" + lines.joined(separator: "\n") + "\n"
    let made = try await runProcess(
        URL(filePath: "/bin/sh"), ["-c", "printf '%s' \"$0\" > \"$1\" && chmod 755 \"$1\"", script, tool.path])
    guard made.status == 0 else { throw FixtureError("cannot write \(tool.path): \(made.stderr)") }
    var environment = ProcessInfo.processInfo.environment
    environment["PATH"] = folder.path + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
    return environment
}

@Suite("launch-worker serve --processes with --gpus")
struct PoolGPUTests {
    /// Which CUDA_VISIBLE_DEVICES each worker process of a running pool sees, by pid.
    private func devicesSeen(_ worker: HTTPWorker, processes: Int) async throws -> [Int: String] {
        var seen: [Int: String] = [:]
        try await eventually("every worker process answered") {
            for response in try await concurrently(
                8,
                { _ in
                    try await worker.send("POST", "/predict", body: #"{"args": {"x": 1}}"#)
                })
            {
                let result = ProcessPoolTests.result(response)
                if let pid = result["pid"] as? Int { seen[pid] = result["cuda_visible_devices"] as? String }
            }
            return seen.count == processes
        }
        return seen
    }

    @Test("--gpus 1 --devices 3,5: each worker process sees its own device in CUDA_VISIBLE_DEVICES")
    func devicesGiven() async throws {
        let worker = try await HTTPWorker.start(
            "whoami", "127.0.0.1:0", ["--processes", "2", "--gpus", "1", "--devices", "3,5"])
        let seen = try await devicesSeen(worker, processes: 2)
        let pool = PoolProcess(process: worker.process)
        #expect(seen[Int(try #require(pool.current[0]))] == "3")
        #expect(seen[Int(try #require(pool.current[1]))] == "5")
        #expect(await worker.stop() == 0)
    }

    @Test("--gpus 2 without --devices hands out what nvidia-smi -L lists, two per process")
    func devicesListed() async throws {
        let folder = try Checkout.temporaryFolder("pool-gpus")
        let readyFile = folder.appending(path: "ready")
        let process = try LaunchedProcess(
            Checkout.executable,
            [
                "serve", try await FixtureBundles.path("whoami"), "--listen", "127.0.0.1:0", "--ready-file",
                readyFile.path, "--processes", "2", "--gpus", "2",
            ], environment: try await fakeNvidiaSMI(listing: 4))
        try await eventually("the pool is ready (\(process.stderr()))") {
            FileManager.default.fileExists(atPath: readyFile.path)
        }
        let listen = try String(contentsOf: readyFile, encoding: .utf8).split(separator: "\n")[1]
        let worker = HTTPWorker(
            process: process, address: .tcp(port: try #require(Int(listen.split(separator: ":").last ?? ""))),
            readyFile: readyFile)
        let seen = try await devicesSeen(worker, processes: 2)
        #expect(Set(seen.values) == ["0,1", "2,3"])
        #expect(await worker.stop() == 0)
    }

    @Test("--gpus 1 --devices 7 without a pool: the one process sees device 7")
    func single() async throws {
        let worker = try await HTTPWorker.start("whoami", "127.0.0.1:0", ["--gpus", "1", "--devices", "7"])
        let result = ProcessPoolTests.result(try await worker.send("POST", "/predict", body: #"{"args": {"x": 1}}"#))
        #expect(result["cuda_visible_devices"] as? String == "7")
        #expect(result["pid"] as? Int == Int(worker.process.pid))
        #expect(await worker.stop() == 0)
    }

    @Test("more processes than devices is an error that says so, exit 2, nothing started")
    func tooFewDevices() async throws {
        let outcome = try await launchWorker([
            "serve", try await FixtureBundles.path("whoami"), "--listen", "127.0.0.1:0", "--processes", "3", "--gpus",
            "1", "--devices", "0,1",
        ])
        #expect(outcome.status == 2)
        #expect(outcome.stderr.contains("--processes 3 with --gpus 1 needs 3 devices, but only 2 are available (0,1)"))
        #expect(!outcome.stderr.contains("started worker process"))
    }

    @Test("doctor says which GPUs nvidia-smi lists, and that it finds none without it")
    func doctor() async throws {
        let listed = try await launchWorker(["doctor"], environment: try await fakeNvidiaSMI(listing: 2))
        #expect(listed.stdout.contains("GPUs: 0, 1 (nvidia-smi -L"), "\(listed.stdout)")
        var bare = ProcessInfo.processInfo.environment
        bare["PATH"] = "/usr/bin:/bin"
        let none = try await launchWorker(["doctor"], environment: bare)
        #expect(none.stdout.contains("GPUs: none (nvidia-smi is not on PATH)"), "\(none.stdout)")
    }
}
