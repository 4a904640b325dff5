import CLinux
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The GPUs a pool hands out, one set per worker process through `CUDA_VISIBLE_DEVICES`: the
/// `--devices` given, else those `nvidia-smi -L` lists.
enum GPUDevices {
    /// The devices `nvidia-smi -L` lists (their indices), or why there are none.
    static func listed() -> Result<[String], CLIError> {
        guard let tool = executable(named: "nvidia-smi") else {
            return .failure(CLIError(message: "nvidia-smi is not on PATH"))
        }
        let output: String
        switch run(tool, "-L") {
        case .success(let text): output = text
        case .failure(let error): return .failure(error)
        }
        // "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-...)"
        return .success(
            output.split(separator: "\n").compactMap { line in
                guard line.hasPrefix("GPU "), let colon = line.firstIndex(of: ":") else { return nil }
                return String(line[line.index(line.startIndex, offsetBy: 4)..<colon])
            })
    }

    /// Runs `tool` with `argument` and returns its stdout once it exited 0.
    private static func run(_ tool: String, _ argument: String) -> Result<String, CLIError> {
        var ends: [Int32] = [0, 0]
        guard pipe2(&ends, O_CLOEXEC) == 0 else {
            return .failure(CLIError(message: "cannot make a pipe for \(tool): \(String(cString: strerror(errno)))"))
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, ends[1], STDOUT_FILENO)
        posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0)
        let argv = [strdup(tool), strdup(argument), nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let started = posix_spawn(&pid, tool, &actions, nil, argv, environ)
        close(ends[1])
        defer { close(ends[0]) }
        guard started == 0 else {
            return .failure(CLIError(message: "cannot run \(tool) \(argument): \(String(cString: strerror(started)))"))
        }
        var output = Data()
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(ends[0], &chunk, chunk.count)
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            output.append(contentsOf: chunk[0..<count])
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        guard status == 0 else {
            return .failure(CLIError(message: "\(tool) \(argument) failed (wait status \(status))"))
        }
        return .success(String(decoding: output, as: UTF8.self))
    }

    /// `CUDA_VISIBLE_DEVICES` for each of `processes` worker processes with `perProcess` GPUs
    /// each, from `devices` (nil: those `nvidia-smi -L` lists).
    ///
    /// - Throws: ``CLIError`` when there are fewer devices than the processes need.
    static func assign(processes: Int, perProcess: Int, devices: [String]?) throws(CLIError) -> [String] {
        let available: [String]
        if let devices {
            available = devices
        } else {
            switch listed() {
            case .success(let listed): available = listed
            case .failure(let error):
                throw CLIError(
                    message: "--gpus \(perProcess): no GPUs found (\(error.message)); name them with --devices")
            }
        }
        let needed = processes * perProcess
        guard needed <= available.count else {
            throw CLIError(
                message: """
                    --processes \(processes) with --gpus \(perProcess) needs \(needed) devices, but only \
                    \(available.count) are available (\(available.joined(separator: ","))): lower --processes or --gpus, \
                    or name more with --devices
                    """)
        }
        return (0..<processes).map { index in
            available[(index * perProcess)..<((index + 1) * perProcess)].joined(separator: ",")
        }
    }

    /// The executable `name` in a folder of `$PATH`.
    private static func executable(named name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { access($0, X_OK) == 0 }
    }
}
